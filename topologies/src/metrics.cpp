#include "fabtwin/topo/metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <queue>
#include <sstream>

#include "fabtwin/topo/node.hpp"

namespace fabtwin::topo {

namespace {

bool is_network_node(const Node& n) {
  return n.kind == NodeKind::nic || n.kind == NodeKind::network_switch;
}

bool is_network_link(const Topology& t, const Link& l) {
  return is_network_node(t.nodes[l.a]) && is_network_node(t.nodes[l.b]);
}

// Dinic's max-flow on an undirected graph: each undirected edge is a pair of arcs that are each
// other's residual, both starting at full capacity, which is exactly a full-duplex link.
class MaxFlow {
 public:
  explicit MaxFlow(std::size_t n) : head_(n, -1), level_(n), cursor_(n) {}

  void add_edge(std::size_t u, std::size_t v, double cap_uv, double cap_vu) {
    arcs_.push_back({v, head_[u], cap_uv});
    head_[u] = static_cast<std::int64_t>(arcs_.size() - 1);
    arcs_.push_back({u, head_[v], cap_vu});
    head_[v] = static_cast<std::int64_t>(arcs_.size() - 1);
  }

  double run(std::size_t s, std::size_t t, double epsilon) {
    eps_ = epsilon;
    double total = 0.0;
    while (bfs(s, t)) {
      cursor_ = head_;
      while (true) {
        const double f = dfs(s, t, std::numeric_limits<double>::infinity());
        if (f <= eps_) break;
        total += f;
      }
    }
    return total;
  }

 private:
  struct Arc {
    std::size_t to;
    std::int64_t next;
    double cap;
  };
  std::vector<Arc> arcs_;
  std::vector<std::int64_t> head_;
  std::vector<std::int32_t> level_;
  std::vector<std::int64_t> cursor_;
  double eps_ = 0.0;

  bool bfs(std::size_t s, std::size_t t) {
    std::fill(level_.begin(), level_.end(), -1);
    std::queue<std::size_t> q;
    level_[s] = 0;
    q.push(s);
    while (!q.empty()) {
      const std::size_t u = q.front();
      q.pop();
      for (std::int64_t e = head_[u]; e != -1; e = arcs_[e].next) {
        const Arc& a = arcs_[e];
        if (a.cap > eps_ && level_[a.to] < 0) {
          level_[a.to] = level_[u] + 1;
          q.push(a.to);
        }
      }
    }
    return level_[t] >= 0;
  }

