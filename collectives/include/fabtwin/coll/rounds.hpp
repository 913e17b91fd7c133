// A plan's compact form for scales where the plan itself is too large to build (a ring all-reduce over
// n ranks has about 5n^2 steps). Algorithms whose ranks move in lock-step rounds describe one round of
// each phase (the concurrent flows, the local work after them) and how often it repeats; a backend
// evaluates that without knowing which algorithm produced it. The algorithm library builds them
// (algorithms.hpp: make_round_plan).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fabtwin/coll/plan.hpp"

namespace fabtwin::coll {

struct Flow {
  std::int32_t from = 0;
  std::int32_t to = 0;
  std::uint64_t bytes = 0;
};

struct RoundPhase {
  std::vector<Flow> flows;         // concurrent within one round
  std::uint64_t reduce_bytes = 0;  // each rank's reduction after the round's flows
  std::uint64_t copy_bytes = 0;    // each rank's local copy after them
  std::uint64_t repeat = 1;
  // Rounds a connection may have in flight (NCCL's buffer slots): a round's latency overlaps with the
  // next ones' up to this depth. 1: lock-step, each round waits for the previous one to land.
  std::uint64_t window = 1;
};

struct RoundPlan {
  Collective collective = Collective::all_reduce;
  std::string algorithm;
  std::int32_t ranks = 0;
  std::uint64_t size_bytes = 0;  // as make_plan rounds it
  std::uint64_t count = 0;
  DataType dtype = DataType::float32;
  ReduceOp op = ReduceOp::sum;
  Protocol protocol;
  std::int32_t channels = 1;
  std::vector<InNetworkReducer> reducers;  // participants ranks.. as in a plan
  std::vector<RoundPhase> phases;

  // The plan's header fields (collective, algorithm, sizes, types), with no steps: what a results row
  // records of it.
  Plan summary() const {
    Plan p;
    p.collective = collective;
    p.algorithm = algorithm;
    p.size_bytes = size_bytes;
    p.count = count;
    p.dtype = dtype;
    p.op = op;
    p.root = -1;
    p.protocol = protocol;
    p.channels = channels;
    p.reducers = reducers;
    p.ranks.resize(static_cast<std::size_t>(ranks) + reducers.size());
    return p;
  }
};

}  // namespace fabtwin::coll
