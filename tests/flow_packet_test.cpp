// The flow model against the packet model on the packet model's reference scenarios: where the packet
// model shows no loss, busbw within 5%, and every what-if moving both the same way.
#include <gtest/gtest.h>

#include "fabtwin/experiment/experiment.hpp"
#include "fabtwin/topo/generators.hpp"
#include "sends_plan.hpp"

namespace fabtwin {
namespace {

using experiment::BackendKind;

struct Case {
  Case(std::string spec, coll::Collective c, std::string algo, std::vector<std::uint64_t> s,
       backend::Routing r = backend::Routing::ecmp)
      : topology(std::move(spec)),
        collective(c),
        algorithm(std::move(algo)),
        sizes(std::move(s)),
        routing(r) {}
  std::string topology;
  coll::Collective collective = coll::Collective::all_reduce;
  std::string algorithm = "ring";
  std::vector<std::uint64_t> sizes;
  backend::Routing routing = backend::Routing::ecmp;
  std::vector<std::string> failures;  // NODE/NODE@TIME
};

std::vector<double> busbw(const Case& c, BackendKind backend) {
  experiment::Scenario s;
  s.topology = topo::topology_from_spec(c.topology);
  s.collective = c.collective;
  s.algorithm = c.algorithm;
  s.sizes = c.sizes;
  s.backend = backend;
  s.packet.routing = s.flow.routing = c.routing;
  for (const auto& f : c.failures) {
    s.packet.link_events.push_back(backend::parse_link_event(f, s.topology));
    s.flow.link_events.push_back(s.packet.link_events.back());
  }
  const auto out = experiment::run(s);
  std::vector<double> v;
  for (const auto& row : out.results.rows) {
    if (backend == BackendKind::packet) {
      EXPECT_EQ(row.extra.at("fabric").at("drops"), 0) << c.topology << ": the packet model lost packets";
    }
    v.push_back(row.timing.busbw_gbps);
  }
  return v;
}

void expect_within(const Case& c, double tolerance) {
  const auto packet = busbw(c, BackendKind::packet);
  const auto flow = busbw(c, BackendKind::flow);
  ASSERT_EQ(packet.size(), flow.size());
  for (std::size_t i = 0; i < packet.size(); ++i) {
    EXPECT_NEAR(flow[i] / packet[i], 1.0, tolerance)
        << c.topology << " " << c.sizes[i] << " B: flow " << flow[i] << " GB/s, packet " << packet[i];
  }
}

TEST(FlowAgainstPacket, RingOnTheSixteenHostFatTree) {
  expect_within({"fat-tree:tiers=2,hosts=16,hosts_per_leaf=4",
                 coll::Collective::all_reduce,
                 "ring",
                 {64ull << 10, 1ull << 20, 16ull << 20}},
                0.05);
}

TEST(FlowAgainstPacket, AllToAllOnTheTwoToOneLeafSpineSprayed) {
  expect_within({"fat-tree:tiers=2,hosts=8,hosts_per_leaf=4,oversub=2",
                 coll::Collective::all_to_all,
                 "direct",
                 {64ull << 10, 512ull << 10, 4ull << 20},
                 backend::Routing::spray},
                0.05);
}

// The share the fabric gives, without DCQCN: its rate cuts under congestion are the packet model's
// alone (the flow model has no congestion control), and where they act the two differ by design.
packet::PacketConfig fair_share() {
  packet::PacketConfig c;
  c.cc = packet::CongestionControl::none;
  return c;
}

TEST(FlowAgainstPacket, TwoToOneIncast) {
  // Two hosts of another leaf send to one: the receiver's link is the one bottleneck, shared in two.
  const auto t = topo::topology_from_spec("fat-tree:tiers=2,hosts=4,hosts_per_leaf=2");
  const coll::Plan p = test::sends({{2, 0}, {3, 0}}, 4, 8ull << 20);
  const auto packet = packet::simulate(p, t, fair_share());
  EXPECT_EQ(packet.fabric.drops, 0u);
  EXPECT_NEAR(flow::simulate(p, t, {}).time.count() / packet.time.count(), 1.0, 0.05);
}

TEST(FlowAgainstPacket, EcmpCollisionOfTwoFlows) {
  // Two flows leaf0 -> leaf1 over two spines; some seed hashes both onto one uplink.
  const auto t = topo::topology_from_spec("fat-tree:tiers=2,hosts=4,hosts_per_leaf=2");
  const coll::Plan p = test::sends({{0, 2}, {1, 3}}, 4, 8ull << 20);
  const double alone = flow::simulate(test::sends({{0, 2}}, 4, 8ull << 20), t, {}).time.count();
  for (std::uint64_t seed = 0; seed < 64; ++seed) {
    flow::FlowConfig f;
    f.seed = seed;
    const double took = flow::simulate(p, t, f).time.count();
    if (took < 1.5 * alone) continue;
    packet::PacketConfig c = fair_share();
    c.seed = seed;
    EXPECT_NEAR(took / packet::simulate(p, t, c).time.count(), 1.0, 0.05) << "seed " << seed;
    return;
  }
  FAIL() << "no seed of 64 collides";
}

TEST(FlowAgainstPacket, WhatIfsMoveBothModelsTheSameWayAndAsFar) {
  // All-to-all on the 16-host fat-tree: 2:1 oversubscription of its aggregation tier, then one and two
  // failed aggregation-to-core links; spraying on the 2:1 leaf-spine.
  const Case base("fat-tree:k=4", coll::Collective::all_to_all, "direct", {4ull << 20});
  Case oversub = base;
  oversub.topology = "fat-tree:k=4,oversub=2";
  Case one_failed = base;
  one_failed.failures = {"pod0.agg0/core0@0s"};
  Case two_failed = one_failed;
  two_failed.failures.push_back("pod0.agg1/core2@0s");
  const Case hashed("fat-tree:tiers=2,hosts=8,hosts_per_leaf=4,oversub=2", coll::Collective::all_to_all,
                    "direct", {4ull << 20});
  Case sprayed = hashed;
  sprayed.routing = backend::Routing::spray;
  struct WhatIf {
    const Case& before;
    const Case& after;
    bool faster;
  };
  for (const WhatIf& w : {WhatIf{base, oversub, false}, WhatIf{base, one_failed, false},
                          WhatIf{one_failed, two_failed, false}, WhatIf{hashed, sprayed, true}}) {
    const double packet_before = busbw(w.before, BackendKind::packet)[0];
    const double packet_after = busbw(w.after, BackendKind::packet)[0];
    const double flow_before = busbw(w.before, BackendKind::flow)[0];
    const double flow_after = busbw(w.after, BackendKind::flow)[0];
    SCOPED_TRACE(w.after.topology + (w.after.failures.empty() ? "" : " with " + w.after.failures.back()));
    EXPECT_EQ(packet_after > packet_before, w.faster) << packet_before << " -> " << packet_after;
    EXPECT_EQ(flow_after > flow_before, w.faster) << flow_before << " -> " << flow_after;
    EXPECT_NEAR(flow_after / packet_after, 1.0, 0.05);
  }
}

}  // namespace
}  // namespace fabtwin
