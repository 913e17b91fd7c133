#include "fabtwin/topo/generators.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "fabtwin/budget.hpp"
#include "fabtwin/topo/io.hpp"

namespace fabtwin::topo {

namespace {

// Beyond this the node and link vectors alone run into gigabytes; a spec asking for more is a typo.
constexpr std::int64_t kMaxEndpoints = std::int64_t{1} << 22;

[[noreturn]] void bad(const std::string& what) {
  throw std::invalid_argument(what);
}

std::string plane_prefix(std::int32_t plane, std::int32_t planes) {
  return planes > 1 ? "p" + std::to_string(plane) + "." : std::string();
}

void check_common(const CommonParams& c) {
  if (c.gpus_per_host < 1)
    bad("gpus_per_host (spec key gpus) must be at least 1, got " + std::to_string(c.gpus_per_host));
  if (c.planes < 1) bad("planes must be at least 1, got " + std::to_string(c.planes));
  if (c.nics_per_host < 0 || c.nics() > c.gpus_per_host || c.gpus_per_host % c.nics() != 0) {
    bad("nics_per_host (spec key nics) = " + std::to_string(c.nics()) +
        " must divide gpus_per_host (spec key " + "gpus) = " + std::to_string(c.gpus_per_host) +
        ": GPUs share NICs evenly (more NICs than GPUs is not modelled yet; give one NIC per GPU at the "
        "GPU's combined rate)");
  }
  if (c.nics() % c.planes != 0) {
    bad("planes = " + std::to_string(c.planes) +
        " must divide the NICs per host (spec key nics, else gpus) = " + std::to_string(c.nics()) +
        " so that every host puts the same number of NICs in each plane");
  }
  if (!(c.speed.count() > 0) || !(c.nvlink_speed.count() > 0) || !(c.pcie_speed.count() > 0)) {
    bad("link speeds (speed, nvlink, pcie) must be positive");
  }
  if (!(c.latency.count() >= 0) || !(c.nvlink_latency.count() >= 0) || !(c.pcie_latency.count() >= 0)) {
    bad("link latencies must be non-negative");
  }
  if (c.mtu.count() == 0) bad("mtu must be positive");
}

// A GPU, its NIC, their links and a share of the switches and their links: about 1 KiB per NIC
// (fat-tree:k=128, 524,288 NICs, builds and summarizes in 380 MB).
constexpr double kBytesPerEndpoint = 1024;

void check_size(std::int64_t endpoints) {
  if (endpoints > kMaxEndpoints) {
    bad("the fabric would have " + std::to_string(endpoints) + " NICs; at most " +
        std::to_string(kMaxEndpoints) + " are supported");
  }
  check_memory("a fabric of " + std::to_string(endpoints) + " NICs",
               static_cast<double>(endpoints) * kBytesPerEndpoint, "give fewer hosts (or a smaller k)");
}

class Builder {
 public:
  explicit Builder(const CommonParams& c) : c_(c) {}

  NodeId node(NodeKind kind, std::string name, std::int32_t host = kNone, std::int32_t local = kNone,
              std::int32_t tier = kNone, std::int32_t rail = kNone, std::int32_t plane = kNone) {
    Node n;
    n.id = static_cast<NodeId>(t_.nodes.size());
    n.kind = kind;
    n.name = std::move(name);
    n.host = host;
    n.local = local;
    n.tier = tier;
    n.rail = rail;
    n.plane = plane;
    t_.nodes.push_back(std::move(n));
    return t_.nodes.back().id;
  }

  NodeId network_switch(const std::string& name, std::int32_t tier, std::int32_t plane,
                        std::int32_t rail = kNone) {
    return node(NodeKind::network_switch, name, kNone, kNone, tier, rail, plane);
  }

