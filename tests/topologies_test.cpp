#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include "fabtwin/topo/generators.hpp"
#include "fabtwin/topo/io.hpp"
#include "fabtwin/topo/metrics.hpp"
#include "fabtwin/topo/routing.hpp"
#include "fabtwin/topo/topology.hpp"
#include "fabtwin/topo/wire.hpp"

namespace fabtwin::topo {
namespace {

const std::string kSource = FABTWIN_SOURCE_DIR;
const std::string kExamples = kSource + "/topologies/examples/";
const std::string kBadFiles = kSource + "/tests/data/topologies/";

NodeId by_name(const Topology& t, const std::string& name) {
  for (const Node& n : t.nodes) {
    if (n.name == name) return n.id;
  }
  throw std::out_of_range("no node named " + name);
}

std::string error_of_spec(const std::string& spec) {
  try {
    topology_from_spec(spec);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

std::string error_of_file(const std::string& path) {
  try {
    read_topology_file(path);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

bool has_layer(const Topology& t, const Path& p, LinkLayer layer) {
  for (const Hop& h : p) {
    if (t.links.at(h.link).layer == layer) return true;
  }
  return false;
}

// Walks the hops and checks they chain from `src` to `dst`.
void expect_connected(const Topology& t, const Path& p, NodeId src, NodeId dst) {
  NodeId at = src;
  for (const Hop& h : p) {
    const Link& l = t.links.at(h.link);
    ASSERT_EQ(h.forward ? l.a : l.b, at);
    at = h.forward ? l.b : l.a;
  }
  EXPECT_EQ(at, dst);
}

void expect_same_topology(const Topology& x, const Topology& y) {
  EXPECT_EQ(x.name, y.name);
  ASSERT_EQ(x.nodes.size(), y.nodes.size());
  for (std::size_t i = 0; i < x.nodes.size(); ++i) {
    const Node& a = x.nodes[i];
    const Node& b = y.nodes[i];
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.host, b.host);
    EXPECT_EQ(a.local, b.local);
    EXPECT_EQ(a.tier, b.tier);
    EXPECT_EQ(a.rail, b.rail);
    EXPECT_EQ(a.plane, b.plane);
  }
  ASSERT_EQ(x.links.size(), y.links.size());
  for (std::size_t i = 0; i < x.links.size(); ++i) {
    const Link& a = x.links[i];
    const Link& b = y.links[i];
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.a, b.a);
    EXPECT_EQ(a.b, b.b);
    EXPECT_EQ(a.bandwidth.count(), b.bandwidth.count());  // exact: the file must not round
    EXPECT_EQ(a.latency.count(), b.latency.count());
    EXPECT_EQ(a.mtu.count(), b.mtu.count());
    EXPECT_EQ(a.layer, b.layer);
  }
  ASSERT_EQ(x.ranks.size(), y.ranks.size());
  for (std::size_t i = 0; i < x.ranks.size(); ++i) {
    EXPECT_EQ(x.ranks[i].rank, y.ranks[i].rank);
    EXPECT_EQ(x.ranks[i].gpu, y.ranks[i].gpu);
    EXPECT_EQ(x.ranks[i].nic, y.ranks[i].nic);
  }
}

// --- k-ary fat-tree ------------------------------------------------------------------------------

class KaryFatTree : public ::testing::TestWithParam<int> {};

TEST_P(KaryFatTree, CountsDiameterAndBisection) {
  const int k = GetParam();
  const Topology t = topology_from_spec("fat-tree:k=" + std::to_string(k));
  const Summary s = summarize(t);
  EXPECT_EQ(s.name, "fat-tree:k=" + std::to_string(k));
  EXPECT_EQ(s.nics, k * k * k / 4);
  EXPECT_EQ(s.hosts, k * k * k / 4);
  EXPECT_EQ(s.gpus, k * k * k / 4);
  EXPECT_EQ(s.nvswitches, 0);
  EXPECT_EQ(s.switches, 5 * k * k / 4);
  EXPECT_EQ(s.switches_per_tier, (std::vector<std::int32_t>{k * k / 2, k * k / 2, k * k / 4}));
  // One PCIe link per GPU; network: k^3/4 NIC links + k^3/4 edge-agg + k^3/4 agg-core.
  EXPECT_EQ(s.links_per_layer.at("pcie"), k * k * k / 4);
  EXPECT_EQ(s.links_per_layer.at("roce"), 3 * k * k * k / 4);
  EXPECT_EQ(s.diameter_hops, 6);
  EXPECT_EQ(s.farthest_pair_paths, static_cast<std::uint64_t>((k / 2) * (k / 2)));
  EXPECT_EQ(s.unreachable_nic_pairs, 0u);
  EXPECT_DOUBLE_EQ(s.bisection_bandwidth.count(), k * k * k / 8 * 400e9);
  ASSERT_EQ(s.oversubscription.size(), 2u);
  EXPECT_DOUBLE_EQ(s.oversubscription[0].ratio, 1.0);
  EXPECT_DOUBLE_EQ(s.oversubscription[1].ratio, 1.0);
}

TEST_P(KaryFatTree, EdgeOversubscriptionHalvesUplinksAndBisection) {
  const int k = GetParam();
  const Summary full = summarize(topology_from_spec("fat-tree:k=" + std::to_string(k)));
  const Summary thin = summarize(topology_from_spec("fat-tree:k=" + std::to_string(k) + ",oversub=2"));
  // Half the aggregation switches per pod, and half the cores: k^2/2 + k^2/4 + k^2/8.
  EXPECT_EQ(thin.switches, k * k / 2 + k * k / 4 + k * k / 8);
  EXPECT_EQ(thin.unreachable_nic_pairs, 0u);
  // Edge-agg and agg-core links both halve (aggregation keeps a 1:1 ratio).
  EXPECT_EQ(thin.links_per_layer.at("roce"), k * k * k / 4 + 2 * (k * k * k / 8));
  EXPECT_DOUBLE_EQ(thin.bisection_bandwidth.count(), full.bisection_bandwidth.count() / 2);
  EXPECT_DOUBLE_EQ(thin.bisection_bandwidth.count(), k * k * k / 16 * 400e9);
  ASSERT_EQ(thin.oversubscription.size(), 2u);
  EXPECT_EQ(thin.oversubscription[0].tier, 1);
  EXPECT_DOUBLE_EQ(thin.oversubscription[0].ratio, 2.0);
  EXPECT_DOUBLE_EQ(thin.oversubscription[1].ratio, 1.0);
  EXPECT_EQ(thin.diameter_hops, 6);
}

INSTANTIATE_TEST_SUITE_P(K, KaryFatTree, ::testing::Values(4, 8));

TEST(FatTree, AggregationOversubscription) {
  const Summary s = summarize(topology_from_spec("fat-tree:k=8,oversub2=2"));
  ASSERT_EQ(s.oversubscription.size(), 2u);
  EXPECT_DOUBLE_EQ(s.oversubscription[0].ratio, 1.0);
  EXPECT_DOUBLE_EQ(s.oversubscription[1].ratio, 2.0);
  // Half the core uplinks: the pod-to-pod cut is 128 agg-core links / 2 per half.
  EXPECT_DOUBLE_EQ(s.bisection_bandwidth.count(), 32 * 400e9);
}

TEST(FatTree, NamesAndPlacement) {
  const Topology t = topology_from_spec("fat-tree:k=4,gpus=2");
  EXPECT_EQ(t.host_count(), 8);
  EXPECT_EQ(t.rank_count(), 16);
  const NodeId gpu = by_name(t, "h3.gpu1");
  EXPECT_EQ(t.nodes[gpu].host, 3);
  EXPECT_EQ(t.nodes[gpu].local, 1);
  EXPECT_EQ(t.ranks[7].gpu, gpu);
  EXPECT_EQ(t.ranks[7].nic, by_name(t, "h3.nic1"));
  EXPECT_EQ(t.host_of_rank(7), 3);
  EXPECT_EQ(t.local_index_of_rank(7), 1);
  EXPECT_EQ(t.ranks_on_host(3), (std::vector<std::int32_t>{6, 7}));
  EXPECT_EQ(t.nodes[by_name(t, "h3.nvs")].kind, NodeKind::nvswitch);
  EXPECT_EQ(t.nodes[by_name(t, "core3")].tier, 3);
  EXPECT_EQ(t.nodes[by_name(t, "pod1.agg0")].tier, 2);
  for (std::size_t i = 0; i < t.nodes.size(); ++i) EXPECT_EQ(t.nodes[i].id, i);
  // Both NICs of host 0 share edge switch pod0.edge0 (consecutive ports).
  const Adjacency adj(t);
  const NodeId edge = by_name(t, "pod0.edge0");
  std::set<NodeId> peers;
  for (const auto& e : adj.out[edge]) peers.insert(e.peer);
  EXPECT_TRUE(peers.count(by_name(t, "h0.nic0")));
  EXPECT_TRUE(peers.count(by_name(t, "h0.nic1")));
}

TEST(FatTree, PlanesAreIndependentCopies) {
  const Topology t = topology_from_spec("fat-tree:k=4,gpus=2,planes=2");
  const Summary s = summarize(t);
  EXPECT_EQ(s.nics, 32);
  EXPECT_EQ(s.hosts, 16);
  EXPECT_EQ(s.switches, 40);
  EXPECT_EQ(t.nodes[by_name(t, "h5.nic1")].plane, 1);
  EXPECT_EQ(t.nodes[by_name(t, "p1.core0")].plane, 1);
  EXPECT_EQ(s.diameter_hops, 6);
  EXPECT_EQ(s.unreachable_nic_pairs, 16u * 16u);
  EXPECT_DOUBLE_EQ(s.bisection_bandwidth.count(), 16 * 400e9);
  EXPECT_NE(to_text(s).find("unreachable"), std::string::npos);
}

TEST(FatTree, LargeFabricSummarizes) {
  const Summary s = summarize(topology_from_spec("fat-tree:k=16"));
  EXPECT_EQ(s.nics, 1024);
  EXPECT_EQ(s.switches, 320);
  EXPECT_EQ(s.diameter_hops, 6);
  EXPECT_EQ(s.farthest_pair_paths, 64u);
  EXPECT_DOUBLE_EQ(s.bisection_bandwidth.count(), 512 * 400e9);
}

// --- leaf-spine ----------------------------------------------------------------------------------

TEST(LeafSpine, OversubscriptionHalvesUplinksAndBisection) {
  const Summary full = summarize(topology_from_spec("fat-tree:tiers=2,hosts=16,hosts_per_leaf=4"));
  const Summary thin = summarize(topology_from_spec("fat-tree:tiers=2,hosts=16,hosts_per_leaf=4,oversub=2"));
  EXPECT_EQ(full.switches_per_tier, (std::vector<std::int32_t>{4, 4}));
  EXPECT_EQ(thin.switches_per_tier, (std::vector<std::int32_t>{4, 2}));
  EXPECT_EQ(full.links_per_layer.at("roce"), 16 + 16);
  EXPECT_EQ(thin.links_per_layer.at("roce"), 16 + 8);
  EXPECT_DOUBLE_EQ(full.bisection_bandwidth.count(), 8 * 400e9);
  EXPECT_DOUBLE_EQ(thin.bisection_bandwidth.count(), 4 * 400e9);
  ASSERT_EQ(thin.oversubscription.size(), 1u);
  EXPECT_DOUBLE_EQ(thin.oversubscription[0].ratio, 2.0);
  EXPECT_EQ(full.diameter_hops, 4);
  EXPECT_EQ(full.farthest_pair_paths, 4u);
}

TEST(LeafSpine, DefaultsAndSettings) {
  // 64 hosts x 8 NICs: a 32-port leaf holds 4 hosts, so 16 leaves and 32 spines.
  const Topology t =
      topology_from_spec("fat-tree:tiers=2,hosts=64,gpus=8,speed=200Gbps,layer=ib,latency=2us,mtu=2K");
  const Summary s = summarize(t);
  EXPECT_EQ(s.switches_per_tier, (std::vector<std::int32_t>{16, 32}));
  EXPECT_EQ(s.links_per_layer.at("ib"), 512 + 16 * 32);
  EXPECT_EQ(s.links_per_layer.at("nvlink"), 512);
  EXPECT_EQ(s.nvswitches, 64);
  const Link& net = t.links.back();
  EXPECT_EQ(net.bandwidth.count(), 200e9);
  EXPECT_EQ(net.latency.count(), 2e-6);
  EXPECT_EQ(net.mtu.count(), 2048u);
  EXPECT_EQ(t.name, "fat-tree:tiers=2,hosts=64,gpus=8,speed=200Gbps,layer=ib,latency=2us,mtu=2K");
  EXPECT_EQ(summarize(topology_from_spec("leaf-spine:hosts=8")).switches_per_tier,
            (std::vector<std::int32_t>{1}));
}

// --- rail-optimized ------------------------------------------------------------------------------

TEST(Rail, DefaultScenarioCounts) {
  const Topology t = topology_from_spec(kDefaultTopologySpec);
  const Summary s = summarize(t);
  EXPECT_EQ(s.hosts, 16);
  EXPECT_EQ(s.gpus, 128);
  EXPECT_EQ(s.nics, 128);
  EXPECT_EQ(s.nvswitches, 16);
  EXPECT_EQ(s.switches_per_tier, (std::vector<std::int32_t>{8, 16}));
  EXPECT_EQ(s.links_per_layer.at("ib"), 128 + 8 * 16);  // DGX H100: ConnectX-7 NDR
  EXPECT_EQ(t.gpu, "h100");
  EXPECT_EQ(s.links_per_layer.at("pcie"), 128);
  EXPECT_EQ(s.links_per_layer.at("nvlink"), 128);
  EXPECT_DOUBLE_EQ(s.bisection_bandwidth.count(), 64 * 400e9);
  EXPECT_EQ(s.diameter_hops, 4);  // rail r leaf -> spine -> rail r' leaf
  EXPECT_EQ(s.farthest_pair_paths, 16u);
  EXPECT_EQ(t.nodes[by_name(t, "h2.nic5")].rail, 5);
  EXPECT_EQ(t.nodes[by_name(t, "rail5.leaf0")].rail, 5);
}

TEST(Rail, OnlyRailsHaveNoSpinesAndCrossRailGoesOverNvlink) {
  const Topology t = topology_from_spec("rail-only:hosts=16,gpus=8,hosts_per_leaf=16");
  const Summary s = summarize(t);
  EXPECT_EQ(s.switches, 8);
  EXPECT_EQ(s.switches_per_tier, (std::vector<std::int32_t>{8}));
  EXPECT_EQ(s.diameter_hops, 2);
  EXPECT_EQ(s.unreachable_nic_pairs, 128u * 112u / 2);
  EXPECT_TRUE(s.oversubscription.empty());

  const Router router(t);
  // rank 0 = h0.gpu0 (rail 0), rank 9 = h1.gpu1 (rail 1): the only way across is an NVSwitch hop.
  for (std::uint64_t flow = 0; flow < 16; ++flow) {
    const Path p = router.rank_path(0, 9, flow, 1);
    EXPECT_EQ(p.size(), 6u);
    EXPECT_TRUE(has_layer(t, p, LinkLayer::nvlink));
    expect_connected(t, p, t.ranks[0].gpu, t.ranks[9].gpu);
  }
  // Same rail on different hosts stays in the network.
  const Path same_rail = router.rank_path(0, 8, 0, 1);
  EXPECT_EQ(same_rail.size(), 4u);
  EXPECT_FALSE(has_layer(t, same_rail, LinkLayer::nvlink));
}

TEST(Rail, OnlyWithSeveralLeavesPerRailGetsPerRailSpines) {
  const Topology t = topology_from_spec("rail-only:hosts=32,gpus=8,hosts_per_leaf=16,oversub=2");
  const Summary s = summarize(t);
  EXPECT_EQ(s.switches_per_tier, (std::vector<std::int32_t>{16, 64}));
  EXPECT_EQ(t.nodes[by_name(t, "rail3.spine7")].rail, 3);
  EXPECT_EQ(s.diameter_hops, 4);
  ASSERT_EQ(s.oversubscription.size(), 1u);
  EXPECT_DOUBLE_EQ(s.oversubscription[0].ratio, 2.0);
  EXPECT_EQ(s.unreachable_nic_pairs, 256u * 224u / 2);
}

TEST(Rail, SeveralLeavesPerRailShareSpines) {
  const Summary s = summarize(topology_from_spec("rail:hosts=32,gpus=4,hosts_per_leaf=8,oversub=2"));
  // 4 rails x 4 groups of leaves; 8/2 = 4 spines, each linked to all 16 leaves.
  EXPECT_EQ(s.switches_per_tier, (std::vector<std::int32_t>{16, 4}));
  EXPECT_EQ(s.links_per_layer.at("roce"), 128 + 16 * 4);
  EXPECT_DOUBLE_EQ(s.bisection_bandwidth.count(), 32 * 400e9);
}

// --- specs ---------------------------------------------------------------------------------------

TEST(Spec, ErrorsNameTheKey) {
  const struct {
    const char* spec;
    const char* expected;
  } cases[] = {
      {"torus:k=4", "unknown preset \"torus\""},
      {"fat-tree:k=4,colour=blue", "colour"},
      {"fat-tree:k=5", "k must be an even"},
      {"fat-tree:k=8,oversub=3", "oversub"},
      {"fat-tree:k=8,oversub2=3", "oversub2"},
      {"fat-tree:k=four", "key k"},
      {"fat-tree:k=4,gpus=3", "gpus"},
      {"fat-tree:tiers=2", "hosts"},
      {"fat-tree:tiers=4,k=4", "tiers"},
      {"fat-tree", "missing key k"},
      {"fat-tree:k=4,k=8", "twice"},
      {"fat-tree:k=4,speed=fast", "key speed"},
      {"fat-tree:k=4,layer=ethernet", "key layer"},
      {"fat-tree:k=4,hosts_per_leaf=2", "hosts_per_leaf"},
      {"fat-tree:tiers=2,hosts=16,hosts_per_leaf=3", "hosts_per_leaf"},
      {"fat-tree:tiers=2,hosts=16,hosts_per_leaf=4,oversub=3", "oversub"},
      {"rail:hosts=16,gpus=8,hosts_per_leaf=5", "hosts_per_leaf"},
      {"rail:gpus=8", "missing key hosts"},
      {"rail:hosts=16,gpus=8,k=4", "\"k\""},
      {"rail:hosts=16,gpus=6,planes=4", "planes"},
      {"fat-tree:k=4,oversub", "key=value"},
      {"missing-file.json", "cannot open"},
  };
  for (const auto& c : cases) {
    const std::string msg = error_of_spec(c.spec);
    EXPECT_NE(msg.find(c.expected), std::string::npos) << c.spec << " -> " << msg;
    if (std::string(c.spec).find(".json") == std::string::npos) {
      EXPECT_NE(msg.find(c.spec), std::string::npos) << "message should quote the spec: " << msg;
    }
  }
}

TEST(Spec, JsonFileKeepsSpecAsName) {
  const std::string path = kExamples + "two_leaf_two_spine.json";
  const Topology t = topology_from_spec(path);
  EXPECT_EQ(t.name, path);
  EXPECT_EQ(t.nodes.size(), 12u);
}

// --- files ---------------------------------------------------------------------------------------

TEST(Files, HandWrittenTwoLeafTwoSpine) {
  const Topology t = read_topology_file(kExamples + "two_leaf_two_spine.json");
  EXPECT_EQ(t.name, "two-leaf-two-spine");
  const Summary s = summarize(t);
  EXPECT_EQ(s.hosts, 4);
  EXPECT_EQ(s.switches_per_tier, (std::vector<std::int32_t>{2, 2}));
  EXPECT_EQ(s.links_per_layer.at("roce"), 8);
  EXPECT_EQ(s.links_per_layer.at("pcie"), 4);
  EXPECT_EQ(s.link_speeds, (std::vector<BitsPerSecond>{BitsPerSecond(400e9), BitsPerSecond(512e9)}));
  EXPECT_DOUBLE_EQ(s.bisection_bandwidth.count(), 800e9);
  EXPECT_EQ(s.diameter_hops, 4);
  EXPECT_EQ(s.farthest_pair_paths, 2u);
  // Defaults for fields the file leaves out.
  const Link& nic_link = t.links[4];
  EXPECT_EQ(nic_link.latency.count(), 1e-6);
  EXPECT_EQ(nic_link.mtu.count(), 4096u);
  EXPECT_EQ(nic_link.layer, LinkLayer::roce);
  EXPECT_EQ(t.links[0].latency.count(), 500e-9);
}

TEST(Files, TwoHostsFourGpusMakesRanksHostMajor) {
  const Topology t = read_topology_file(kExamples + "two_hosts_four_gpus.json");
  ASSERT_EQ(t.rank_count(), 8);
  EXPECT_EQ(t.ranks[5].gpu, by_name(t, "h1.gpu1"));
  EXPECT_EQ(t.ranks[5].nic, by_name(t, "h1.nic1"));
  const Summary s = summarize(t);
  EXPECT_EQ(s.nvswitches, 2);
  EXPECT_EQ(s.links_per_layer.at("ib"), 8);
  EXPECT_EQ(s.links_per_layer.at("nvlink"), 8);
  EXPECT_EQ(s.link_speeds.back().count(), 3600e9);  // "450GB/s"
  EXPECT_DOUBLE_EQ(s.bisection_bandwidth.count(), 4 * 200e9);
  EXPECT_EQ(s.diameter_hops, 2);

  const Router router(t);
  EXPECT_EQ(router.rank_path(0, 4, 0, 0).size(), 4u);  // same local index: straight through the leaf
  EXPECT_EQ(router.rank_path(0, 2, 0, 0).size(), 2u);  // same host: GPU -> NVSwitch -> GPU
  EXPECT_TRUE(has_layer(t, router.rank_path(0, 2, 0, 0), LinkLayer::nvlink));
  EXPECT_TRUE(router.rank_path(3, 3, 0, 0).empty());
}

TEST(Files, JsonRoundTripIsExact) {
  for (const char* spec :
       {"fat-tree:k=4,gpus=2,planes=2,latency=1.3us", "rail:hosts=8,gpus=4,hosts_per_leaf=4",
        "rail-only:hosts=4,gpus=2,layer=ib,speed=12.5Gbps"}) {
    const Topology t = topology_from_spec(spec);
    expect_same_topology(t, topology_from_json(to_json(t), "memory"));
    const auto path = std::filesystem::temp_directory_path() / "fabtwin_topologies_test_roundtrip.json";
    write_topology_file(t, path.string());
    expect_same_topology(t, read_topology_file(path.string()));
    std::filesystem::remove(path);
  }
  const Topology hand = read_topology_file(kExamples + "two_hosts_four_gpus.json");
  expect_same_topology(hand, topology_from_json(to_json(hand), "memory"));
}

// The strictness requirement, case by case: every error names the file, the JSON path of the
// offending field and what would have been accepted.
TEST(Files, BadFilesNameFileAndField) {
  const struct {
    const char* file;
    const char* json_path;
    std::vector<const char*> expected;
  } cases[] = {
      {"truncated.json", "(document)", {"invalid JSON", "line"}},
      {"unknown_node.json",
       "links[3].b",
       {"unknown node \"spine9\"", "must be the name of an entry in \"nodes\""}},
      {"missing_field.json",
       "nodes[2].kind",
       {"missing required field", "one of gpu, nic, nvswitch, switch"}},
      {"wrong_format.json", "format", {"fabtwin-plan", "expected \"fabtwin-topology\""}},
      {"duplicate_name.json", "nodes[3].name", {"duplicate node name \"leaf0\"", "names must be unique"}},
      {"duplicate_rank.json",
       "ranks[1].rank",
       {"duplicate rank 0", "already listed at ranks[0]", "exactly once"}},
      {"unknown_key.json",
       "links[2].speed",
       {"unknown field", "accepted: a, b, bandwidth, latency, mtu, layer"}},
      {"zero_bandwidth.json", "links[2].bandwidth", {"expected a positive rate", "found 0"}},
      {"negative_bandwidth.json", "links[3].bandwidth", {"expected a positive rate", "found \"-400Gbps\""}},
      {"disconnected.json",
       "nodes",
       {"fabric is disconnected: \"h3.gpu0\" (rank 3) cannot reach \"h0.gpu0\" (rank 0)",
        "expected every rank's GPU to reach every other rank's GPU",
        "add links joining the 3 node(s) connected to \"h3.gpu0\", e.g. \"leaf2\", to the 9 node(s) "
        "connected to \"h0.gpu0\", e.g. \"spine0\""}},
  };
  for (const auto& c : cases) {
    const std::string path = kBadFiles + c.file;
    const std::string msg = error_of_file(path);
    EXPECT_EQ(msg.rfind(path + ": " + c.json_path + ": ", 0), 0u) << c.file << " -> " << msg;
    for (const char* e : c.expected) EXPECT_NE(msg.find(e), std::string::npos) << c.file << " -> " << msg;
  }
  EXPECT_NE(error_of_file(kBadFiles + "does_not_exist.json").find("cannot open"), std::string::npos);
}

TEST(Files, RailOnlyFileIsConnectedThroughNvlink) {
  const Topology t = read_topology_file(kBadFiles + "rail_only_nvlink.json");
  EXPECT_EQ(t.rank_count(), 4);
  const Router router(t);
  EXPECT_TRUE(has_layer(t, router.rank_path(0, 3, 0, 0), LinkLayer::nvlink));
}

TEST(Files, ShippedExamplesLoad) {
  int loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kExamples)) {
    if (entry.path().extension() != ".json") continue;
    EXPECT_NO_THROW(read_topology_file(entry.path().string())) << entry.path();
    ++loaded;
  }
  EXPECT_GE(loaded, 2);
}

// Every preset, written to a file and read back, must come back field for field.
TEST(Files, SaveThenLoadReturnsIdenticalTopologyForEveryPreset) {
  const auto path = std::filesystem::temp_directory_path() / "fabtwin_topologies_test_presets.json";
  for (const char* spec :
       {"fat-tree:k=4,oversub=2", "fat-tree:k=4,gpus=2,planes=2",
        "fat-tree:tiers=2,hosts=16,hosts_per_leaf=4,oversub=2",
        "leaf-spine:hosts=16,gpus=2,hosts_per_leaf=4,planes=2", "rail:hosts=8,gpus=4,hosts_per_leaf=4",
        "rail:hosts=8,gpus=4,hosts_per_leaf=4,planes=2", "rail-only:hosts=8,gpus=4,hosts_per_leaf=4",
        "rail-only:hosts=32,gpus=8,hosts_per_leaf=16,oversub=2", kDefaultTopologySpec}) {
    SCOPED_TRACE(spec);
    const Topology t = topology_from_spec(spec);
    write_topology_file(t, path.string());
    expect_same_topology(t, read_topology_file(path.string()));
  }
  std::filesystem::remove(path);
}

TEST(Files, JsonFieldErrors) {
  nlohmann::json j = to_json(topology_from_spec("fat-tree:k=2"));
  auto error = [](const nlohmann::json& doc) {
    try {
      topology_from_json(doc, "doc.json");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  nlohmann::json v = j;
  v["version"] = 2;
  EXPECT_NE(error(v).find("doc.json: version: unsupported version 2"), std::string::npos) << error(v);
  v = j;
  v["links"][1]["bandwidth"] = "0Gbps";
  EXPECT_NE(error(v).find("doc.json: links[1].bandwidth: invalid rate \"0Gbps\" (below 1 kbit/s"),
            std::string::npos)
      << error(v);
  v = j;
  v["links"][1]["bandwidth"] = "fast";
  EXPECT_NE(error(v).find("doc.json: links[1].bandwidth: invalid rate"), std::string::npos) << error(v);
  for (const nlohmann::json& rate :
       {nlohmann::json(0), nlohmann::json(-5), nlohmann::json(-0.5), nlohmann::json(" -1G"),
        nlohmann::json(true), nlohmann::json(5e-324), nlohmann::json(1e300)}) {
    v = j;
    v["links"][1]["bandwidth"] = rate;
    EXPECT_NE(error(v).find("doc.json: links[1].bandwidth: expected a positive rate"), std::string::npos)
        << error(v);
  }
  v = j;
  v["links"][1].erase("bandwidth");
  EXPECT_NE(error(v).find("doc.json: links[1].bandwidth: missing required field (expected a positive rate"),
            std::string::npos)
      << error(v);
  v = j;
  v["ranks"][0].erase("nic");
  EXPECT_NE(error(v).find("doc.json: ranks[0].nic: missing required field"), std::string::npos) << error(v);
  v = j;
  v["colour"] = "blue";
  EXPECT_NE(error(v).find("doc.json: colour: unknown field (accepted: format,"), std::string::npos)
      << error(v);
  v = j;
  v["nodes"][0]["hots"] = 0;
  EXPECT_NE(error(v).find("doc.json: nodes[0].hots: unknown field"), std::string::npos) << error(v);
  v = j;
  v["ranks"][1]["gpu"] = "h9.gpu0";
  EXPECT_NE(error(v).find("doc.json: ranks[1].gpu: unknown node \"h9.gpu0\""), std::string::npos) << error(v);
  v = j;
  v["nodes"][0]["host"] = "zero";
  EXPECT_NE(error(v).find("nodes[0].host"), std::string::npos) << error(v);
  v = j;
  v["nodes"][0]["kind"] = "router";
  EXPECT_NE(error(v).find("nodes[0].kind: unknown kind \"router\""), std::string::npos) << error(v);
  v = j;
  v["links"][0]["bandwith"] = 1;
  EXPECT_NE(error(v).find("links[0].bandwith: unknown field"), std::string::npos) << error(v);
  v = j;
  v["ranks"][0]["gpu"] = v["ranks"][0]["nic"];
  EXPECT_NE(error(v).find("ranks[0].gpu"), std::string::npos) << error(v);
  v = j;
  v["ranks"][1]["rank"] = 0;
  EXPECT_NE(error(v).find("ranks[1].rank"), std::string::npos) << error(v);
  v = j;
  v["links"][0]["b"] = v["links"][0]["a"];
  EXPECT_NE(error(v).find("links[0]"), std::string::npos) << error(v);
  EXPECT_NE(error(nlohmann::json::array()).find("doc.json: (document): expected an object"),
            std::string::npos);
}

TEST(Files, DotHasClustersTiersAndSpeeds) {
  std::ostringstream out;
  write_dot(topology_from_spec("fat-tree:tiers=2,hosts=4,gpus=2,hosts_per_leaf=2"), out);
  const std::string dot = out.str();
  EXPECT_EQ(dot.rfind("graph ", 0), 0u);
  EXPECT_NE(dot.find("subgraph cluster_host1"), std::string::npos);
  EXPECT_NE(dot.find("rank=same; \"leaf0\""), std::string::npos);
  EXPECT_NE(dot.find("\"h0.nic0\" -- \"leaf0\" [label=\"400Gbps\""), std::string::npos) << dot;
}

// --- validation ----------------------------------------------------------------------------------

TEST(Validate, RejectsBrokenTopologies) {
  const Topology good = topology_from_spec("fat-tree:k=2");
  Topology t = good;
  t.links[0].b = t.links[0].a;
  EXPECT_THROW(validate(t, "x"), std::invalid_argument);
  t = good;
  t.links[2].bandwidth = BitsPerSecond(0);
  EXPECT_THROW(validate(t, "x"), std::invalid_argument);
  t = good;
  t.nodes[3].id = 7;
  EXPECT_THROW(validate(t, "x"), std::invalid_argument);
  t = good;
  t.links[1].a = 999;
  EXPECT_THROW(validate(t, "x"), std::invalid_argument);
  t = good;
  t.ranks[1].gpu = t.ranks[1].nic;
  EXPECT_THROW(validate(t, "x"), std::invalid_argument);
  t = good;
  t.links.pop_back();  // the only core uplink of pod 1
  try {
    validate(t, "cut");
    ADD_FAILURE() << "disconnected fabric accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(
        std::string(e.what()).find("cut: nodes: fabric is disconnected: \"h1.gpu0\" (rank 1) cannot reach "
                                   "\"h0.gpu0\" (rank 0)"),
        std::string::npos)
        << e.what();
  }
  t = good;
  t.ranks[1].rank = 0;
  try {
    validate(t, "origin-name");
    ADD_FAILURE() << "duplicate rank accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind("origin-name: ", 0), 0u);
  }
  EXPECT_NO_THROW(validate(good, "x"));
}

// Connectivity counts NVLink and PCIe: rail-only rails and separate planes meet only inside hosts, and
// generators validate what they build, so each of these would throw if the check were network-only.
TEST(Validate, EveryGeneratorBuildsAConnectedFabric) {
  for (const char* spec :
       {"fat-tree:k=2", "fat-tree:k=4,oversub=2", "fat-tree:k=8,oversub=2,oversub2=2",
        "fat-tree:k=4,gpus=4,planes=4", "fat-tree:tiers=2,hosts=16,hosts_per_leaf=4,oversub=2",
        "leaf-spine:hosts=8", "leaf-spine:hosts=1", "leaf-spine:hosts=16,gpus=2,hosts_per_leaf=4,planes=2",
        kDefaultTopologySpec, "rail:hosts=32,gpus=4,hosts_per_leaf=8,oversub=2",
        "rail:hosts=8,gpus=4,hosts_per_leaf=4,planes=2", "rail-only:hosts=16,gpus=8,hosts_per_leaf=16",
        "rail-only:hosts=32,gpus=8,hosts_per_leaf=16,oversub=2", "rail-only:hosts=4,gpus=1,hosts_per_leaf=2",
        "rail-only:hosts=8,gpus=4,hosts_per_leaf=4,planes=2"}) {
    EXPECT_NO_THROW(topology_from_spec(spec)) << spec << ": " << error_of_spec(spec);
  }
}

TEST(Topology, StringConversionsRoundTrip) {
  for (NodeKind k : {NodeKind::gpu, NodeKind::nic, NodeKind::nvswitch, NodeKind::network_switch}) {
    EXPECT_EQ(node_kind_from_string(to_string(k)), k);
  }
  for (LinkLayer l : {LinkLayer::infiniband, LinkLayer::roce, LinkLayer::nvlink, LinkLayer::pcie}) {
    EXPECT_EQ(link_layer_from_string(to_string(l)), l);
  }
  EXPECT_FALSE(node_kind_from_string("router"));
  EXPECT_FALSE(link_layer_from_string("ethernet"));
}

// --- routing -------------------------------------------------------------------------------------

TEST(Router, FatTreeEcmpIsDeterministicAndSpreads) {
  const Topology t = topology_from_spec("fat-tree:k=4");
  const Router router(t);
  const NodeId src = by_name(t, "h0.nic0");
  const NodeId dst = by_name(t, "h15.nic0");  // pod 3
  EXPECT_EQ(router.distance(src, dst), 6u);
  EXPECT_EQ(router.next_hops(src, dst).size(), 1u);
  const NodeId edge = by_name(t, "pod0.edge0");
  const auto& up = router.next_hops(edge, dst);
  ASSERT_EQ(up.size(), 2u);
  EXPECT_LT(up[0].link, up[1].link);

  std::set<std::vector<LinkId>> distinct;
  for (std::uint64_t flow = 0; flow < 64; ++flow) {
    const Path p = router.path(src, dst, flow, 42);
    ASSERT_EQ(p.size(), 6u);
    expect_connected(t, p, src, dst);
    std::vector<LinkId> links;
    for (const Hop& h : p) links.push_back(h.link);
    distinct.insert(links);
    // Same inputs, same path; a second router over the same topology agrees.
    const Router again(t);
    const Path q = again.path(src, dst, flow, 42);
    ASSERT_EQ(q.size(), p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      EXPECT_EQ(q[i].link, p[i].link);
      EXPECT_EQ(q[i].forward, p[i].forward);
    }
  }
  EXPECT_EQ(distinct.size(), 4u);  // all (k/2)^2 core paths used

  // A different seed reshuffles which flow takes which path.
  int moved = 0;
  for (std::uint64_t flow = 0; flow < 64; ++flow) {
    moved += router.path(src, dst, flow, 42)[2].link != router.path(src, dst, flow, 43)[2].link;
  }
  EXPECT_GT(moved, 0);
}

TEST(Router, RankPathsAndUnreachable) {
  const Topology t = topology_from_spec("fat-tree:k=4,gpus=2");
  const Router router(t);
  const Path local = router.rank_path(0, 1, 0, 0);
  EXPECT_EQ(local.size(), 2u);
  EXPECT_TRUE(has_layer(t, local, LinkLayer::nvlink));
  const Path remote = router.rank_path(0, 15, 3, 0);
  expect_connected(t, remote, t.ranks[0].gpu, t.ranks[15].gpu);
  EXPECT_TRUE(has_layer(t, remote, LinkLayer::roce));

  Topology split = topology_from_spec("fat-tree:k=2");
  split.links.pop_back();  // cut the only core uplink of pod 1
  const Router cut(split);
  try {
    cut.path(by_name(split, "h0.nic0"), by_name(split, "h1.nic0"), 0, 0);
    ADD_FAILURE() << "expected no route";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("h0.nic0"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("h1.nic0"), std::string::npos);
  }
}

}  // namespace
}  // namespace fabtwin::topo

namespace fabtwin::topo {
namespace {

TEST(Wire, RdmaWritesCarryTheirLinkLayersHeaders) {
  // 1 MiB in 256 packets of 4096: 82 bytes of RoCEv2/IPv4 framing each (preamble 8, Ethernet 14,
  // IPv4 20, UDP 8, BTH 12, ICRC 4, FCS 4, gap 12), RETH 16 on the first, immediate 4 on the last.
  const WireCost roce = rdma_write_on_wire(Bytes(1 << 20), Bytes(4096), LinkLayer::roce);
  EXPECT_EQ(roce.packets, 256u);
  EXPECT_EQ(roce.bytes.count(), (1u << 20) + 256u * 82 + 20);
  // InfiniBand: LRH 8, BTH 12, ICRC 4, VCRC 2.
  EXPECT_EQ(rdma_write_on_wire(Bytes(1 << 20), Bytes(4096), LinkLayer::infiniband).bytes.count(),
            (1u << 20) + 256u * 26 + 20);
  EXPECT_EQ(rdma_write_on_wire(Bytes(4097), Bytes(4096), LinkLayer::roce).packets, 2u);
  const WireCost empty = rdma_write_on_wire(Bytes(0), Bytes(4096), LinkLayer::roce);
  EXPECT_EQ(empty.packets, 1u);  // a zero-byte write still sends one packet
  EXPECT_EQ(empty.bytes.count(), 82u + 20);
  EXPECT_EQ(rdma_write_on_wire(Bytes(1000), Bytes(4096), LinkLayer::nvlink).bytes.count(), 1000u);
  EXPECT_THROW(rdma_write_on_wire(Bytes(1), Bytes(0), LinkLayer::roce), std::invalid_argument);

  Link link;
  link.bandwidth = BitsPerSecond(400e9);
  link.mtu = Bytes(4096);
  link.layer = LinkLayer::roce;
  EXPECT_DOUBLE_EQ(wire_time(Bytes(1 << 20), link).count(), ((1 << 20) + 256.0 * 82 + 20) * 8 / 400e9);
}

}  // namespace
}  // namespace fabtwin::topo
