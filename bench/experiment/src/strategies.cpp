#include <cctype>
#include <mutex>
#include <stdexcept>

#include "fabtwin/experiment/nccl_tuner.hpp"
#include "fabtwin/experiment/strategy.hpp"

namespace fabtwin::experiment {

Evaluation evaluate(const std::string& algorithm, const Candidate& c) {
  Evaluation e;
  e.algorithm = algorithm;
  const double steps = coll::estimate_plan_steps(c.collective, algorithm, c.group.ranks, c.size, c.options);
  if (steps > kRoundModelSteps ||
      coll::prefers_round_form(c.collective, algorithm, c.group.ranks, c.size, c.options)) {
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

using coll::nccl::Algo;
using coll::nccl::Proto;

// NCCL's algorithms that the library builds as plans.
const char* plan_of(Algo a) {
  switch (a) {
    case Algo::ring:
      return "nccl-ring";
    case Algo::tree:
      return "nccl-tree";
    case Algo::nvls:
      return "nvls";
    case Algo::nvls_tree:
      return "nvls-tree";
    default:
      return nullptr;
  }
}

// NCCL's pick among `algos` (every protocol unless the options name one), built and predicted.
Evaluation nccl_tuned(const Candidate& c, const std::vector<Algo>& algos) {
  if (c.collective != coll::Collective::all_reduce) {
    throw std::invalid_argument(
        "NCCL's algorithms are modelled for all_reduce only; use a textbook algorithm "
        "for " +
        std::string(coll::to_string(c.collective)));
  }
  NcclSystem sys = nccl_system(c.router.topology(), c.group);
  // NCCL_MIN_NCHANNELS / NCCL_MAX_NCHANNELS bound the channels NCCL runs (connect.cc ncclTopoPostset).
  sys.comm_channels =
      coll::nccl::bounded_channels(sys.comm_channels, c.options.min_channels, c.options.max_channels);
  std::vector<Proto> protos = {Proto::ll, Proto::ll128, Proto::simple};
  if (!c.options.protocol.empty()) {
    const auto p = coll::nccl::proto_from_string(c.options.protocol);
    if (!p)
      throw std::invalid_argument("unknown protocol \"" + c.options.protocol +
                                  "\" (accepted: simple, ll, ll128, auto)");
    protos = {*p};
  }
  const NcclChoice pick = nccl_choose(sys, algos, protos, c.size);
  coll::AlgoOptions tuned = c.options;
  tuned.protocol = coll::nccl::to_string(pick.proto);
  if (tuned.channels == 0) tuned.channels = pick.channels;
  tuned.channel_rate =
      BitsPerSecond(nccl_channel_rate_gbps(sys, pick.algo, pick.proto, tuned.channels) * 8e9);
  Evaluation e =
      evaluate(plan_of(pick.algo), Candidate{c.collective, c.group, c.size, tuned, c.router, c.costs});
  e.nccl_model_us = pick.model_time_us;
  return e;
}

Evaluation nccl_default(const Candidate& c) {
  std::vector<Algo> built;
  for (Algo a :
       {Algo::tree, Algo::ring, Algo::collnet_direct, Algo::collnet_chain, Algo::nvls, Algo::nvls_tree}) {
    if (plan_of(a) != nullptr) built.push_back(a);
  }
  return nccl_tuned(c, built);
}

std::vector<StrategyInfo>& registry() {
  static std::vector<StrategyInfo> r = {
      {"auto", "the fastest algorithm per size by the analytic model", fastest},
      {"nccl",
       "what NCCL's tuner picks per size (algorithm, protocol, channels) by its own cost model; "
       "of its algorithms, Ring, Tree, NVLS and NVLSTree are built so far (not CollNet)",
       nccl_default}};
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

Evaluation choose(const std::string& name, const Candidate& c) {
  if (const StrategyInfo* s = find_strategy(name)) return s->choose(c);
  for (Algo a : {Algo::tree, Algo::ring, Algo::nvls, Algo::nvls_tree}) {
    if (name == plan_of(a) && c.options.protocol.empty()) return nccl_tuned(c, {a});
  }
  return evaluate(name, c);
}

std::string canonical_algorithm(const std::string& name) {
  std::string lower;
  for (char ch : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (lower != name) {
    if (lower == "ring") return "nccl-ring";
    if (lower == "tree") return "nccl-tree";
  }
  if (lower == "nvlstree") return "nvls-tree";
  if (lower == "collnetdirect") return "collnet-direct";
  if (lower == "collnetchain") return "collnet-chain";
  return lower;
}

const std::vector<StrategyInfo>& strategies() {
  return registry();
}

}  // namespace fabtwin::experiment
