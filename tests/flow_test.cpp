// The flow model against max-min shares solved by hand, its routing modes and what-ifs, and its runs'
// determinism. Flow against packet on the packet model's reference scenarios: flow_packet_test.cpp.
#include "fabtwin/flow/flow.hpp"

#include <gtest/gtest.h>

#include "fabtwin/analytic/analytic.hpp"
#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/topo/generators.hpp"
#include "fabtwin/topo/wire.hpp"
#include "sends_plan.hpp"

namespace fabtwin::flow {
namespace {

using test::sends;

double received_at(const FlowResult& r, std::int32_t to, std::int32_t from) {
  for (const auto& t : r.run.trace) {
    if (t.rank == to && t.kind == coll::StepKind::recv && t.peer == from) return t.end.count();
  }
  throw std::runtime_error("no such receive");
}

// A 400 Gb/s RoCE link's payload rate at a 4 KiB MTU: 82 bytes of headers per packet.
constexpr double kRate = 400e9 / 8 * 4096.0 / (4096.0 + 82.0);
constexpr std::uint64_t kBytes = 256ull << 20;
// Three leaves of three hosts, one 400G uplink each to one spine.
const char* const kLeaves = "fat-tree:tiers=2,hosts=9,hosts_per_leaf=3,oversub=3,speed=400Gbps,latency=1us";

TEST(Flow, OneFlowReachesThePayloadRateAfterItsLatency) {
  const auto t =
      topo::topology_from_spec("fat-tree:tiers=2,hosts=2,hosts_per_leaf=2,speed=400Gbps,latency=1us");
  const auto r = simulate(sends({{0, 1}}, 2, kBytes), t, {});
  // Per-message 2 us, two PCIe hops of 0.5 us, two network hops of 1 us; the first packet's store and
  // forward: 4096 B over each 512 Gb/s PCIe hop (64 ns) and 4178 B over the 400G hops (83.56 ns), less
  // the one the bytes at line rate already pay; then the bytes at line rate.
  const double fill = 2 * 4096 * 8 / 512e9 + 2 * 4178 * 8 / 400e9 - 4178 * 8 / 400e9;
  EXPECT_NEAR(received_at(r, 1, 0), 5e-6 + fill + kBytes / kRate, 1e-10);
  // The sender's completion waits for the ACK's way back: the four links' latency and an ACK frame
  // (headers and AETH, 86 B on RoCE, 4 B on PCIe) over each.
  const double ack = 3e-6 + 2 * 86 * 8 / 400e9 + 2 * 4 * 8 / 512e9;
  double sent = 0;
  for (const auto& t : r.run.trace) {
    if (t.kind == coll::StepKind::send) sent = t.end.count();
  }
  EXPECT_NEAR(sent - received_at(r, 1, 0), ack, 1e-10);
  EXPECT_EQ(r.fabric.flows, 1u);
}

TEST(Flow, ParkingLotGetsItsMaxMinShares) {
  // A: 0 -> 3 crosses leaf0's uplink and the spine's link down to leaf1. B: 1 -> 6 shares the uplink
  // only; C: 7 -> 4 and D: 8 -> 5 share the link down to leaf1 only. That link, with three flows, is
  // the first bottleneck: A, C and D get R/3 each. B takes the uplink's rest, 2R/3, and ends at
  // 1.5 S/R; A, C and D end at 3 S/R.
  const auto t = topo::topology_from_spec(kLeaves);
  const auto r = simulate(sends({{0, 3}, {1, 6}, {7, 4}, {8, 5}}, 9, kBytes), t, {});
  const double s_over_r = kBytes / kRate;
  EXPECT_NEAR(received_at(r, 6, 1) / (1.5 * s_over_r), 1.0, 1e-3);
  for (const auto& [to, from] : {std::pair{3, 0}, {4, 7}, {5, 8}}) {
    EXPECT_NEAR(received_at(r, to, from) / (3 * s_over_r), 1.0, 1e-3) << from << " -> " << to;
  }
}

TEST(Flow, FlowsFreedByAnEndingFlowTakeItsShare) {
  // Two flows share leaf0's uplink, one of half the size: both run at R/2 until the short one ends at
  // S/R (its S/2 at R/2); the long one then has the link alone and ends at S/R + (S/2)/R = 1.5 S/R.
  const auto t = topo::topology_from_spec(kLeaves);
  coll::Plan p = sends({{0, 3}, {1, 4}}, 9, kBytes);
  p.ranks[1].steps[0].src.bytes = kBytes / 2;
  p.ranks[4].steps[0].dst.bytes = kBytes / 2;
  const auto r = simulate(p, t, {});
  const double s_over_r = kBytes / kRate;
  // Both start after the same latency: what it adds is what a lone flow's time has beyond S/R.
  const double fixed = received_at(simulate(sends({{0, 3}}, 9, kBytes), t, {}), 3, 0) - s_over_r;
  EXPECT_NEAR((received_at(r, 4, 1) - fixed) / s_over_r, 1.0, 1e-4);
  EXPECT_NEAR((received_at(r, 3, 0) - fixed) / (1.5 * s_over_r), 1.0, 1e-4);
}

// Two flows leaf0 -> leaf1 over two spines: some seed hashes both onto one uplink, another apart.
TEST(Flow, EcmpCollisionsHalveTheFlowsSprayingAndAdaptiveRoutingEvenThem) {
  const auto t = topo::topology_from_spec("fat-tree:tiers=2,hosts=4,hosts_per_leaf=2,speed=400Gbps");
  const coll::Plan p = sends({{0, 2}, {1, 3}}, 4, kBytes);
  const double line = kBytes / kRate;
  const double alone = received_at(simulate(sends({{0, 2}}, 4, kBytes), t, {}), 2, 0);
  const double fixed = alone - line;
  FlowConfig c;
  std::optional<std::uint64_t> colliding, apart;
  for (std::uint64_t seed = 0; seed < 64 && !(colliding && apart); ++seed) {
    c.seed = seed;
    const double took = received_at(simulate(p, t, c), 2, 0);
    (took > 1.5 * line ? colliding : apart) = seed;
  }
  ASSERT_TRUE(colliding && apart);
  c.seed = *colliding;
  EXPECT_NEAR((received_at(simulate(p, t, c), 2, 0) - fixed) / (2 * line), 1.0, 1e-4);
  for (auto routing : {backend::Routing::spray, backend::Routing::adaptive}) {
    c.routing = routing;
    const auto r = simulate(p, t, c);
    EXPECT_NEAR(received_at(r, 2, 0) / alone, 1.0, 1e-4) << backend::to_string(routing);
    EXPECT_NEAR(received_at(r, 3, 1) / alone, 1.0, 1e-4) << backend::to_string(routing);
  }
}

TEST(Flow, AFailedLinkMovesTheRestOfItsFlowsAndADegradedOneSlowsThem) {
  const auto t = topo::topology_from_spec("fat-tree:tiers=2,hosts=4,hosts_per_leaf=2,speed=400Gbps");
  const coll::Plan p = sends({{0, 2}}, 4, kBytes);
  FlowConfig c;
  const auto healthy = simulate(p, t, c);
  const auto& first = healthy.fabric.busiest.front();
  // Fail the spine link the flow uses halfway: the rest goes over the other spine, at the same rate.
  topo::LinkId uplink = first.link;
  for (const auto& u : healthy.fabric.busiest) {
    const auto& l = t.links[u.link];
    if (t.nodes[l.a].kind == topo::NodeKind::network_switch &&
        t.nodes[l.b].kind == topo::NodeKind::network_switch)
      uplink = u.link;
  }
  const double line = kBytes / kRate;
  c.link_events = {{uplink, Seconds(line / 2), 0.0}};
  const auto failed = simulate(p, t, c);
  EXPECT_EQ(failed.fabric.rerouted, 1u);
  EXPECT_NEAR(failed.time.count() / healthy.time.count(), 1.0, 1e-3);
  // Half the rate from the start: the bytes take twice as long, the latencies are the same.
  c.link_events = {{uplink, Seconds(0), 0.5}};
  const double latencies = healthy.time.count() - line;
  EXPECT_NEAR((simulate(p, t, c).time.count() - latencies) / (2 * line), 1.0, 1e-4);
}

TEST(Flow, AFailureThatLeavesNoPathIsASimulationFailure) {
  const auto t = topo::topology_from_spec("fat-tree:tiers=2,hosts=4,hosts_per_leaf=2,speed=400Gbps");
  topo::LinkId edge = 0;
  for (const auto& l : t.links) {
    if (t.nodes[l.a].kind == topo::NodeKind::nic || t.nodes[l.b].kind == topo::NodeKind::nic) {
      if (t.nodes[l.a].host == 0 || t.nodes[l.b].host == 0) edge = l.id;
    }
  }
  FlowConfig c;
  c.link_events = {{edge, Seconds(0), 0.0}};
  EXPECT_THROW(simulate(sends({{0, 2}}, 4, kBytes), t, c), backend::SimulationFailed);
}

TEST(Flow, SameSeedSameTrace) {
  const auto t = topo::topology_from_spec(kLeaves);
  const coll::Plan p = sends({{0, 3}, {1, 6}, {7, 4}, {8, 5}, {2, 5}}, 9, 1ull << 20);
  FlowConfig c;
  c.seed = 7;
  c.routing = backend::Routing::adaptive;
  const auto a = simulate(p, t, c), b = simulate(p, t, c);
  ASSERT_EQ(a.run.trace.size(), b.run.trace.size());
  for (std::size_t i = 0; i < a.run.trace.size(); ++i) {
    EXPECT_EQ(a.run.trace[i].rank, b.run.trace[i].rank);
    EXPECT_EQ(a.run.trace[i].step, b.run.trace[i].step);
    EXPECT_EQ(a.run.trace[i].end.count(), b.run.trace[i].end.count());
  }
}

TEST(Flow, APlanLargerThanTheTopologyIsRefused) {
  const auto t = topo::topology_from_spec("fat-tree:tiers=2,hosts=2,hosts_per_leaf=2,speed=400Gbps");
  EXPECT_THROW(simulate(sends({{0, 3}}, 4, 1024), t, {}), std::invalid_argument);
}

TEST(Flow, TheRoundSolverGivesSimGridsMaxMinShares) {
  // The parking lot as one round: the round solver's time is its slowest flow, 3 S/R after its latency,
  // as SimGrid has it for the same flows as a plan (whose last receive is the same flow's).
  const auto t = topo::topology_from_spec(kLeaves);
  const std::vector<std::pair<std::int32_t, std::int32_t>> pairs = {{0, 3}, {1, 6}, {7, 4}, {8, 5}};
  coll::RoundPlan rp;
  rp.ranks = 9;
  rp.size_bytes = kBytes;
  coll::RoundPhase phase;
  for (const auto& [from, to] : pairs) phase.flows.push_back({from, to, kBytes});
  rp.phases = {phase};
  const auto rounds = simulate_rounds(rp, t, {});
  const auto plan = simulate(sends(pairs, 9, kBytes), t, {});
  EXPECT_NEAR(rounds.time.count() / received_at(plan, 3, 0), 1.0, 1e-6);
  EXPECT_NEAR(rounds.slowest_round.count() / (3 * kBytes / kRate), 1.0, 1e-3);
  EXPECT_EQ(rounds.fabric.flows, 4u);
}

TEST(Flow, RoundFormsAgreeWithTheirPlans) {
  // Where both exist, the round form on the flow model lands within 15% of the plan on it, and as far
  // from it as the analytic model's round form from its plan (the round form's own approximation:
  // lock-step rounds, the slots' overlap), within 5%. Plans run on SimGrid, rounds on our solver.
  struct Case {
    const char* topology;
    const char* algorithm;
    coll::AlgoOptions options;
  };
  coll::AlgoOptions simple;
  simple.protocol = "simple";
  coll::AlgoOptions one_chunk;  // the ring's round form moves one chunk per step
  one_chunk.chunks = 1;
  for (const Case& c : {Case{"fat-tree:tiers=2,hosts=32,hosts_per_leaf=8", "ring", one_chunk},
                        Case{"rail:hosts=4,gpus=8,hosts_per_leaf=4,node=dgx-h100", "nccl-ring", simple}}) {
    const auto t = topo::topology_from_spec(c.topology);
    const coll::Group g = coll::Group::from_topology(t);
    const std::uint64_t size = 64ull << 20;
    const double plan =
        simulate(coll::make_plan(coll::Collective::all_reduce, c.algorithm, g, size, c.options), t, {})
            .time.count();
    const auto rounds = simulate_rounds(
        coll::make_round_plan(coll::Collective::all_reduce, c.algorithm, g, size, c.options), t, {});
    const topo::Router router(t);
    const double analytic_plan =
        analytic::predict(coll::make_plan(coll::Collective::all_reduce, c.algorithm, g, size, c.options),
                          router, {})
            .time.count();
    const double analytic_rounds =
        analytic::predict_rounds(
            coll::make_round_plan(coll::Collective::all_reduce, c.algorithm, g, size, c.options), router, {})
            .time.count();
    EXPECT_NEAR(rounds.time.count() / plan, 1.0, 0.15) << c.algorithm << " on " << c.topology;
    EXPECT_NEAR((rounds.time.count() / plan) / (analytic_rounds / analytic_plan), 1.0, 0.05)
        << c.algorithm << " on " << c.topology << ": flow " << rounds.time.count() << " / " << plan
        << ", analytic " << analytic_rounds << " / " << analytic_plan;
    EXPECT_GT(rounds.fabric.flows, 0u);
  }
}

}  // namespace
}  // namespace fabtwin::flow