  // Recursion depth is bounded by the BFS level of the sink: a handful of tiers.
  double dfs(std::size_t u, std::size_t t, double limit) {
    if (u == t) return limit;
    for (std::int64_t& e = cursor_[u]; e != -1; e = arcs_[e].next) {
      Arc& a = arcs_[e];
      if (a.cap <= eps_ || level_[a.to] != level_[u] + 1) continue;
      const double f = dfs(a.to, t, std::min(limit, a.cap));
      if (f > eps_) {
        a.cap -= f;
        arcs_[e ^ 1].cap += f;
        return f;
      }
    }
    return 0.0;
  }
};

double bisection_bps(const Topology& t, std::int32_t hosts) {
  if (hosts < 2) return 0.0;
  const std::int32_t first_half = hosts / 2;
  const std::size_t n = t.nodes.size();
  const std::size_t source = n;
  const std::size_t sink = n + 1;
  MaxFlow flow(n + 2);
  double largest = 0.0;
  for (const Link& l : t.links) {
    if (!is_network_link(t, l)) continue;
    flow.add_edge(l.a, l.b, l.bandwidth.count(), l.bandwidth.count());
    largest = std::max(largest, l.bandwidth.count());
  }
  const double infinite = std::numeric_limits<double>::infinity();
  for (const Node& node : t.nodes) {
    if (node.kind != NodeKind::nic || node.host == kNone) continue;
    if (node.host < first_half) {
      flow.add_edge(source, node.id, infinite, 0.0);
    } else {
      flow.add_edge(node.id, sink, infinite, 0.0);
    }
  }
  // Rates are ~1e11 and sums stay far below 2^53, so a relative epsilon only absorbs rounding.
  return flow.run(source, sink, largest * 1e-12);
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  const std::uint64_t s = a + b;
  return s < a ? std::numeric_limits<std::uint64_t>::max() : s;
}

struct DiameterResult {
  std::int32_t hops = 0;
  std::uint64_t paths = 0;
  std::uint64_t unreachable_pairs = 0;
  std::optional<Seconds> skipped;
};

// NICs hanging off the same switches (with the same multiplicity) see the rest of the fabric
// identically, so one BFS per such group gives every NIC-to-NIC distance and path count.
DiameterResult diameter(const Topology& t, double max_work) {
  const std::size_t n = t.nodes.size();
  std::vector<std::vector<NodeId>> adj(n);
  for (const Link& l : t.links) {
    if (!is_network_link(t, l)) continue;
    adj[l.a].push_back(l.b);
    adj[l.b].push_back(l.a);
  }
  std::vector<NodeId> nics;
  for (const Node& node : t.nodes) {
    if (node.kind == NodeKind::nic) nics.push_back(node.id);
  }
  DiameterResult r;
  if (nics.size() < 2) return r;

  std::map<std::vector<NodeId>, std::int32_t> group_of_attachment;
  std::vector<std::int32_t> group(n, -1);
  std::vector<NodeId> representative;
  std::vector<std::uint64_t> group_size;
  for (NodeId nic : nics) {
    std::vector<NodeId> key = adj[nic];
    std::sort(key.begin(), key.end());
    const auto [it, fresh] =
        group_of_attachment.emplace(std::move(key), static_cast<std::int32_t>(representative.size()));
    if (fresh) {
      representative.push_back(nic);
      group_size.push_back(0);
    }
    group[nic] = it->second;
    ++group_size[it->second];
  }

  const double work =
      static_cast<double>(representative.size()) * static_cast<double>(n + 2 * t.links.size());
  if (work > max_work) {
    // About 2.7 ns per visit on the machines this was measured on (fat-tree:k=64: 2.7 s).
    r.skipped = Seconds(work * 2.7e-9);
    return r;
  }
  constexpr std::uint32_t kUnreached = std::numeric_limits<std::uint32_t>::max();
  std::vector<std::uint32_t> dist(n);
  std::vector<std::uint64_t> count(n);
  std::vector<NodeId> queue;
  queue.reserve(n);
  std::uint64_t unreachable_ordered = 0;
  for (std::size_t g = 0; g < representative.size(); ++g) {
    const NodeId src = representative[g];
    std::fill(dist.begin(), dist.end(), kUnreached);
    std::fill(count.begin(), count.end(), 0);
    queue.clear();
    dist[src] = 0;
    count[src] = 1;
    queue.push_back(src);
    for (std::size_t head = 0; head < queue.size(); ++head) {
      const NodeId u = queue[head];
      // NICs are endpoints: paths do not transit through another NIC.
      if (u != src && t.nodes[u].kind == NodeKind::nic) continue;
      for (NodeId v : adj[u]) {
        if (dist[v] == kUnreached) {
          dist[v] = dist[u] + 1;
          queue.push_back(v);
        }
        if (dist[v] == dist[u] + 1) count[v] = saturating_add(count[v], count[u]);
      }
    }
    std::uint64_t unreached_outside = 0;
    for (NodeId nic : nics) {
      if (nic == src) continue;
      if (dist[nic] == kUnreached) {
        if (group[nic] != static_cast<std::int32_t>(g)) ++unreached_outside;
        continue;
      }
      if (static_cast<std::int32_t>(dist[nic]) > r.hops) {
        r.hops = static_cast<std::int32_t>(dist[nic]);
        r.paths = count[nic];
      }
    }
    unreachable_ordered += group_size[g] * unreached_outside;
    if (adj[src].empty()) unreachable_ordered += group_size[g] * (group_size[g] - 1);
  }
  r.unreachable_pairs = unreachable_ordered / 2;
  return r;
}

std::vector<TierOversubscription> oversubscription(const Topology& t) {
  std::int32_t top = 0;
  for (const Node& n : t.nodes) {
    if (n.kind == NodeKind::network_switch) top = std::max(top, n.tier);
  }
  std::vector<double> down(top + 1, 0.0), up(top + 1, 0.0);
  for (const Link& l : t.links) {
    const Node& a = t.nodes[l.a];
    const Node& b = t.nodes[l.b];
    for (const auto& [self, other] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
      if (self->kind != NodeKind::network_switch || self->tier < 1) continue;
      const std::int32_t tier = self->tier;
      const bool other_switch = other->kind == NodeKind::network_switch;
      if ((other->kind == NodeKind::nic && tier == 1) || (other_switch && other->tier == tier - 1)) {
        down[tier] += l.bandwidth.count();
      } else if (other_switch && other->tier == tier + 1) {
        up[tier] += l.bandwidth.count();
      }
    }
  }
  std::vector<TierOversubscription> out;
  for (std::int32_t tier = 1; tier < top; ++tier) {
    if (up[tier] > 0) out.push_back({tier, down[tier] / up[tier]});
  }
  return out;
}

std::string number(double v, int precision) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", precision, v);
  return buf;
}

// Fixed-point with at most three decimals: "25.6", "1638400", never an exponent in a report line.
std::string plain(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

Summary summarize(const Topology& t, double max_path_work) {
  Summary s;
  s.name = t.name;
  s.gpu = t.gpu;
  s.hosts = t.host_count();
  for (const Node& n : t.nodes) {
    switch (n.kind) {
      case NodeKind::gpu:
        ++s.gpus;
        break;
      case NodeKind::nic:
        ++s.nics;
        break;
      case NodeKind::nvswitch:
        ++s.nvswitches;
        break;
      case NodeKind::network_switch:
        ++s.switches;
        if (n.tier >= 1) {
          if (static_cast<std::size_t>(n.tier) > s.switches_per_tier.size())
            s.switches_per_tier.resize(n.tier, 0);
          ++s.switches_per_tier[n.tier - 1];
        }
        break;
    }
  }
  s.links = static_cast<std::int32_t>(t.links.size());
  for (const Link& l : t.links) {
    ++s.links_per_layer[to_string(l.layer)];
    s.link_speeds.push_back(l.bandwidth);
  }
  std::sort(s.link_speeds.begin(), s.link_speeds.end());
  s.link_speeds.erase(std::unique(s.link_speeds.begin(), s.link_speeds.end()), s.link_speeds.end());
  s.bisection_bandwidth = BitsPerSecond(bisection_bps(t, s.hosts));
  s.oversubscription = oversubscription(t);
  const DiameterResult d = diameter(t, max_path_work);
  s.paths_skipped = d.skipped;
  s.diameter_hops = d.hops;
  s.farthest_pair_paths = d.paths;
  s.unreachable_nic_pairs = d.unreachable_pairs;
  return s;
}

nlohmann::json to_json(const Summary& s) {
  nlohmann::json speeds = nlohmann::json::array();
  for (BitsPerSecond r : s.link_speeds) speeds.push_back(r.count());
  nlohmann::json over = nlohmann::json::array();
  for (const TierOversubscription& o : s.oversubscription)
    over.push_back({{"tier", o.tier}, {"ratio", o.ratio}});
  return {
      {"name", s.name},
      {"gpu", s.gpu},
      {"hosts", s.hosts},
      {"gpus", s.gpus},
      {"nics", s.nics},
      {"switches", s.switches},
      {"switches_per_tier", s.switches_per_tier},
      {"nvswitches", s.nvswitches},
      {"links", s.links},
      {"links_per_layer", s.links_per_layer},
      {"link_speeds_bps", std::move(speeds)},
      {"bisection_bandwidth_bps", s.bisection_bandwidth.count()},
      {"oversubscription", std::move(over)},
      {"diameter_hops", s.paths_skipped ? nlohmann::json() : nlohmann::json(s.diameter_hops)},
      {"farthest_pair_paths", s.paths_skipped ? nlohmann::json() : nlohmann::json(s.farthest_pair_paths)},
      {"unreachable_nic_pairs", s.paths_skipped ? nlohmann::json() : nlohmann::json(s.unreachable_nic_pairs)},
      {"paths_skipped_estimate_s",
       s.paths_skipped ? nlohmann::json(s.paths_skipped->count()) : nlohmann::json()}};
}

std::string to_text(const Summary& s) {
  std::ostringstream out;
  auto row = [&out](const char* label, const std::string& value) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%-20s", label);
    out << buf << value << '\n';
  };
  row("topology", s.name);
  row("hosts", std::to_string(s.hosts));
  row("GPUs", std::to_string(s.gpus) + (s.gpu.empty() ? "" : " " + s.gpu) + " (" +
                  std::to_string(s.nvswitches) + " NVSwitches)");
  if (const GpuModel* g = find_gpu_model(s.gpu); g != nullptr && s.hosts > 0) {
    std::ostringstream node;
    node << s.gpus / s.hosts << " x " << g->name << " and " << s.nics / s.hosts << " NICs per host; NVLink "
         << g->nvlink.count() / 8e9 << " GB/s per GPU per direction"
         << (g->nvls ? ", NVSwitch reduces (NVLS)" : "");
    row("node", node.str());
  }
  row("NICs", std::to_string(s.nics));
  std::string tiers;
  for (std::size_t i = 0; i < s.switches_per_tier.size(); ++i) {
    tiers += (i == 0 ? " (" : ", ") + std::string("tier ") + std::to_string(i + 1) + ": " +
             std::to_string(s.switches_per_tier[i]);
  }
  row("network switches", std::to_string(s.switches) + tiers + (tiers.empty() ? "" : ")"));
  std::string layers;
  for (const auto& [layer, n] : s.links_per_layer) {
    layers += (layers.empty() ? " (" : ", ") + layer + ": " + std::to_string(n);
  }
  row("links", std::to_string(s.links) + layers + (layers.empty() ? "" : ")"));
  std::string speeds;
  for (BitsPerSecond r : s.link_speeds) speeds += (speeds.empty() ? "" : ", ") + format_rate(r);
  row("link speeds", speeds.empty() ? "-" : speeds);
  row("bisection", plain(s.bisection_bandwidth.count() / 1e12) + " Tb/s (" +
                       plain(s.bisection_bandwidth.gigabytes_per_second()) + " GB/s) per direction");
  std::string over;
  for (const TierOversubscription& o : s.oversubscription) {
    over += (over.empty() ? "" : ", ") + std::string("tier") + std::to_string(o.tier) + " " +
            number(o.ratio, 4) + ":1";
  }
  row("oversubscription", over.empty() ? "-" : over + " (down:up bandwidth)");
  if (s.paths_skipped) {
    row("diameter", "not computed: its searches would take about " + format_duration(*s.paths_skipped) +
                        " on this fabric (topo --exhaustive computes it)");
    return out.str();
  }
  row("diameter",
      std::to_string(s.diameter_hops) + " hops NIC to NIC (" + std::to_string(s.farthest_pair_paths) +
          (s.farthest_pair_paths == 1 ? " path" : " equal-cost paths") + " between a farthest pair)");
  if (s.unreachable_nic_pairs > 0) {
    row("unreachable", std::to_string(s.unreachable_nic_pairs) +
                           " NIC pairs cannot reach each other over the network (separate planes or rails)");
  }
  return out.str();
}

}  // namespace fabtwin::topo
