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

}  // namespace fabtwin::topo
