#include "fabtwin/topo/topology.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <unordered_map>

namespace fabtwin::topo {

std::int32_t Topology::host_count() const {
  std::int32_t highest = kNone;
  for (const Node& n : nodes) highest = std::max(highest, n.host);
  return highest + 1;
}

std::vector<std::int32_t> Topology::ranks_on_host(std::int32_t host) const {
  std::vector<std::int32_t> out;
  for (const RankPlacement& r : ranks) {
    if (nodes.at(r.gpu).host == host) out.push_back(r.rank);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Adjacency::Adjacency(const Topology& t) : out(t.nodes.size()) {
  for (const Link& l : t.links) {
    out.at(l.a).push_back({l.b, l.id});
    out.at(l.b).push_back({l.a, l.id});
  }
}

namespace {

[[noreturn]] void fail(const std::string& origin, const std::string& what) {
  throw std::invalid_argument(origin + ": " + what);
}

std::string node_ref(const Topology& t, NodeId id) {
  if (id >= t.nodes.size()) return "node " + std::to_string(id) + " (out of range)";
  return "node " + std::to_string(id) + " \"" + t.nodes[id].name + "\"";
}

std::string link_ref(const Topology& t, const Link& l) {
  std::string s = "link " + std::to_string(l.id);
  if (l.a < t.nodes.size() && l.b < t.nodes.size()) {
    s += " (" + t.nodes[l.a].name + " -- " + t.nodes[l.b].name + ")";
  }
  return s;
}

// Union-find over the links rather than a BFS over Adjacency: no per-node edge vectors, so checking a
// 65,536-host fabric costs a few megabytes and milliseconds inside every generator call.
class Components {
 public:
  explicit Components(std::size_t n) : parent_(n) {
    for (std::size_t i = 0; i < n; ++i) parent_[i] = static_cast<NodeId>(i);
  }

  NodeId find(NodeId x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];
      x = parent_[x];
    }
    return x;
  }

  void join(NodeId x, NodeId y) {
    x = find(x);
    y = find(y);
    if (x != y) parent_[std::max(x, y)] = std::min(x, y);
  }

 private:
  std::vector<NodeId> parent_;
};

// The node of a component that an operator would most likely cable up: its highest switch, else a NIC.
NodeId cabling_point(const Topology& t, Components& c, NodeId member) {
  const NodeId root = c.find(member);
  NodeId best = member;
  auto score = [&](NodeId id) {
    const Node& n = t.nodes[id];
    if (n.kind == NodeKind::network_switch) return 2 + std::max(n.tier, 0);
    return n.kind == NodeKind::nic ? 1 : 0;
  };
  for (std::size_t i = 0; i < t.nodes.size(); ++i) {
    const auto id = static_cast<NodeId>(i);
    if (score(id) > score(best) && c.find(id) == root) best = id;
  }
  return best;
}

// Every rank's GPU must reach every other rank's GPU over some chain of links of any layer; NVLink and
// PCIe count, so rail-only fabrics (rails joined only inside hosts) and multi-plane fabrics pass.
void check_connected(const Topology& t, const std::string& origin) {
  if (t.ranks.size() < 2) return;
  Components c(t.nodes.size());
  for (const Link& l : t.links) c.join(l.a, l.b);
  const NodeId home = t.ranks.front().gpu;
  const NodeId home_root = c.find(home);
  for (const RankPlacement& r : t.ranks) {
    if (c.find(r.gpu) == home_root) continue;
    std::size_t island = 0;
    std::size_t mainland = 0;
    const NodeId island_root = c.find(r.gpu);
    for (std::size_t i = 0; i < t.nodes.size(); ++i) {
      const NodeId root = c.find(static_cast<NodeId>(i));
      island += root == island_root;
      mainland += root == home_root;
    }
    const NodeId from = cabling_point(t, c, r.gpu);
    const NodeId to = cabling_point(t, c, home);
    fail(origin,
         "nodes: fabric is disconnected: \"" + t.nodes[r.gpu].name + "\" (rank " + std::to_string(r.rank) +
             ") cannot reach \"" + t.nodes[home].name + "\" (rank " + std::to_string(t.ranks.front().rank) +
             ") over any link; expected every rank's GPU to reach every other rank's GPU (add links "
             "joining the " +
             std::to_string(island) + " node(s) connected to \"" + t.nodes[r.gpu].name + "\", e.g. \"" +
             t.nodes[from].name + "\", to the " + std::to_string(mainland) + " node(s) connected to \"" +
             t.nodes[home].name + "\", e.g. \"" + t.nodes[to].name + "\")");
  }
}

}  // namespace

void validate(const Topology& t, const std::string& origin) {
  std::unordered_map<std::string, NodeId> by_name;
  for (std::size_t i = 0; i < t.nodes.size(); ++i) {
    const Node& n = t.nodes[i];
    if (n.id != i) {
      fail(origin, "node at index " + std::to_string(i) + " \"" + n.name + "\" has id " +
                       std::to_string(n.id) + " (node ids must be dense and equal to their index)");
    }
    if (!n.name.empty()) {
      const auto [it, fresh] = by_name.emplace(n.name, n.id);
      if (!fresh) {
        fail(origin, node_ref(t, n.id) + " has the same name as node " + std::to_string(it->second) +
                         " (node names must be unique)");
      }
    }
  }
  for (std::size_t i = 0; i < t.links.size(); ++i) {
    const Link& l = t.links[i];
    if (l.id != i) {
      fail(origin, "link at index " + std::to_string(i) + " has id " + std::to_string(l.id) +
                       " (link ids must be dense and equal to their index)");
    }
    if (l.a >= t.nodes.size() || l.b >= t.nodes.size()) {
      fail(origin, "link " + std::to_string(l.id) + " joins " + node_ref(t, l.a) + " and " +
                       node_ref(t, l.b) + " but there are only " + std::to_string(t.nodes.size()) + " nodes");
    }
    if (l.a == l.b) fail(origin, link_ref(t, l) + " is a self-loop");
    if (!(l.bandwidth.count() > 0.0) || !std::isfinite(l.bandwidth.count())) {
      fail(origin, link_ref(t, l) + " has bandwidth " + std::to_string(l.bandwidth.count()) +
                       " bits/s (must be positive and finite)");
    }
    if (!(l.latency.count() >= 0.0) || !std::isfinite(l.latency.count())) {
      fail(origin, link_ref(t, l) + " has latency " + std::to_string(l.latency.count()) +
                       " s (must be non-negative and finite)");
    }
    if (l.mtu.count() == 0) fail(origin, link_ref(t, l) + " has an MTU of 0 bytes");
  }
  for (std::size_t i = 0; i < t.ranks.size(); ++i) {
    const RankPlacement& r = t.ranks[i];
    if (r.rank != static_cast<std::int32_t>(i)) {
      fail(origin, "rank entry " + std::to_string(i) + " is rank " + std::to_string(r.rank) +
                       " (ranks must be listed once each, in order 0.." + std::to_string(t.ranks.size() - 1) +
                       "; duplicate or missing rank)");
    }
    if (r.gpu >= t.nodes.size() || t.nodes[r.gpu].kind != NodeKind::gpu) {
      fail(origin,
           "rank " + std::to_string(r.rank) + " is placed on " + node_ref(t, r.gpu) + " which is not a GPU");
    }
    if (r.nic >= t.nodes.size() || t.nodes[r.nic].kind != NodeKind::nic) {
      fail(origin,
           "rank " + std::to_string(r.rank) + " sends through " + node_ref(t, r.nic) + " which is not a NIC");
    }
  }
  check_connected(t, origin);
}

const char* to_string(NodeKind k) {
  switch (k) {
    case NodeKind::gpu:
      return "gpu";
    case NodeKind::nic:
      return "nic";
    case NodeKind::nvswitch:
      return "nvswitch";
    case NodeKind::network_switch:
      return "switch";
  }
  return "unknown";
}

const char* to_string(LinkLayer l) {
  switch (l) {
    case LinkLayer::infiniband:
      return "ib";
    case LinkLayer::roce:
      return "roce";
    case LinkLayer::nvlink:
      return "nvlink";
    case LinkLayer::pcie:
      return "pcie";
  }
  return "unknown";
}

std::optional<NodeKind> node_kind_from_string(const std::string& s) {
  if (s == "gpu") return NodeKind::gpu;
  if (s == "nic") return NodeKind::nic;
  if (s == "nvswitch") return NodeKind::nvswitch;
  if (s == "switch" || s == "network_switch") return NodeKind::network_switch;
  return std::nullopt;
}

std::optional<LinkLayer> link_layer_from_string(const std::string& s) {
  if (s == "ib" || s == "infiniband") return LinkLayer::infiniband;
  if (s == "roce") return LinkLayer::roce;
  if (s == "nvlink") return LinkLayer::nvlink;
  if (s == "pcie") return LinkLayer::pcie;
  return std::nullopt;
}

std::string link_direction_name(const Topology& t, LinkId link, bool forward) {
  const Link& l = t.links.at(link);
  return t.nodes.at(forward ? l.a : l.b).name + " -> " + t.nodes.at(forward ? l.b : l.a).name;
}

std::string link_label(const Topology& t, LinkId link) {
  const Link& l = t.links.at(link);
  return t.nodes.at(l.a).name + "/" + t.nodes.at(l.b).name;
}

}  // namespace fabtwin::topo
