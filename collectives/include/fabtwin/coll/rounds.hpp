// A plan's compact form for scales where the plan itself is too large to build (a ring all-reduce over
// n ranks has about 5n^2 steps). Algorithms whose ranks move in lock-step rounds describe one round of
// each phase (the concurrent flows, the local work after them) and how often it repeats; a backend
// evaluates that without knowing which algorithm produced it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fabtwin/coll/algorithms.hpp"

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
};

struct RoundPlan {
  Collective collective = Collective::all_reduce;
  std::string algorithm;
  std::int32_t ranks = 0;
  std::uint64_t size_bytes = 0;  // as make_plan rounds it
  std::uint64_t count = 0;
  DataType dtype = DataType::float32;
  ReduceOp op = ReduceOp::sum;
  std::vector<RoundPhase> phases;
};

// Whether (c, algorithm) has a round form.
bool has_round_form(Collective c, const std::string& algorithm);

// The round form of make_plan(c, algorithm, group, size_bytes, options). Throws std::invalid_argument
// for an unknown algorithm or one without a round form (naming those that have one).
RoundPlan make_round_plan(Collective c, const std::string& algorithm, const Group& group,
                          std::uint64_t size_bytes, const AlgoOptions& options);

// About how many steps make_plan would build, without building it (make_plan refuses above 1e8).
double estimate_plan_steps(Collective c, const std::string& algorithm, std::int32_t ranks,
                           std::uint64_t size_bytes, const AlgoOptions& options);

}  // namespace fabtwin::coll
