// A round plan on the flow model: each phase's round once, its flows starting together and sharing the
// fabric max-min (max_min.cpp), each flow charged as the plan backend charges a message
// (flow_message.cpp); the plan's time composes the rounds as the analytic model does
// (backend/round_time.hpp). Link events hold from the start of every round: a round is the steady state
// of the what-if.
//
// Why not SimGrid here: SimGrid 3.32 files every detached communication in one std::list of maestro's,
// and each completion removes itself with list::remove, a scan of all those in flight. A round of NCCL's
// ring over 8,192 ranks (131,072 flows, 16 channels) had not finished its first phase after two minutes
// (1,024 ranks, 16,384 flows: about a second per phase). The solver here answers it in seconds.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>

#include "fabtwin/backend/round_time.hpp"
#include "fabtwin/flow/flow.hpp"
#include "flow_message.hpp"
#include "flow_routes.hpp"
#include "max_min.hpp"

namespace fabtwin::flow {

namespace {

// The fabric every round of the plan sees: its routes (failed links routed around) and lane rates
// (degraded links slowed). Built in place: its routes hold pointers into themselves.
struct Fabric {
  Fabric(const coll::Plan& summary, const topo::Topology& topology, const FlowConfig& config);
  Fabric(const Fabric&) = delete;
  Fabric& operator=(const Fabric&) = delete;
  FlowRoutes routes;
  std::vector<double> lane_rate;
};

Fabric::Fabric(const coll::Plan& summary, const topo::Topology& topology, const FlowConfig& config)
    : routes(summary, topology, config.seed) {
  for (const auto& l : topology.links) {
    lane_rate.push_back(payload_rate(l));
    lane_rate.push_back(payload_rate(l));
  }
  for (const auto& e : config.link_events) {
    if (e.factor == 0) {
      routes.fail(e.link);
    } else {
      lane_rate[2 * e.link] *= e.factor;
      lane_rate[2 * e.link + 1] *= e.factor;
    }
  }
}

// The parts of one flow the solver sees, by the scenario's routing; `load` counts flows per lane so
// far, for adaptive routing's choice.
std::vector<SharedPath> parts_of(const coll::Flow& f, const FlowConfig& config, const FlowRoutes& routes,
                                 std::vector<std::uint32_t>& load) {
  std::vector<SharedPath> parts;
  if (config.routing == backend::Routing::ecmp) {
    parts.push_back({routes.path(f.from, f.to), 1.0});
  } else {
    parts = routes.variants(f.from, f.to);
    if (config.routing == backend::Routing::adaptive) {
      std::size_t best = 0;
      std::uint32_t best_load = UINT32_MAX;
      for (std::size_t k = 0; k < parts.size(); ++k) {
        std::uint32_t l = 0;
        for (const auto& hop : parts[k].path) l = std::max(l, load[lane_of(hop)]);
        if (l < best_load) {
          best = k;
          best_load = l;
        }
      }
      parts = {{parts[best].path, 1.0}};
    }
  }
  for (const auto& p : parts) {
    for (const auto& hop : p.path) ++load[lane_of(hop)];
  }
  return parts;
}

struct RoundResult {
  backend::RoundTiming timing;
  std::uint64_t flows = 0;
  std::vector<std::uint64_t> lane_bytes;
};

RoundResult solve_round(const coll::RoundPlan& plan, const coll::RoundPhase& phase, const Fabric& fabric,
                        const FlowConfig& config) {
  RoundResult r;
  r.lane_bytes.assign(fabric.lane_rate.size(), 0);
  std::vector<std::uint32_t> load(fabric.lane_rate.size(), 0);
  std::vector<FluidFlow> fluid;
  std::vector<std::uint32_t> owner;  // the phase's flow each fluid part belongs to
  std::vector<double> delay(phase.flows.size(), 0.0);
  for (std::uint32_t i = 0; i < phase.flows.size(); ++i) {
    const coll::Flow& f = phase.flows[i];
    const auto parts = parts_of(f, config, fabric.routes, load);
    const MessageTiming m = message_timing(plan.protocol, f.bytes, f.from, f.to, parts.front().path,
                                           fabric.routes.placement(), config.endpoint);
    delay[i] = m.delay;
    for (const auto& p : parts) {
      if (p.path.empty()) continue;  // a GPU to itself: a copy, in its delay
      FluidFlow ff{
          {}, static_cast<double>(m.wire_bytes) * p.share, m.rate_cap > 0 ? m.rate_cap * p.share : -1};
      for (const auto& hop : p.path) {
        ff.lanes.push_back(lane_of(hop));
        r.lane_bytes[lane_of(hop)] += static_cast<std::uint64_t>(ff.bytes);
      }
      fluid.push_back(std::move(ff));
      owner.push_back(i);
    }
  }
  r.flows = fluid.size();
  const std::vector<double> finish = max_min_finish_times(fluid, fabric.lane_rate);
  std::vector<double> bytes_time(phase.flows.size(), 0.0);
  for (std::size_t k = 0; k < fluid.size(); ++k)
    bytes_time[owner[k]] = std::max(bytes_time[owner[k]], finish[k]);
  double transfers = 0, latency = 0, drain = 0;
  for (std::size_t i = 0; i < phase.flows.size(); ++i) {
    transfers = std::max(transfers, delay[i] + bytes_time[i]);
    latency = std::max(latency, delay[i]);
    drain = std::max(drain, bytes_time[i]);
  }
  r.timing = {Seconds(transfers), Seconds(latency), Seconds(drain)};
  return r;
}

}  // namespace

FlowRoundEstimate simulate_rounds(const coll::RoundPlan& plan, const topo::Topology& topology,
                                  const FlowConfig& config) {
  const auto begin = std::chrono::steady_clock::now();
  const coll::Plan summary = plan.summary();  // outlives the routes that refer to it
  const Fabric fabric(summary, topology, config);
  FlowRoundEstimate est;
  std::vector<backend::RoundTiming> timings;
  for (const auto& phase : plan.phases) {
    RoundResult round = solve_round(plan, phase, fabric, config);
    timings.push_back(round.timing);
    est.fabric.flows += round.flows;
    if (round.timing.transfers >= est.slowest_round) {
      est.slowest_round = round.timing.transfers;
      est.fabric.busiest = busiest(round.lane_bytes, fabric.lane_rate);
      est.fabric.simulated = round.timing.transfers;
    }
  }
  est.time = backend::round_plan_time(plan, timings, config.endpoint);
  est.fabric.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  est.fabric.peak_memory_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
  return est;
}

}  // namespace fabtwin::flow