  void link(NodeId a, NodeId b, BitsPerSecond bw, Seconds latency, LinkLayer layer) {
    Link l;
    l.id = static_cast<LinkId>(t_.links.size());
    l.a = a;
    l.b = b;
    l.bandwidth = bw;
    l.latency = latency;
    l.mtu = c_.mtu;
    l.layer = layer;
    t_.links.push_back(l);
  }

  void network_link(NodeId a, NodeId b) { link(a, b, c_.speed, c_.latency, c_.layer); }

  // GPUs, NICs, the NVSwitch and the host-internal links of `hosts` hosts, plus rank placement.
  void add_hosts(std::int32_t hosts, bool rails) {
    const std::int32_t g = c_.gpus_per_host;
    const std::int32_t k = c_.nics();
    const std::int32_t gpus_per_nic = g / k;
    nics_.assign(hosts, {});
    for (std::int32_t h = 0; h < hosts; ++h) {
      const std::string prefix = "h" + std::to_string(h) + ".";
      std::vector<NodeId> gpus;
      for (std::int32_t i = 0; i < g; ++i) {
        gpus.push_back(node(NodeKind::gpu, prefix + "gpu" + std::to_string(i), h, i));
      }
      for (std::int32_t i = 0; i < k; ++i) {
        nics_[h].push_back(node(NodeKind::nic, prefix + "nic" + std::to_string(i), h, i, kNone,
                                rails ? i : kNone, i % c_.planes));
      }
      for (std::int32_t i = 0; i < g; ++i) {
        link(gpus[i], nics_[h][i / gpus_per_nic], c_.pcie_speed, c_.pcie_latency, LinkLayer::pcie);
      }
      if (g > 1) {
        const NodeId nvs = node(NodeKind::nvswitch, prefix + "nvs", h);
        for (std::int32_t i = 0; i < g; ++i)
          link(gpus[i], nvs, c_.nvlink_speed, c_.nvlink_latency, LinkLayer::nvlink);
      }
      for (std::int32_t i = 0; i < g; ++i) {
        t_.ranks.push_back({h * g + i, gpus[i], nics_[h][i / gpus_per_nic]});
      }
    }
  }

  // NICs of plane `plane`, host-major: the order in which they take switch ports.
  std::vector<NodeId> plane_nics(std::int32_t plane) const {
    std::vector<NodeId> out;
    for (const auto& host : nics_) {
      for (std::size_t i = 0; i < host.size(); ++i) {
        if (static_cast<std::int32_t>(i) % c_.planes == plane) out.push_back(host[i]);
      }
    }
    return out;
  }

  NodeId nic(std::int32_t host, std::int32_t local) const { return nics_[host][local]; }

  Topology finish(std::string name) {
    t_.name = std::move(name);
    t_.gpu = c_.gpu;
    validate(t_, t_.name);
    return std::move(t_);
  }

