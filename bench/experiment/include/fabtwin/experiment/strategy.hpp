// How an algorithm name becomes the algorithm that runs at one size. A registered strategy (such as
// "auto", the fastest by the analytic model) picks among the library's algorithms; a plain algorithm
// name runs as itself. Past what a plan can hold, an algorithm with a round form is predicted by it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fabtwin/analytic/analytic.hpp"
#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/coll/rounds.hpp"

namespace fabtwin::experiment {

// A plan over this many steps (a ring all-reduce over 2,048 ranks, about 2.5 GB) is too large to build
// here: the algorithm's round model answers where it has one, and the refusal says so where it has
// none. NCCL's algorithms switch to their round model earlier (coll::prefers_round_form).
inline constexpr double kRoundModelSteps = 5.0 * 2048 * 2048;

struct Candidate {
  coll::Collective collective;
  const coll::Group& group;
  std::uint64_t size;
  const coll::AlgoOptions& options;
  const topo::Router& router;
  const analytic::CostParams& costs;
};

// An algorithm evaluated at one size by the analytic model: a plan and its prediction, or the round
// model's estimate where the plan is too large.
struct Evaluation {
  std::string algorithm;
  Seconds time;
  std::optional<coll::Plan> plan;
  std::optional<analytic::Prediction> prediction;
  std::optional<coll::RoundPlan> round_plan;  // with `rounds`, what the round model evaluated
  std::optional<analytic::RoundEstimate> rounds;
  std::optional<double> nccl_model_us;  // NCCL's own estimate, where its tuner picked the plan
};

// Builds, validates and predicts one algorithm (round model past kRoundModelSteps where it has one).
Evaluation evaluate(const std::string& algorithm, const Candidate& c);

using Strategy = std::function<Evaluation(const Candidate&)>;

struct StrategyInfo {
  std::string name;
  std::string summary;
  Strategy choose;
};

// Registered strategies; registering a name twice replaces it.
void register_strategy(StrategyInfo info);
const StrategyInfo* find_strategy(const std::string& name);
const std::vector<StrategyInfo>& strategies();

// The algorithm or strategy `name` runs at one size: a registered strategy's pick; an NCCL algorithm
// without a protocol given, with the protocol NCCL's tuner would give it (as NCCL_ALGO alone does);
// otherwise the algorithm itself.
Evaluation choose(const std::string& name, const Candidate& c);

// NCCL_ALGO's spellings (Ring, Tree, NVLSTree, ...) as the library names them (nccl-ring, ...), and
// any other name lower-cased; the textbook "ring" and "tree" keep their meaning.
std::string canonical_algorithm(const std::string& name);

}  // namespace fabtwin::experiment
