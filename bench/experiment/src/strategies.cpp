#include <mutex>
#include <stdexcept>

#include "fabtwin/experiment/strategy.hpp"

namespace fabtwin::experiment {

Evaluation evaluate(const std::string& algorithm, const Candidate& c) {
  Evaluation e;
  e.algorithm = algorithm;
  const double steps = coll::estimate_plan_steps(c.collective, algorithm, c.group.ranks, c.size, c.options);
  if (steps > kRoundModelSteps) {
    // make_round_plan refuses an algorithm without a round form, naming those that have one.
    e.round_plan = coll::make_round_plan(c.collective, algorithm, c.group, c.size, c.options);
    e.rounds = analytic::predict_rounds(*e.round_plan, c.router, c.costs);
    e.time = e.rounds->time;
    return e;
  }
  e.plan = coll::make_plan(c.collective, algorithm, c.group, c.size, c.options);
  coll::validate(*e.plan);
  e.prediction = analytic::predict(*e.plan, c.router, c.costs);
  e.time = e.prediction->time;
  return e;
}

namespace {

// The fastest algorithm by the analytic model. Candidates that cannot serve the group (a rail-aware
// algorithm without hosts, say) are skipped; if none can, the reasons are the error.
Evaluation fastest(const Candidate& c) {
  std::optional<Evaluation> best;
  std::string reasons;
  for (const auto& algorithm : coll::algorithms_for(c.collective)) {
    try {
      Evaluation e = evaluate(algorithm, c);
      if (!best || e.time < best->time) best = std::move(e);
    } catch (const coll::InvalidPlan&) {
      throw;
    } catch (const std::invalid_argument& err) {
      reasons += "\n  " + algorithm + ": " + err.what();
    }
  }
  if (!best) throw std::invalid_argument("no algorithm can run this collective:" + reasons);
  return std::move(*best);
}

std::vector<StrategyInfo>& registry() {
  static std::vector<StrategyInfo> r = {
      {"auto", "the fastest algorithm per size by the analytic model", fastest}};
  return r;
}

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

void register_strategy(StrategyInfo info) {
  std::lock_guard lock(registry_mutex());
  for (auto& s : registry()) {
    if (s.name == info.name) {
      s = std::move(info);
      return;
    }
  }
  registry().push_back(std::move(info));
}

const StrategyInfo* find_strategy(const std::string& name) {
  std::lock_guard lock(registry_mutex());
  for (const auto& s : registry()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const std::vector<StrategyInfo>& strategies() {
  return registry();
}

}  // namespace fabtwin::experiment
