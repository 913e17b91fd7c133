// Bandwidth as nccl-tests reports it, so fabtwin numbers can be read next to theirs.
#pragma once

#include <cstdint>

#include "fabtwin/coll/plan.hpp"
#include "fabtwin/units.hpp"

namespace fabtwin::coll {

// busbw = algbw x this: 2(n-1)/n all-reduce; (n-1)/n reduce-scatter, all-gather, all-to-all; 1 otherwise.
double bus_factor(Collective c, std::int32_t ranks);

struct Bandwidth {
  double algbw_gbps = 0.0;  // GB/s, 10^9 bytes per second
  double busbw_gbps = 0.0;
};

Bandwidth bandwidth(Collective c, std::int32_t ranks, Bytes size, Seconds time);

}  // namespace fabtwin::coll
