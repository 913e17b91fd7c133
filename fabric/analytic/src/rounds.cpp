#include <algorithm>
#include <map>
#include <stdexcept>

#include "fabtwin/analytic/analytic.hpp"
#include "fabtwin/backend/round_time.hpp"
#include "fabtwin/topo/wire.hpp"

namespace fabtwin::analytic {

namespace {

std::uint32_t lane(const topo::Hop& h) {
  return 2u * h.link + (h.forward ? 0u : 1u);
}

// One round: its concurrent flows share every link direction they cross, so a flow drains in the time
// its most loaded link needs for all the bytes crossing it in this round.
struct Round {
  Seconds transfers;
  Seconds latency;  // the largest fixed cost of a flow
  Seconds drain;    // the most loaded link's time
  std::uint32_t most_flows = 0;
  LinkLoad busiest;
};

Round evaluate_round(const coll::RoundPhase& phase, const coll::Protocol& protocol,
                     const topo::Router& router, const backend::Placement& placement,
                     const CostParams& params,
                     std::map<std::pair<std::int32_t, std::int32_t>, topo::Path>& paths) {
  const auto& links = router.topology().links;
  std::vector<const topo::Path*> path_of(phase.flows.size());
  std::vector<backend::MessageCost> cost(phase.flows.size());
  std::vector<double> drain(links.size() * 2, 0.0);
  std::vector<std::uint32_t> flows_on(links.size() * 2, 0);
  for (std::size_t f = 0; f < phase.flows.size(); ++f) {
    const coll::Flow& flow = phase.flows[f];
    auto it = paths.find({flow.from, flow.to});
    if (it == paths.end()) {
      const std::uint64_t key = topo::rank_pair_flow(flow.from, flow.to);
      it = paths
               .emplace(std::pair{flow.from, flow.to},
                        placement.path(flow.from, flow.to, key, params.ecmp_seed))
               .first;
    }
    path_of[f] = &it->second;
    const bool crosses = placement.crosses_hosts(flow.from, flow.to);
    Seconds path_latency(0);
    for (const auto& hop : it->second) path_latency += links[hop.link].latency;
    cost[f] = backend::message_cost(protocol, flow.bytes, crosses, path_latency, params.endpoint);
    const double efficiency = placement.efficiency(flow.from, flow.to);
    const Bytes wire(static_cast<std::uint64_t>(static_cast<double>(cost[f].wire_bytes) / efficiency));
    for (const auto& hop : it->second) {
      drain[lane(hop)] += topo::wire_time(wire, links[hop.link]).count();
      ++flows_on[lane(hop)];
    }
  }
  Round round;
  for (std::size_t f = 0; f < phase.flows.size(); ++f) {
    Seconds latency = cost[f].fixed;
    double slowest = 0.0;
    for (const auto& hop : *path_of[f]) {
      const std::uint32_t l = lane(hop);
      latency += links[hop.link].latency;
      slowest = std::max(slowest, drain[l]);
      if (flows_on[l] > round.most_flows) {
        round.most_flows = flows_on[l];
        round.busiest = {hop.link, hop.forward, phase.flows[f].bytes * flows_on[l], flows_on[l], flows_on[l]};
      }
    }
    slowest = std::max(slowest, cost[f].least.count());
    round.transfers = std::max(round.transfers, latency + Seconds(slowest));
    round.latency = std::max(round.latency, latency);
    round.drain = std::max(round.drain, Seconds(slowest));
  }
  return round;
}

}  // namespace

RoundEstimate predict_rounds(const coll::RoundPlan& plan, const topo::Router& router,
                             const CostParams& params) {
  const auto& topology = router.topology();
  const coll::Plan summary = plan.summary();
  const backend::Placement placement(summary, router);
  if (plan.ranks < 1 || plan.ranks > topology.rank_count()) {
    throw std::invalid_argument("round model: " + std::to_string(plan.ranks) + " ranks on topology " +
                                topology.name + ", which places " + std::to_string(topology.rank_count()));
  }
  std::map<std::pair<std::int32_t, std::int32_t>, topo::Path> paths;
  RoundEstimate est;
  std::vector<backend::RoundTiming> timings;
  for (const auto& phase : plan.phases) {
    const Round round = evaluate_round(phase, plan.protocol, router, placement, params, paths);
    timings.push_back({round.transfers, round.latency, round.drain});
    if (round.transfers > est.slowest_round) est.slowest_round = round.transfers;
    if (round.most_flows > est.most_flows_on_a_link) {
      est.most_flows_on_a_link = round.most_flows;
      est.busiest = round.busiest;
    }
  }
  est.time = backend::round_plan_time(plan, timings, params.endpoint);
  return est;
}

}  // namespace fabtwin::analytic
