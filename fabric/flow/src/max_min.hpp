// Max-min fair sharing of flows that start together, solved by progressive filling and re-solved at
// every flow's end: the round solver of the flow model at scales where SimGrid's activities are too
// slow (SimGrid 3.32 keeps every detached communication in one list that each completion scans, so a
// round of 131,072 flows takes minutes there; see flow_rounds.cpp).
#pragma once

#include <cstdint>
#include <vector>

namespace fabtwin::flow {

struct FluidFlow {
  std::vector<std::uint32_t> lanes;  // the link directions it crosses
  double bytes = 0;
  double cap = -1;  // its own rate bound in bytes per second, -1 for none
};

// When each flow ends (seconds from the common start), given each lane's rate in bytes per second.
std::vector<double> max_min_finish_times(const std::vector<FluidFlow>& flows,
                                         const std::vector<double>& lane_rate);

}  // namespace fabtwin::flow
