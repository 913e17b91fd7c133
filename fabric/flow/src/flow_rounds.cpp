// A round plan on the flow model: each phase's round runs once, its flows sharing the fabric max-min,
// and the plan's time composes the rounds as the analytic model does (backend/round_time.hpp). Each
// flow also runs with no bytes beside itself, which costs no bandwidth, to tell its latency apart
// from the time the shared links add.
#include <algorithm>

#include "fabtwin/backend/round_time.hpp"
#include "fabtwin/flow/flow.hpp"

namespace fabtwin::flow {

namespace {

struct RoundRun {
  coll::Plan plan;
  // Per flow of the phase: the receiver and its receive steps with the flow's bytes and with none.
  struct Receives {
    std::int32_t rank;
    coll::StepIndex full;
    coll::StepIndex empty;
  };
  std::vector<Receives> receives;
};

RoundRun one_round(const coll::RoundPlan& rounds, const coll::RoundPhase& phase) {
  RoundRun run;
  run.plan = rounds.summary();
  for (std::size_t i = 0; i < phase.flows.size(); ++i) {
    const coll::Flow& f = phase.flows[i];
    RoundRun::Receives r{f.to, 0, 0};
    for (const bool empty : {false, true}) {
      const std::uint64_t bytes = empty ? 0 : f.bytes;
      const auto tag = static_cast<std::uint32_t>(2 * i + (empty ? 1 : 0));
      coll::Step send;
      send.kind = coll::StepKind::send;
      send.peer = f.to;
      send.src = {coll::BufferKind::input, 0, bytes};
      send.tag = tag;
      run.plan.ranks[f.from].steps.push_back(send);
      coll::Step recv;
      recv.kind = coll::StepKind::recv;
      recv.peer = f.from;
      recv.dst = {coll::BufferKind::output, 0, bytes};
      recv.tag = tag;
      auto& steps = run.plan.ranks[f.to].steps;
      (empty ? r.empty : r.full) = static_cast<coll::StepIndex>(steps.size());
      steps.push_back(recv);
    }
    run.receives.push_back(r);
  }
  return run;
}

backend::RoundTiming time_round(const RoundRun& run, const FlowResult& result) {
  // How long each receive took: the runner starts a plan after its protocol's call latency, which the
  // composition adds once.
  std::vector<std::vector<double>> took(run.plan.ranks.size());
  for (std::size_t r = 0; r < took.size(); ++r) took[r].assign(run.plan.ranks[r].steps.size(), 0.0);
  for (const auto& t : result.run.trace) took[t.rank][t.step] = (t.end - t.start).count();
  double transfers = 0, latency = 0, drain = 0;
  for (const auto& r : run.receives) {
    const double full = took[r.rank][r.full], empty = took[r.rank][r.empty];
    transfers = std::max(transfers, full);
    latency = std::max(latency, empty);
    drain = std::max(drain, full - empty);
  }
  return {Seconds(transfers), Seconds(latency), Seconds(drain)};
}

}  // namespace

FlowRoundEstimate simulate_rounds(const coll::RoundPlan& plan, const topo::Topology& topology,
                                  const FlowConfig& config) {
  FlowRoundEstimate est;
  std::vector<backend::RoundTiming> timings;
  for (const auto& phase : plan.phases) {
    const RoundRun run = one_round(plan, phase);
    const FlowResult result = simulate(run.plan, topology, config);
    timings.push_back(time_round(run, result));
    est.fabric.flows += result.fabric.flows;
    est.fabric.rerouted += result.fabric.rerouted;
    est.fabric.wall_s += result.fabric.wall_s;
    est.fabric.peak_memory_bytes = std::max(est.fabric.peak_memory_bytes, result.fabric.peak_memory_bytes);
    if (timings.back().transfers >= est.slowest_round) {
      est.slowest_round = timings.back().transfers;
      est.fabric.busiest = result.fabric.busiest;
      est.fabric.simulated = result.fabric.simulated;
    }
  }
  est.time = backend::round_plan_time(plan, timings, config.endpoint);
  return est;
}

}  // namespace fabtwin::flow
