// The packet model against numbers derived by hand, and against the analytic model where both should
// agree.
#include "fabtwin/packet/packet.hpp"

#include <gtest/gtest.h>
#include <ns3/type-id.h>

#include "fabtwin/analytic/analytic.hpp"
#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/coll/metrics.hpp"
#include "fabtwin/topo/generators.hpp"
#include "fabtwin/topo/wire.hpp"

namespace fabtwin::packet {
namespace {

using coll::Collective;

// Sends of `bytes` from each rank in `senders` to `receiver`, all posted at time zero.
coll::Plan incast(const std::vector<std::int32_t>& senders, std::int32_t receiver, std::int32_t ranks,
                  std::uint64_t bytes) {
  coll::Plan p;
  p.collective = Collective::broadcast;
  p.algorithm = "test-incast";

  p.dtype = coll::DataType::int32;
  p.count = bytes / 4;
  p.size_bytes = bytes;
  p.ranks.resize(ranks);
  std::uint64_t offset = 0;
  for (std::int32_t s : senders) {
    coll::Step send;
    send.kind = coll::StepKind::send;
    send.peer = receiver;
    send.src = {coll::BufferKind::input, 0, bytes};
    p.ranks[s].steps.push_back(send);
    p.ranks[s].input_bytes = bytes;
    coll::Step recv;
    recv.kind = coll::StepKind::recv;
    recv.peer = s;
    recv.dst = {coll::BufferKind::output, offset, bytes};
    offset += bytes;
    p.ranks[receiver].steps.push_back(recv);
  }
  p.ranks[receiver].output_bytes = offset;
  return p;
}

const coll::TraceRecord& record(const coll::RunResult& run, std::int32_t rank, coll::StepKind kind,
                                std::int32_t peer) {
  for (const auto& t : run.trace) {
    if (t.rank == rank && t.kind == kind && t.peer == peer) return t;
  }
  throw std::runtime_error("no such trace record");
}

PacketConfig quiet() {
  PacketConfig c;
  c.endpoint.copy_rate = BitsPerSecond(1e18);
  return c;
}

TEST(Packet, TypeIdsAreRegistered) {
  ns3::TypeId tid;
  EXPECT_TRUE(ns3::TypeId::LookupByNameFailSafe("fabtwin::FabricDevice", &tid));
  EXPECT_TRUE(ns3::TypeId::LookupByNameFailSafe("fabtwin::FabricChannel", &tid));
}

TEST(Packet, OneQueuePairReachesLineRateTimesPayloadShare) {
  const auto t =
      topo::topology_from_spec("fat-tree:tiers=2,hosts=2,hosts_per_leaf=2,speed=400Gbps,latency=1us");
  const std::uint64_t bytes = 64ull << 20;
  const auto result = simulate(incast({0}, 1, 2, bytes), t, quiet());
  const auto& recv = record(result.run, 1, coll::StepKind::recv, 0);
  // Fixed costs: per-message 2 us, two PCIe hops of 0.5 us and two network hops of 1 us.
  const double fixed = 2e-6 + 3e-6;
  const double goodput = bytes * 8.0 / (recv.end.count() - fixed);
  const double expected = 400e9 * 4096.0 / (4096.0 + 82.0);
  EXPECT_NEAR(goodput / expected, 1.0, 0.005) << "goodput " << goodput / 1e9 << " Gb/s";
  EXPECT_EQ(result.fabric.drops, 0u);
  EXPECT_EQ(result.fabric.retransmitted_packets, 0u);
  EXPECT_EQ(result.fabric.pfc_pauses, 0u);
  // The sender completes when the last acknowledgement is back, after the receiver.
  const auto& send = record(result.run, 0, coll::StepKind::send, 1);
  EXPECT_GT(send.end, recv.end);
}

// Per-message cost, two PCIe hops and four network hops of 1 us.
constexpr double kCrossLeafFixed = 2e-6 + 1e-6 + 4e-6;

// Time to serialise `bytes` of RDMA WRITE payload on a link of this rate and layer, headers included.
double wire_seconds(std::uint64_t bytes, double bps, topo::LinkLayer layer) {
  return topo::rdma_write_on_wire(Bytes(bytes), Bytes(4096), layer).bytes.count() * 8.0 / bps;
}

double recv_end(const PacketResult& r, std::int32_t rank, std::int32_t peer) {
  return record(r.run, rank, coll::StepKind::recv, peer).end.count();
}

TEST(Packet, TwoToOneIncastWithPfcLosesNothingAndSharesTheLink) {
  const auto t =
      topo::topology_from_spec("fat-tree:tiers=2,hosts=8,hosts_per_leaf=4,speed=400Gbps,latency=1us");
  const std::uint64_t bytes = 16ull << 20;
  PacketConfig c = quiet();
  c.cc = CongestionControl::none;  // PFC alone
  const auto r = simulate(incast({0, 1}, 2, 8, bytes), t, c);
  EXPECT_EQ(r.fabric.drops, 0u);
  EXPECT_EQ(r.fabric.retransmitted_packets, 0u);
  EXPECT_GT(r.fabric.pfc_pauses, 0u);
  EXPECT_EQ(r.fabric.delivered_bytes, 2 * bytes);
  // Both share the receiver's 400G link: each finishes after about twice its own serialisation.
  const double both = 2 * wire_seconds(bytes, 400e9, topo::LinkLayer::roce);
  EXPECT_NEAR(recv_end(r, 2, 0) / both, 1.0, 0.03);
  EXPECT_NEAR(recv_end(r, 2, 1) / both, 1.0, 0.03);
}

TEST(Packet, LossyIncastDropsAndRetransmitsYetDeliversEveryByte) {
  const auto t =
      topo::topology_from_spec("fat-tree:tiers=2,hosts=8,hosts_per_leaf=4,speed=400Gbps,latency=1us");
  const std::uint64_t bytes = 4ull << 20;
  PacketConfig c = quiet();
  c.cc = CongestionControl::none;
  c.pfc = false;
  c.switch_buffer = Bytes(256 * 1024);
  const auto r = simulate(incast({0, 1, 3}, 2, 8, bytes), t, c);
  EXPECT_GT(r.fabric.drops, 0u);
  EXPECT_GT(r.fabric.retransmitted_packets, 0u);
  EXPECT_EQ(r.fabric.pfc_pauses, 0u);
  EXPECT_EQ(r.fabric.delivered_bytes, 3 * bytes);
  // Go-back-N resends what followed a loss, so the senders put more packets on the wire than the
  // 3 x 1024 the messages hold.
  EXPECT_GT(r.fabric.data_packets, 3u * 1024u);
  // Losses cost time: the last of the three finishes later than a lossless share of the link would.
  const double last = std::max({recv_end(r, 2, 0), recv_end(r, 2, 1), recv_end(r, 2, 3)});
  EXPECT_GT(last, 3 * wire_seconds(bytes, 400e9, topo::LinkLayer::roce));
}

TEST(Packet, SprayedLossyTrafficRecoversByTimeout) {
  const auto t =
      topo::topology_from_spec("fat-tree:tiers=2,hosts=8,hosts_per_leaf=4,speed=400Gbps,latency=1us");
  const std::uint64_t bytes = 1ull << 20;
  PacketConfig c = quiet();
  c.cc = CongestionControl::none;
  c.pfc = false;
  c.routing = Routing::spray;
  c.switch_buffer = Bytes(128 * 1024);
  c.retransmit_timeout = Seconds(50e-6);
  const auto r = simulate(incast({0, 1, 4, 5}, 2, 8, bytes), t, c);
  EXPECT_GT(r.fabric.drops, 0u);
  EXPECT_EQ(r.fabric.delivered_bytes, 4 * bytes);
}

TEST(Packet, InfiniBandCreditsNeverDropAndHoldLineRateWithATinyBuffer) {
  // 32 KiB per VL covers the credit loop of 100 ns links (two latencies and two frame times, about
  // 18 KB at 400G) but is a few frames deep: any overrun would have to drop.
  const auto t = topo::topology_from_spec(
      "fat-tree:tiers=2,hosts=8,hosts_per_leaf=4,speed=400Gbps,latency=100ns,layer=ib");
  const std::uint64_t bytes = 16ull << 20;
  PacketConfig c = quiet();
  c.fabric = FabricKind::infiniband;
  c.cc = CongestionControl::none;
  c.credit_buffer = Bytes(32 * 1024);
  c.switch_buffer = Bytes(64 * 1024);
  const auto one = simulate(incast({0}, 2, 8, bytes), t, c);
  const double line = wire_seconds(bytes, 400e9, topo::LinkLayer::infiniband);
  EXPECT_NEAR((recv_end(one, 2, 0) - 2e-6 - 1.3e-6) / line, 1.0, 0.005);
  const auto two = simulate(incast({0, 1}, 2, 8, bytes), t, c);
  EXPECT_EQ(two.fabric.drops, 0u);
  EXPECT_EQ(two.fabric.retransmitted_packets, 0u);
  EXPECT_EQ(two.fabric.pfc_pauses, 0u);
  EXPECT_NEAR(recv_end(two, 2, 0) / (2 * line), 1.0, 0.03);
  EXPECT_NEAR(recv_end(two, 2, 1) / (2 * line), 1.0, 0.03);
  // Two frames of credit cannot cover a 1 us link's loop: the same sender falls well short of line rate.
  const auto far =
      topo::topology_from_spec("fat-tree:tiers=2,hosts=8,hosts_per_leaf=4,speed=400Gbps,layer=ib");
  c.credit_buffer = Bytes(2 * 4200);
  const auto starved = simulate(incast({0}, 2, 8, bytes), far, c);
  EXPECT_GT(recv_end(starved, 2, 0), 2 * line);
  EXPECT_EQ(starved.fabric.drops, 0u);
}

TEST(Packet, DcqcnReactsToEcnMarks) {
  const auto t =
      topo::topology_from_spec("fat-tree:tiers=2,hosts=8,hosts_per_leaf=4,speed=400Gbps,latency=1us");
  const std::uint64_t bytes = 8ull << 20;
  PacketConfig c = quiet();
  const auto r = simulate(incast({0, 1, 3}, 2, 8, bytes), t, c);
  EXPECT_GT(r.fabric.ecn_marks, 0u);
  EXPECT_GT(r.fabric.cnps, 0u);
  EXPECT_EQ(r.fabric.drops, 0u);
  EXPECT_EQ(r.fabric.delivered_bytes, 3 * bytes);
  c.cc = CongestionControl::none;
  const auto plain = simulate(incast({0, 1, 3}, 2, 8, bytes), t, c);
  EXPECT_EQ(plain.fabric.cnps, 0u);
  // Senders slowed by DCQCN hold less in the switch than senders held back by PAUSE alone.
  EXPECT_LT(r.fabric.pfc_pauses, plain.fabric.pfc_pauses);
}

coll::Plan ring_plan(const topo::Topology& t, std::uint64_t bytes) {
  const coll::Plan p =
      coll::make_plan(Collective::all_reduce, "ring", coll::Group::from_topology(t), bytes, {});
  coll::validate(p);
  return p;
}

TEST(Packet, RingAllReduceOnANonBlockingFatTreeMatchesTheAnalyticModel) {
  const auto t = topo::topology_from_spec("fat-tree:tiers=2,hosts=16,hosts_per_leaf=4,speed=400Gbps");
  const auto plan = ring_plan(t, 16ull << 20);
  const topo::Router router(t);
  const double analytic = analytic::predict(plan, router, {}).time.count();
  const auto r = simulate(plan, t, {});
  EXPECT_NEAR(r.time.count() / analytic, 1.0, 0.05)
      << "packet " << r.time.count() << " analytic " << analytic;
  EXPECT_EQ(r.fabric.drops, 0u);
  EXPECT_EQ(r.fabric.delivered_bytes, 16u * 2 * 15 * ((16ull << 20) / 16));
}

TEST(Packet, OversubscribedSpineHalvesCrossLeafBandwidth) {
  // Four hosts of leaf0 each send to a host of leaf1. Spraying spreads them over the uplinks, so the
  // uplinks' total is what they share: 4 x 400G at 1:1, 2 x 400G at 2:1.
  const std::uint64_t bytes = 8ull << 20;
  auto cross = [&](const std::string& spec) {
    const auto t = topo::topology_from_spec(spec);
    coll::Plan p = incast({0}, 4, 8, bytes);
    for (std::int32_t s = 1; s < 4; ++s) {
      const coll::Plan q = incast({s}, 4 + s, 8, bytes);
      p.ranks[s] = q.ranks[s];
      p.ranks[4 + s] = q.ranks[4 + s];
    }
    PacketConfig c = quiet();
    c.routing = Routing::spray;
    c.cc = CongestionControl::none;  // the share the fabric allows, not DCQCN's convergence
    const auto r = simulate(p, t, c);
    double worst = 0;
    for (std::int32_t s = 0; s < 4; ++s) worst = std::max(worst, recv_end(r, 4 + s, s));
    return worst - kCrossLeafFixed;
  };
  const double line = wire_seconds(bytes, 400e9, topo::LinkLayer::roce);
  const double full = cross("fat-tree:tiers=2,hosts=8,hosts_per_leaf=4,speed=400Gbps");
  const double half = cross("fat-tree:tiers=2,hosts=8,hosts_per_leaf=4,speed=400Gbps,oversub=2");
  EXPECT_NEAR(full / line, 1.0, 0.03);
  EXPECT_NEAR(half / (2 * line), 1.0, 0.03);
}

// Two flows leaf0 -> leaf1 on a fabric with two spines, and a seed whose hash puts both on one uplink.
struct Collision {
  topo::Topology t = topo::topology_from_spec("fat-tree:tiers=2,hosts=4,hosts_per_leaf=2,speed=400Gbps");
  coll::Plan plan;
  std::uint64_t colliding = 0, apart = 0;
  Collision() {
    plan = incast({0}, 2, 4, 8ull << 20);
    const coll::Plan other = incast({1}, 3, 4, 8ull << 20);
    plan.ranks[1] = other.ranks[1];
    plan.ranks[3] = other.ranks[3];
    const topo::Router router(t);
    bool found_colliding = false, found_apart = false;
    for (std::uint64_t seed = 0; seed < 64 && !(found_colliding && found_apart); ++seed) {
      const auto a = router.rank_path(0, 2, topo::rank_pair_flow(0, 2), seed);
      const auto b = router.rank_path(1, 3, topo::rank_pair_flow(1, 3), seed);
      // Hop 2 is the leaf's uplink to a spine.
      const bool same = a.at(2).link == b.at(2).link;
      if (same && !found_colliding) colliding = seed, found_colliding = true;
      if (!same && !found_apart) apart = seed, found_apart = true;
    }
    if (!found_colliding || !found_apart)
      throw std::runtime_error("no colliding and no separating seed found");
  }
};

TEST(Packet, EcmpCollisionsHalveTheFlowsAndSprayingEvensThem) {
  const Collision x;
  const double line = wire_seconds(8ull << 20, 400e9, topo::LinkLayer::roce);
  PacketConfig c = quiet();
  c.seed = x.colliding;
  c.cc = CongestionControl::none;
  auto took = [](const PacketResult& r, std::int32_t to, std::int32_t from) {
    return recv_end(r, to, from) - kCrossLeafFixed;
  };
  const auto hashed = simulate(x.plan, x.t, c);
  EXPECT_NEAR(took(hashed, 2, 0) / (2 * line), 1.0, 0.05);
  EXPECT_NEAR(took(hashed, 3, 1) / (2 * line), 1.0, 0.05);
  c.routing = Routing::spray;
  const auto sprayed = simulate(x.plan, x.t, c);
  EXPECT_NEAR(took(sprayed, 2, 0) / line, 1.0, 0.03);
  EXPECT_NEAR(took(sprayed, 3, 1) / line, 1.0, 0.03);
  c.routing = Routing::adaptive;
  const auto adaptive = simulate(x.plan, x.t, c);
  EXPECT_NEAR(took(adaptive, 2, 0) / line, 1.0, 0.05);
  EXPECT_NEAR(took(adaptive, 3, 1) / line, 1.0, 0.05);
  c.routing = Routing::ecmp;
  c.seed = x.apart;
  const auto apart = simulate(x.plan, x.t, c);
  EXPECT_NEAR(took(apart, 2, 0) / line, 1.0, 0.03);
}

TEST(Packet, SameSeedSameRunAnotherSeedOtherPaths) {
  const Collision x;
  PacketConfig c;
  c.seed = x.colliding;
  const auto a = simulate(x.plan, x.t, c);
  const auto b = simulate(x.plan, x.t, c);
  ASSERT_EQ(a.run.trace.size(), b.run.trace.size());
  for (std::size_t i = 0; i < a.run.trace.size(); ++i) {
    EXPECT_EQ(a.run.trace[i].end, b.run.trace[i].end);
    EXPECT_EQ(a.run.trace[i].rank, b.run.trace[i].rank);
    EXPECT_EQ(a.run.trace[i].step, b.run.trace[i].step);
  }
  EXPECT_EQ(a.fabric.events, b.fabric.events);
  EXPECT_EQ(a.fabric.packet_hops, b.fabric.packet_hops);
  EXPECT_EQ(a.fabric.peak_queue_bytes, b.fabric.peak_queue_bytes);
  c.seed = x.apart;
  const auto other = simulate(x.plan, x.t, c);
  EXPECT_NE(other.time, a.time);
}

// The link the ring's flow from rank 3 to rank 4 (leaf0 to leaf1) takes up to a spine.
topo::LinkId ring_uplink(const topo::Topology& t) {
  const topo::Router router(t);
  return router.rank_path(3, 4, topo::rank_pair_flow(3, 4), 0).at(2).link;
}

TEST(Packet, AFailedSpineLinkSlowsTheRingAndDoesNotHang) {
  const auto t = topo::topology_from_spec("fat-tree:tiers=2,hosts=16,hosts_per_leaf=4,speed=400Gbps");
  const auto plan = ring_plan(t, 8ull << 20);
  const auto healthy = simulate(plan, t, {});
  PacketConfig c;
  c.link_events.push_back({ring_uplink(t), Seconds(100e-6), 0.0});
  const auto failed = simulate(plan, t, c);
  EXPECT_GT(failed.time, healthy.time);
  EXPECT_GT(failed.fabric.drops + failed.fabric.retransmitted_packets, 0u);
  EXPECT_EQ(failed.fabric.delivered_bytes, healthy.fabric.delivered_bytes);
  // A degraded link slows it too, without loss.
  PacketConfig d;
  d.link_events.push_back({ring_uplink(t), Seconds(0), 0.25});
  const auto slow = simulate(plan, t, d);
  EXPECT_GT(slow.time.count(), 1.5 * healthy.time.count());
  EXPECT_EQ(slow.fabric.drops, 0u);
}

TEST(Packet, AFailureThatCutsARankOffFailsWithAMessage) {
  const auto t = topo::topology_from_spec("fat-tree:tiers=2,hosts=8,hosts_per_leaf=4,speed=400Gbps");
  PacketConfig c;
  c.link_events.push_back(parse_link_event("h2.nic0/leaf0@10us", t));
  try {
    simulate(incast({0}, 2, 8, 4ull << 20), t, c);
    FAIL() << "expected SimulationFailed";
  } catch (const SimulationFailed& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("rank 2"), std::string::npos) << e.what();
  }
}

TEST(Packet, LinkEventsParseAndBadOnesNameTheirFault) {
  const auto t = topo::topology_from_spec("fat-tree:tiers=2,hosts=8,hosts_per_leaf=4");
  const auto e = parse_link_event("leaf0/spine1@20us=0.5", t);
  EXPECT_EQ(t.nodes[t.links[e.link].a].name + t.nodes[t.links[e.link].b].name, "leaf0spine1");
  EXPECT_DOUBLE_EQ(e.at.count(), 20e-6);
  EXPECT_DOUBLE_EQ(e.factor, 0.5);
  EXPECT_DOUBLE_EQ(parse_link_event("spine1/leaf0@1ms", t).factor, 0.0);
  for (const char* bad : {"leaf0-spine1@1us", "leaf0/spine1", "leafX/spine1@1us", "leaf0/leaf1@1us",
                          "leaf0/spine1@soon", "leaf0/spine1@1us=2", "leaf0/spine1@1us=x"}) {
    EXPECT_THROW(parse_link_event(bad, t), std::invalid_argument) << bad;
  }
}

TEST(Packet, ReductionsCostTimeAtTheReceivingRank) {
  const auto t = topo::topology_from_spec("fat-tree:tiers=2,hosts=8,hosts_per_leaf=4,speed=400Gbps");
  const auto plan = ring_plan(t, 4ull << 20);
  PacketConfig c;
  const auto fast = simulate(plan, t, c);
  c.endpoint.reduce_rate = BitsPerSecond(8e9);  // 1 GB/s: 7 reductions of 512 KiB in a row add about 3.7 ms
  const auto slow = simulate(plan, t, c);
  EXPECT_NEAR(slow.time.count() - fast.time.count(), 7 * 524288 / 1e9, 0.4e-3);
}

TEST(Packet, PlansTheTopologyCannotHoldAreRejected) {
  const auto t = topo::topology_from_spec("fat-tree:tiers=2,hosts=8,hosts_per_leaf=4");
  const coll::Plan p = coll::make_plan(Collective::all_reduce, "ring", coll::Group::flat(16), 1024, {});
  EXPECT_THROW(simulate(p, t, {}), std::invalid_argument);
  PacketBackend first(incast({0}, 1, 2, 1024), t, {});
  EXPECT_THROW(PacketBackend(incast({0}, 1, 2, 1024), t, {}), std::logic_error);
}

}  // namespace
}  // namespace fabtwin::packet