 private:
  CommonParams c_;
  Topology t_;
  std::vector<std::vector<NodeId>> nics_;
};

}  // namespace

Topology make_kary_fat_tree(const KaryFatTreeParams& p) {
  const CommonParams& c = p.common;
  check_common(c);
  if (p.k < 2 || p.k % 2 != 0 || p.k > 512)
    bad("k must be an even number between 2 and 512, got " + std::to_string(p.k));
  const std::int32_t half = p.k / 2;
  if (p.edge_oversub < 1 || half % p.edge_oversub != 0) {
    bad("edge_oversub (spec key oversub) = " + std::to_string(p.edge_oversub) +
        " must divide k/2 = " + std::to_string(half) + " (oversubscription removes whole uplinks)");
  }
  // Oversubscription buys fewer switches, as a real build would: a pod keeps k/2 edges but gets
  // k/2/oversub aggregation switches, each wired to every edge of the pod, and each aggregation
  // switch reaches k/2/oversub2 cores. Every NIC still reaches every other; only uplinks thin out.
  const std::int32_t aggs_per_pod = half / p.edge_oversub;
  if (p.agg_oversub < 1 || half % p.agg_oversub != 0) {
    bad("agg_oversub (spec key oversub2) = " + std::to_string(p.agg_oversub) +
        " must divide k/2 = " + std::to_string(half) + " (oversubscription removes whole uplinks)");
  }
  const std::int32_t cores_per_group = half / p.agg_oversub;
  const std::int64_t nics_per_plane = std::int64_t{p.k} * p.k * p.k / 4;
  const std::int64_t nics = nics_per_plane * c.planes;
  check_size(nics);
  if (nics % c.nics() != 0) {
    bad("a k=" + std::to_string(p.k) + " fat-tree with " + std::to_string(c.planes) + " plane(s) has " +
        std::to_string(nics) + " NIC ports, which " + std::to_string(c.nics()) +
        " NICs per host (spec key nics, else gpus) do not divide into whole hosts");
  }
  const auto hosts = static_cast<std::int32_t>(nics / c.nics());

  Builder b(c);
  b.add_hosts(hosts, false);
  for (std::int32_t plane = 0; plane < c.planes; ++plane) {
    const std::string pre = plane_prefix(plane, c.planes);
    const std::vector<NodeId> ports = b.plane_nics(plane);
    std::vector<NodeId> edges, aggs, cores;
    for (std::int32_t pod = 0; pod < p.k; ++pod) {
      for (std::int32_t i = 0; i < half; ++i) {
        edges.push_back(
            b.network_switch(pre + "pod" + std::to_string(pod) + ".edge" + std::to_string(i), 1, plane));
      }
      for (std::int32_t i = 0; i < aggs_per_pod; ++i) {
        aggs.push_back(
            b.network_switch(pre + "pod" + std::to_string(pod) + ".agg" + std::to_string(i), 2, plane));
      }
    }
    for (std::int32_t i = 0; i < aggs_per_pod * cores_per_group; ++i) {
      cores.push_back(b.network_switch(pre + "core" + std::to_string(i), 3, plane));
    }
    for (std::size_t e = 0; e < edges.size(); ++e) {
      for (std::int32_t port = 0; port < half; ++port) b.network_link(ports[e * half + port], edges[e]);
    }
    for (std::int32_t pod = 0; pod < p.k; ++pod) {
      for (std::int32_t e = 0; e < half; ++e) {
        for (std::int32_t a = 0; a < aggs_per_pod; ++a) {
          b.network_link(edges[pod * half + e], aggs[pod * aggs_per_pod + a]);
        }
      }
      for (std::int32_t a = 0; a < aggs_per_pod; ++a) {
        for (std::int32_t m = 0; m < cores_per_group; ++m) {
          b.network_link(aggs[pod * aggs_per_pod + a], cores[a * cores_per_group + m]);
        }
      }
    }
  }
  return b.finish("fat-tree:k=" + std::to_string(p.k));
}

namespace {

// Host counts shared by the leaf-based generators: leaves must fill evenly.
void check_hosts(const CommonParams& c, std::int32_t hosts, std::int32_t hosts_per_leaf) {
  check_common(c);
  if (hosts < 1) bad("hosts must be at least 1, got " + std::to_string(hosts));
  check_size(std::int64_t{hosts} * c.nics());
  if (hosts_per_leaf < 1 || hosts % hosts_per_leaf != 0) {
    bad("hosts_per_leaf = " + std::to_string(hosts_per_leaf) +
        " must divide hosts = " + std::to_string(hosts));
  }
}

}  // namespace

Topology make_leaf_spine(const LeafSpineParams& p) {
  const CommonParams& c = p.common;
  check_hosts(c, p.hosts, p.hosts_per_leaf);
  const std::int32_t ports_down = p.hosts_per_leaf * (c.nics() / c.planes);
  if (p.oversub < 1 || ports_down % p.oversub != 0) {
    bad("oversub = " + std::to_string(p.oversub) + " must divide the " + std::to_string(ports_down) +
        " NIC ports of a leaf (hosts_per_leaf x nics / planes); oversubscription removes whole uplinks");
  }
  const std::int32_t leaves = p.hosts / p.hosts_per_leaf;
  // A single leaf already connects everything; spines would only add hops.
  const std::int32_t spines = leaves > 1 ? ports_down / p.oversub : 0;

  Builder b(c);
  b.add_hosts(p.hosts, false);
  for (std::int32_t plane = 0; plane < c.planes; ++plane) {
    const std::string pre = plane_prefix(plane, c.planes);
    const std::vector<NodeId> ports = b.plane_nics(plane);
    std::vector<NodeId> leaf_ids, spine_ids;
    for (std::int32_t l = 0; l < leaves; ++l)
      leaf_ids.push_back(b.network_switch(pre + "leaf" + std::to_string(l), 1, plane));
    for (std::int32_t s = 0; s < spines; ++s) {
      spine_ids.push_back(b.network_switch(pre + "spine" + std::to_string(s), 2, plane));
    }
    for (std::size_t i = 0; i < ports.size(); ++i) b.network_link(ports[i], leaf_ids[i / ports_down]);
    for (NodeId leaf : leaf_ids) {
      for (NodeId spine : spine_ids) b.network_link(leaf, spine);
    }
  }
  return b.finish("fat-tree:tiers=2,hosts=" + std::to_string(p.hosts));
}

Topology make_rail(const RailParams& p) {
  const CommonParams& c = p.common;
  check_hosts(c, p.hosts, p.hosts_per_leaf);
  if (p.oversub < 1 || p.hosts_per_leaf % p.oversub != 0) {
    bad("oversub = " + std::to_string(p.oversub) + " must divide the " + std::to_string(p.hosts_per_leaf) +
        " NIC ports of a rail leaf (hosts_per_leaf); oversubscription removes whole uplinks");
  }
  const std::int32_t rails = c.nics();
  const std::int32_t groups = p.hosts / p.hosts_per_leaf;
  const std::int32_t spines = p.hosts_per_leaf / p.oversub;

  Builder b(c);
  b.add_hosts(p.hosts, true);
  std::vector<std::vector<NodeId>> leaves(rails);  // leaves[rail][group]
  for (std::int32_t r = 0; r < rails; ++r) {
    for (std::int32_t g = 0; g < groups; ++g) {
      const NodeId leaf =
          b.network_switch("rail" + std::to_string(r) + ".leaf" + std::to_string(g), 1, r % c.planes, r);
      leaves[r].push_back(leaf);
      for (std::int32_t h = g * p.hosts_per_leaf; h < (g + 1) * p.hosts_per_leaf; ++h)
        b.network_link(b.nic(h, r), leaf);
    }
  }
  if (p.rail_only) {
    if (groups > 1) {
      for (std::int32_t r = 0; r < rails; ++r) {
        for (std::int32_t s = 0; s < spines; ++s) {
          const NodeId spine =
              b.network_switch("rail" + std::to_string(r) + ".spine" + std::to_string(s), 2, r % c.planes, r);
          for (NodeId leaf : leaves[r]) b.network_link(leaf, spine);
        }
      }
    }
  } else {
    for (std::int32_t plane = 0; plane < c.planes; ++plane) {
      const std::string pre = plane_prefix(plane, c.planes);
      for (std::int32_t s = 0; s < spines; ++s) {
        const NodeId spine = b.network_switch(pre + "spine" + std::to_string(s), 2, plane);
        for (std::int32_t r = plane; r < rails; r += c.planes) {
          for (NodeId leaf : leaves[r]) b.network_link(leaf, spine);
        }
      }
    }
  }
  return b.finish(std::string(p.rail_only ? "rail-only" : "rail") + ":hosts=" + std::to_string(p.hosts));
}

}  // namespace fabtwin::topo
