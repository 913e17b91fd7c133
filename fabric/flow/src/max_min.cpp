#include "max_min.hpp"

#include <algorithm>
#include <limits>

namespace fabtwin::flow {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Progressive filling: raise every unfrozen flow's rate together until a lane (or a flow's own cap)
// is full, freeze the flows it holds at that rate, and go on with the rest.
void fill(const std::vector<FluidFlow>& flows, const std::vector<std::uint32_t>& active,
          const std::vector<std::vector<std::uint32_t>>& on_lane,
          const std::vector<std::uint32_t>& used_lanes, const std::vector<double>& lane_rate,
          std::vector<double>& rate) {
  std::vector<double> residual(lane_rate.size(), 0.0);
  std::vector<std::uint32_t> count(lane_rate.size(), 0);
  std::vector<bool> frozen(flows.size(), true);
  for (std::uint32_t f : active) frozen[f] = false;
  for (std::uint32_t l : used_lanes) residual[l] = lane_rate[l];
  for (std::uint32_t f : active) {
    for (std::uint32_t l : flows[f].lanes) ++count[l];
  }
  std::size_t left = active.size();
  auto freeze = [&](std::uint32_t f, double r) {
    frozen[f] = true;
    rate[f] = r;
    --left;
    for (std::uint32_t l : flows[f].lanes) {
      residual[l] = std::max(0.0, residual[l] - r);
      --count[l];
    }
  };
  while (left > 0) {
    double share = kInf;
    for (std::uint32_t l : used_lanes) {
      if (count[l] > 0) share = std::min(share, residual[l] / count[l]);
    }
    for (std::uint32_t f : active) {
      if (!frozen[f] && flows[f].cap > 0) share = std::min(share, flows[f].cap);
    }
    const double level = share * (1 + 1e-12);
    for (std::uint32_t l : used_lanes) {
      if (count[l] == 0 || residual[l] / count[l] > level) continue;
      for (std::uint32_t f : on_lane[l]) {
        if (!frozen[f]) freeze(f, share);
      }
    }
    for (std::uint32_t f : active) {
      if (!frozen[f] && flows[f].cap > 0 && flows[f].cap <= level) freeze(f, share);
    }
  }
}

}  // namespace

std::vector<double> max_min_finish_times(const std::vector<FluidFlow>& flows,
                                         const std::vector<double>& lane_rate) {
  std::vector<double> finish(flows.size(), 0.0), remaining(flows.size()), rate(flows.size(), 0.0);
  std::vector<std::vector<std::uint32_t>> on_lane(lane_rate.size());
  std::vector<std::uint32_t> active, used_lanes;
  for (std::uint32_t f = 0; f < flows.size(); ++f) {
    remaining[f] = flows[f].bytes;
    if (flows[f].bytes <= 0) continue;
    active.push_back(f);
    for (std::uint32_t l : flows[f].lanes) {
      if (on_lane[l].empty()) used_lanes.push_back(l);
      on_lane[l].push_back(f);
    }
  }
  double now = 0;
  while (!active.empty()) {
    fill(flows, active, on_lane, used_lanes, lane_rate, rate);
    double step = kInf;
    for (std::uint32_t f : active) step = std::min(step, rate[f] > 0 ? remaining[f] / rate[f] : kInf);
    if (step == kInf) {
      for (std::uint32_t f : active) finish[f] = kInf;  // no capacity left: never ends
      break;
    }
    now += step;
    std::vector<std::uint32_t> still;
    for (std::uint32_t f : active) {
      remaining[f] -= rate[f] * step;
      // Ends within rounding of the step: flows that share a bottleneck end together.
      if (remaining[f] <= flows[f].bytes * 1e-12 || remaining[f] / rate[f] <= step * 1e-12) {
        finish[f] = now;
      } else {
        still.push_back(f);
      }
    }
    active = std::move(still);
  }
  return finish;
}

}  // namespace fabtwin::flow
