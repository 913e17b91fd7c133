// NCCL's algorithms as plans: proven by the reference executor on hosts with 1, 2 and 8 NICs, laid
// out as NCCL lays its rings (every NIC once per direction per channel pair, host-to-host hops on one
// rail on the routed paths), priced by NCCL's own model as worked out by hand, and the node keys.
#include "fabtwin/coll/nccl.hpp"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "fabtwin/analytic/analytic.hpp"
#include "fabtwin/backend/endpoint.hpp"
#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/coll/reference.hpp"
#include "fabtwin/experiment/nccl_tuner.hpp"
#include "fabtwin/topo/generators.hpp"
#include "fabtwin/topo/io.hpp"
#include "fabtwin/topo/node.hpp"
#include "fabtwin/topo/routing.hpp"

namespace fabtwin {
namespace {

coll::Group hosts_of(std::int32_t hosts, std::int32_t per_host, std::int32_t nics) {
  coll::Group g = coll::Group::uniform(hosts * per_host, per_host);
  for (std::int32_t r = 0; r < g.ranks; ++r) g.nic_of_rank.push_back((r % per_host) / (per_host / nics));
  return g;
}

coll::AlgoOptions with(const std::string& proto, std::int32_t channels = 0) {
  coll::AlgoOptions o;
  o.protocol = proto;
  o.channels = channels;
  return o;
}

// Which protocols an NCCL algorithm runs on `hosts` hosts: none where it does not serve them (NVLS one
// host, NVLSTree two or more).
std::vector<const char*> protocols_of(const std::string& algo, std::int32_t hosts) {
  if (algo == "nvls") return hosts == 1 ? std::vector<const char*>{"Simple"} : std::vector<const char*>{};
  if (algo == "nvls-tree") return hosts > 1 ? std::vector<const char*>{"Simple"} : std::vector<const char*>{};
  return {"Simple", "LL", "LL128"};
}

TEST(NcclAlgorithms, ReferenceExecutorAgreesOnEveryHostShape) {
  for (const std::string algo : {"nccl-ring", "nccl-tree", "nvls", "nvls-tree"}) {
    for (std::int32_t hosts : {1, 2, 3, 8}) {
      for (std::int32_t per_host : {1, 2, 8}) {
        for (std::int32_t nics : {1, 2, 8}) {
          if (nics > per_host || hosts * per_host > 64) continue;
          const coll::Group g = hosts_of(hosts, per_host, nics);
          for (const std::uint64_t bytes : {4ull, 4000ull, 64ull << 10}) {
            for (const char* proto : protocols_of(algo, hosts)) {
              const auto plan = coll::make_plan(coll::Collective::all_reduce, algo, g, bytes, with(proto));
              coll::validate(plan);
              const auto v = coll::verify_plan(plan, 7);
              EXPECT_TRUE(v.ok) << algo << " " << hosts << " hosts x " << per_host << " ranks, " << nics
                                << " NICs, " << bytes << " B, " << proto << ": " << v.message;
            }
          }
        }
      }
    }
  }
}

TEST(Nvls, TheSwitchIsAParticipantAndOnlyWhereItCanReduce) {
  const coll::Group g = hosts_of(1, 8, 8);
  const auto plan = coll::make_plan(coll::Collective::all_reduce, "nvls", g, 1 << 20, with("Simple"));
  ASSERT_FALSE(plan.reducers.empty());
  EXPECT_EQ(plan.group_ranks(), 8);
  EXPECT_EQ(plan.reducers.front().host, 0);
  // Every rank sends the whole buffer up to the switch once, and its own slice once more for the
  // multicast: a GPU's NVLink carries (1 + 1/8) of the buffer up.
  std::uint64_t up = 0;
  for (const auto& s : plan.ranks[3].steps) {
    if (s.kind == coll::StepKind::send) up += s.bytes();
  }
  EXPECT_EQ(up, (1u << 20) + (1u << 20) / 8);
  // A topology whose GPUs cannot reduce in the switch refuses the plan, naming what would.
  const topo::Topology a100 = topo::topology_from_spec("fat-tree:tiers=2,hosts=1,node=dgx-a100");
  const topo::Router router(a100);
  try {
    analytic::AnalyticBackend backend(plan, router, {});
    ADD_FAILURE() << "an A100 node ran an NVLS plan";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("gpu=h100"), std::string::npos) << e.what();
  }
  EXPECT_THROW(coll::make_plan(coll::Collective::all_reduce, "nvls", hosts_of(2, 8, 8), 1 << 20, {}),
               std::invalid_argument);
  EXPECT_THROW(coll::make_plan(coll::Collective::all_reduce, "nvls", g, 1 << 20, with("LL")),
               std::invalid_argument);
}

TEST(Nvls, DgxH100SingleNodeBusBandwidthFromTheLinks) {
  // Per GPU, 18 NVLinks at NCCL's 20.6 GB/s = 370.8 GB/s each way, of which NVLS reaches 0.85; the
  // plan moves (1 + 1/8) of the buffer over each GPU's link in each direction, so algbw is at most
  // 370.8 x 0.85 / 1.125 = 280.2 GB/s and busbw 7/4 of it, 490.3 GB/s (nccl-tests: about 480).
  const topo::Topology t = topo::topology_from_spec("fat-tree:tiers=2,hosts=1,node=dgx-h100");
  const topo::Router router(t);
  const auto plan = coll::make_plan(coll::Collective::all_reduce, "nvls", coll::Group::from_topology(t),
                                    1ull << 30, with("Simple"));
  const auto p = analytic::predict(plan, router, {});
  const double busbw = static_cast<double>(1ull << 30) / p.time.count() * 7.0 / 4.0 / 1e9;
  EXPECT_LT(busbw, 490.4);
  EXPECT_GT(busbw, 0.9 * 490.3);
}

// For each channel: which local index each host enters and leaves by, read off the plan's sends.
struct Crossings {
  std::map<std::int32_t, std::set<std::int32_t>> out_nics, in_nics;  // channel pair -> NICs of host 0
};

TEST(NcclRing, EveryNicSendsAndReceivesOncePerChannelPair) {
  // 2 hosts x 8 GPUs x 8 NICs, 16 channels: NCCL's 8 search channels (one per NIC) doubled.
  const coll::Group g = hosts_of(2, 8, 8);
  const auto plan =
      coll::make_plan(coll::Collective::all_reduce, "nccl-ring", g, 64ull << 20, with("Simple"));
  EXPECT_EQ(plan.channels, 16);
  // Host 0's ranks sending off the host, counted per destination rank: over 16 channels every local
  // GPU leaves the host for exactly 2 channels (8 NICs x 2), and lands on the same local index.
  std::map<std::int32_t, std::set<std::int32_t>> peers_of;
  for (std::int32_t r = 0; r < 8; ++r) {
    for (const auto& s : plan.ranks[r].steps) {
      if (s.kind == coll::StepKind::send && g.host_of(s.peer) != 0) peers_of[r].insert(s.peer);
    }
  }
  ASSERT_EQ(peers_of.size(), 8u) << "every NIC of host 0 carries traffic off the host";
  for (const auto& [r, peers] : peers_of) {
    EXPECT_EQ(peers, std::set<std::int32_t>{r + 8}) << "rank " << r << " leaves on its own rail";
  }
}

TEST(NcclRing, HostToHostHopsStayOnOneRailOnTheRoutedPaths) {
  const topo::Topology t = topo::topology_from_spec("rail:hosts=4,hosts_per_leaf=2,node=dgx-h100");
  const topo::Router router(t);
  const coll::Group g = coll::Group::from_topology(t);
  const auto plan =
      coll::make_plan(coll::Collective::all_reduce, "nccl-ring", g, 64ull << 20, with("Simple"));
  std::size_t crossings = 0;
  for (std::int32_t r = 0; r < g.ranks; ++r) {
    for (const auto& s : plan.ranks[r].steps) {
      if (s.kind != coll::StepKind::send || g.host_of(s.peer) == g.host_of(r)) continue;
      ++crossings;
      // Leaves and NICs on the path all belong to the sender's rail (spines belong to none).
      std::set<std::int32_t> rails;
      for (const auto& hop : router.rank_path(r, s.peer, topo::rank_pair_flow(r, s.peer), 0)) {
        for (topo::NodeId n : {t.links[hop.link].a, t.links[hop.link].b}) {
          if (t.nodes[n].rail != topo::kNone) rails.insert(t.nodes[n].rail);
        }
      }
      EXPECT_EQ(rails, std::set<std::int32_t>{t.nodes[t.ranks[r].nic].rail})
          << "rank " << r << " -> " << s.peer << " crosses rails";
    }
  }
  EXPECT_GT(crossings, 0u);
}

TEST(NcclRing, ChannelsShrinkForSmallMessagesAsNcclDoes) {
  // enqueue.cc: drop a channel while bytes < nc x threads x threshold. Simple: 512 threads x 64 B =
  // 32 KiB per channel, so 256 KiB runs on 8 of 16 channels; LL's ring threshold scales with the
  // 16 ranks: 512 x 8 x 16 = 64 KiB per channel, so 256 KiB runs on 4.
  using coll::nccl::Algo;
  using coll::nccl::Proto;
  EXPECT_EQ(coll::nccl::channels_for_size(Algo::ring, Proto::simple, 16, 256 << 10, 16), 8);
  EXPECT_EQ(coll::nccl::channels_for_size(Algo::ring, Proto::ll, 16, 256 << 10, 16), 4);
  EXPECT_EQ(coll::nccl::channels_for_size(Algo::ring, Proto::simple, 16, 8, 16), 1);
  EXPECT_EQ(coll::nccl::channels_for_size(Algo::ring, Proto::simple, 16, 1ull << 30, 16), 16);
  EXPECT_EQ(coll::nccl::default_channels(8), 16);
  EXPECT_EQ(coll::nccl::default_channels(4), 8);
}

TEST(NcclRing, ProtocolsPutTheirFramingOnTheWireAndChargeTheirLatency) {
  const coll::Protocol ll = coll::nccl::protocol_costs(coll::nccl::Algo::ring, coll::nccl::Proto::ll, 2);
  backend::EndpointCosts e;
  // LL: 8 B of data per 16 B line; NET hop 2.7 us of which the path's own 3 us latency is already all.
  const auto net = backend::message_cost(ll, 1000, true, Seconds(1e-6), e);
  EXPECT_EQ(net.wire_bytes, 2000u);
  EXPECT_NEAR(net.fixed.count(), 1.7e-6, 1e-12);
  EXPECT_EQ(backend::message_cost(ll, 1000, true, Seconds(3e-6), e).fixed.count(), 0.0);
  // Multi-node: an NVLink hop costs max(0.6, netOverhead 1.0) us.
  EXPECT_NEAR(ll.intra_hop.count(), 1.0e-6, 1e-12);
  EXPECT_NEAR(ll.call.count(), 6.6e-6, 1e-12);
  // A plan without a protocol pays the endpoint's per-message cost, its bytes as they are.
  const auto plain = backend::message_cost(coll::Protocol{}, 1000, true, Seconds(3e-6), e);
  EXPECT_EQ(plain.wire_bytes, 1000u);
  EXPECT_EQ(plain.fixed, e.per_message);
}

TEST(NcclTuner, TwoDgxH100NodesWorkedByHand) {
  const topo::Topology t = topo::topology_from_spec("rail:hosts=2,hosts_per_leaf=2,node=dgx-h100");
  const auto sys = experiment::nccl_system(t, coll::Group::from_topology(t));
  EXPECT_EQ(sys.nodes, 2);
  EXPECT_EQ(sys.search_channels, 8);
  EXPECT_DOUBLE_EQ(sys.channel_bw, 48.0);  // NDR 50 GB/s, PCIe Gen5 48 as NCCL counts it: sm90 list
  using coll::nccl::Algo;
  using coll::nccl::Proto;
  // Ring/Simple at 8 GiB: busBw 8 x 48 = 384, algBw 384 x 16/30 = 204.8 GB/s; latency 8.4 + 28 x
  // max(3.4, 3) + 2 x 14 = 131.6 us, x1.4 for the multi-node plateau = 184.24 us.
  const double big = 8589934592.0;
  EXPECT_NEAR(experiment::nccl_model_time_us(sys, Algo::ring, Proto::simple, 8589934592ull),
              184.24 + big / (1000 * 204.8), 0.01);
  // Ring/LL at 8 B: 6.6 + 28 x max(0.6, 1.0) + 2 x 2.7 = 40 us, and NCCL picks LL there.
  const auto small = experiment::nccl_choose(sys, {Algo::ring}, {Proto::ll, Proto::ll128, Proto::simple}, 8);
  EXPECT_EQ(small.proto, Proto::ll);
  EXPECT_NEAR(small.model_time_us, 40.0, 0.01);
  EXPECT_EQ(
      experiment::nccl_choose(sys, {Algo::ring}, {Proto::ll, Proto::ll128, Proto::simple}, 8589934592ull)
          .proto,
      Proto::simple);
}

TEST(NcclTuner, LlAndLl128AreCappedPerChannelAsNcclsTablesSay) {
  using coll::nccl::Algo;
  using coll::nccl::Proto;
  // 2 x DGX A100: search 8 x 24 GB/s. Tree: min(192 x 0.92, 8 x 23.6) = 176.64; LL: min(176.64 / 3.8,
  // llMaxBw 39 for 2 Intel nodes) = 39, algBw 19.5 GB/s: 19.5 on a call's single channel, 19.5/16 on 16.
  const topo::Topology a = topo::topology_from_spec("fat-tree:tiers=2,hosts=2,node=dgx-a100");
  const auto a100 = experiment::nccl_system(a, coll::Group::from_topology(a));
  EXPECT_DOUBLE_EQ(a100.channel_bw, 24.0);
  EXPECT_NEAR(experiment::nccl_channel_rate_gbps(a100, Algo::tree, Proto::ll, 1), 19.5, 1e-9);
  EXPECT_NEAR(experiment::nccl_channel_rate_gbps(a100, Algo::tree, Proto::ll, 16), 19.5 / 16, 1e-9);
  // 2 x DGX H100 ring LL128: min(384 x 0.92, 8 x 36.7) = 293.6 GB/s of bus bandwidth over 16 channels.
  const topo::Topology h = topo::topology_from_spec("rail:hosts=2,hosts_per_leaf=2,node=dgx-h100");
  const auto h100 = experiment::nccl_system(h, coll::Group::from_topology(h));
  EXPECT_NEAR(experiment::nccl_channel_rate_gbps(h100, Algo::ring, Proto::ll128, 16), 293.6 / 16, 1e-9);
  EXPECT_EQ(experiment::nccl_channel_rate_gbps(h100, Algo::ring, Proto::simple, 16), 0.0);
  // A transfer of its channel takes at least payload / rate.
  coll::Protocol p = coll::nccl::protocol_costs(Algo::ring, Proto::ll128, 2);
  p.channel_rate = BitsPerSecond(8e9);  // 1 GB/s
  EXPECT_NEAR(backend::message_cost(p, 1000000, true, Seconds(0), {}).least.count(), 1e-3, 1e-12);
}

TEST(NodeModel, PresetsSetTheNodeAndExplicitKeysOverrideThem) {
  const topo::Topology t = topo::topology_from_spec("fat-tree:tiers=2,hosts=2,node=dgx-a100,nics=4");
  EXPECT_EQ(t.gpu, "a100");
  EXPECT_EQ(t.rank_count(), 16);
  // GPUs 2i and 2i+1 share NIC i; NICs run at the preset's HDR 200 Gb/s.
  EXPECT_EQ(t.nodes[t.ranks[3].nic].local, 1);
  EXPECT_EQ(t.nodes[t.ranks[3].nic].host, 0);
  std::set<topo::NodeId> nics;
  for (const auto& r : t.ranks) nics.insert(r.nic);
  EXPECT_EQ(nics.size(), 8u);
  for (const auto& l : t.links) {
    if (l.layer == topo::LinkLayer::nvlink) {
      EXPECT_DOUBLE_EQ(l.bandwidth.count(), 12 * 20.0 * 8e9);
    }
    if (l.layer == topo::LinkLayer::infiniband) {
      EXPECT_DOUBLE_EQ(l.bandwidth.count(), 200e9);
    }
  }
  const topo::Topology h =
      topo::topology_from_spec("rail:hosts=2,hosts_per_leaf=2,node=dgx-h100,speed=200Gbps");
  EXPECT_EQ(h.gpu, "h100");
  for (const auto& l : h.links) {
    if (l.layer == topo::LinkLayer::infiniband) {
      EXPECT_DOUBLE_EQ(l.bandwidth.count(), 200e9);
    }
  }
  // The GPU model survives a round trip through the topology file format.
  EXPECT_EQ(topo::topology_from_json(topo::to_json(t), "t.json").gpu, "a100");
}

TEST(NodeModel, UnknownNamesAndUnevenNicsSayWhatIsAccepted) {
  auto error = [](const std::string& spec) {
    try {
      topo::topology_from_spec(spec);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error("rail:hosts=2,node=dgx-z").find("dgx-h100"), std::string::npos);
  EXPECT_NE(error("rail:hosts=2,gpu=k80").find("h100"), std::string::npos);
  EXPECT_NE(error("rail:hosts=2,gpus=8,nics=3").find("must divide"), std::string::npos);
  EXPECT_NE(error("rail:hosts=2,gpus=8,nics=16").find("more NICs than GPUs"), std::string::npos);
}

TEST(NcclRing, RoundFormCarriesEveryChannelAtClusterScale) {
  const coll::Group g = hosts_of(128, 8, 8);
  const auto rp =
      coll::make_round_plan(coll::Collective::all_reduce, "nccl-ring", g, 1ull << 30, with("Simple"));
  EXPECT_EQ(rp.channels, 16);
  ASSERT_EQ(rp.phases.size(), 3u);
  EXPECT_EQ(rp.phases[1].flows.size(), 16u * 1024u);
  EXPECT_EQ(rp.phases[1].repeat, 1023u);
  EXPECT_EQ(rp.protocol.name, "Simple");
}

}  // namespace
}  // namespace fabtwin
