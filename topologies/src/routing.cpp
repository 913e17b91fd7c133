#include "fabtwin/topo/routing.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "fabtwin/hash.hpp"

namespace fabtwin::topo {

namespace {

constexpr std::uint32_t kUnreachable = std::numeric_limits<std::uint32_t>::max();

std::uint64_t ecmp_hash(std::uint64_t flow, std::uint64_t seed, NodeId node) {
  return splitmix64(splitmix64(splitmix64(seed) ^ flow) ^ node);
}

}  // namespace

Router::Router(const Topology& t) : topo_(&t), adj_(t), dist_(t.nodes.size()), next_(t.nodes.size()) {
  build_up_down();
}

void Router::build_up_down() {
  const auto& nodes = topo_->nodes;
  const std::size_t n = nodes.size();
  tier_.assign(n, -1);
  leaf_bit_.assign(n, -1);
  row_.assign(n, UINT32_MAX);
  for (const Node& node : nodes) {
    if (node.kind == NodeKind::nic) tier_[node.id] = 0;
    if (node.kind == NodeKind::network_switch) {
      // A switch without a tier makes up and down meaningless: use shortest paths everywhere.
      if (node.tier < 1) {
        tier_.clear();
        return;
      }
      tier_[node.id] = node.tier;
    }
  }
  std::int32_t leaves = 0;
  std::vector<NodeId> switches;
  for (const Node& node : nodes) {
    if (node.kind != NodeKind::network_switch) continue;
    row_[node.id] = static_cast<std::uint32_t>(switches.size());
    switches.push_back(node.id);
    for (const auto& e : adj_.out[node.id]) {
      if (tier_[e.peer] == 0) {
        leaf_bit_[node.id] = leaves++;
        break;
      }
    }
  }
  words_ = (static_cast<std::size_t>(leaves) + 63) / 64;
  reach_.assign(switches.size() * words_, 0);
  cover_.assign(switches.size() * words_, 0);
  std::sort(switches.begin(), switches.end(), [&](NodeId a, NodeId b) { return tier_[a] < tier_[b]; });
  auto row = [&](std::vector<std::uint64_t>& sets, NodeId s) { return sets.data() + row_[s] * words_; };
  for (NodeId s : switches) {
    std::uint64_t* mine = row(reach_, s);
    if (leaf_bit_[s] >= 0) mine[leaf_bit_[s] / 64] |= 1ull << (leaf_bit_[s] % 64);
    for (const auto& e : adj_.out[s]) {
      if (tier_[e.peer] < 1 || tier_[e.peer] >= tier_[s]) continue;
      const std::uint64_t* below = row(reach_, e.peer);
      for (std::size_t w = 0; w < words_; ++w) mine[w] |= below[w];
    }
  }
  for (auto it = switches.rbegin(); it != switches.rend(); ++it) {
    std::uint64_t* mine = row(cover_, *it);
    const std::uint64_t* own = row(reach_, *it);
    for (std::size_t w = 0; w < words_; ++w) mine[w] |= own[w];
    for (const auto& e : adj_.out[*it]) {
      if (tier_[e.peer] <= tier_[*it]) continue;
      const std::uint64_t* above = row(cover_, e.peer);
      for (std::size_t w = 0; w < words_; ++w) mine[w] |= above[w];
    }
  }
}

bool Router::has(const std::vector<std::uint64_t>& sets, NodeId n, std::int32_t bit) const {
  if (row_[n] == UINT32_MAX) return false;
  return (sets[row_[n] * words_ + static_cast<std::size_t>(bit) / 64] >> (bit % 64)) & 1ull;
}

std::optional<Path> Router::up_down_path(NodeId src_nic, NodeId dst_nic, std::uint64_t flow,
                                         std::uint64_t seed) const {
  if (tier_.empty() || src_nic >= tier_.size() || dst_nic >= tier_.size() || tier_[src_nic] != 0 ||
      tier_[dst_nic] != 0) {
    return std::nullopt;
  }
  if (src_nic == dst_nic) return Path{};
  // The destination's leaf: the first switch it hangs off whose leaf set the source can reach.
  std::int32_t target = -1;
  for (const auto& e : adj_.out[dst_nic]) {
    if (leaf_bit_[e.peer] < 0) continue;
    for (const auto& up : adj_.out[src_nic]) {
      if (has(cover_, up.peer, leaf_bit_[e.peer])) {
        target = leaf_bit_[e.peer];
        break;
      }
    }
    if (target >= 0) break;
  }
  if (target < 0) return std::nullopt;

  Path out;
  NodeId at = src_nic;
  std::vector<Adjacency::Edge> candidates;
  const std::size_t longest = 2 * adj_.out.size();
  while (at != dst_nic) {
    candidates.clear();
    for (const auto& e : adj_.out[at]) {
      if (e.peer == dst_nic) candidates.push_back(e);
    }
    if (candidates.empty()) {
      const bool descend = at != src_nic && has(reach_, at, target);
      for (const auto& e : adj_.out[at]) {
        if (tier_[e.peer] < 1) continue;
        const bool down = tier_[e.peer] < tier_[at];
        if (descend && down && has(reach_, e.peer, target)) candidates.push_back(e);
        if (!descend && tier_[e.peer] > tier_[at] && has(reach_, e.peer, target)) candidates.push_back(e);
      }
      // Going up: prefer a switch whose subtree already holds the target (shortest), else any
      // switch from which it can still be reached.
      if (candidates.empty() && !descend) {
        for (const auto& e : adj_.out[at]) {
          if (tier_[e.peer] > tier_[at] && has(cover_, e.peer, target)) candidates.push_back(e);
        }
      }
    }
    if (candidates.empty() || out.size() > longest) return std::nullopt;
    std::sort(candidates.begin(), candidates.end(),
              [](const Adjacency::Edge& x, const Adjacency::Edge& y) { return x.link < y.link; });
    const Adjacency::Edge& e = candidates[ecmp_hash(flow, seed, at) % candidates.size()];
    out.push_back({e.link, topo_->links[e.link].a == at});
    at = e.peer;
  }
  return out;
}

void Router::ensure(NodeId dst) const {
  if (dst >= dist_.size()) {
    throw std::out_of_range("router: node " + std::to_string(dst) + " is out of range (topology \"" +
                            topo_->name + "\" has " + std::to_string(dist_.size()) + " nodes)");
  }
  if (!dist_[dst].empty()) return;
  const std::size_t n = adj_.out.size();
  std::vector<std::uint32_t> dist(n, kUnreachable);
  std::vector<NodeId> queue;
  queue.reserve(n);
  dist[dst] = 0;
  queue.push_back(dst);
  for (std::size_t head = 0; head < queue.size(); ++head) {
    const NodeId u = queue[head];
    for (const Adjacency::Edge& e : adj_.out[u]) {
      if (dist[e.peer] == kUnreachable) {
        dist[e.peer] = dist[u] + 1;
        queue.push_back(e.peer);
      }
    }
  }
  std::vector<std::vector<Adjacency::Edge>> next(n);
  for (std::size_t u = 0; u < n; ++u) {
    if (dist[u] == kUnreachable || dist[u] == 0) continue;
    for (const Adjacency::Edge& e : adj_.out[u]) {
      if (dist[e.peer] + 1 == dist[u]) next[u].push_back(e);
    }
    std::sort(next[u].begin(), next[u].end(),
              [](const Adjacency::Edge& x, const Adjacency::Edge& y) { return x.link < y.link; });
  }
  dist_[dst] = std::move(dist);
  next_[dst] = std::move(next);
}

const std::vector<Adjacency::Edge>& Router::next_hops(NodeId at, NodeId dst) const {
  ensure(dst);
  return next_[dst].at(at);
}

std::uint32_t Router::distance(NodeId from, NodeId to) const {
  ensure(to);
  return dist_[to].at(from);
}

Path Router::path(NodeId src, NodeId dst, std::uint64_t flow, std::uint64_t seed) const {
  if (distance(src, dst) == kUnreachable) {
    throw std::runtime_error("no route from \"" + topo_->nodes[src].name + "\" to \"" +
                             topo_->nodes[dst].name + "\" in topology \"" + topo_->name + "\"");
  }
  Path out;
  out.reserve(dist_[dst][src]);
  NodeId at = src;
  while (at != dst) {
    const std::vector<Adjacency::Edge>& hops = next_[dst][at];
    const Adjacency::Edge& e = hops[ecmp_hash(flow, seed, at) % hops.size()];
    out.push_back({e.link, topo_->links[e.link].a == at});
    at = e.peer;
  }
  return out;
}

Path Router::rank_path(std::int32_t src_rank, std::int32_t dst_rank, std::uint64_t flow,
                       std::uint64_t seed) const {
  if (src_rank == dst_rank) return {};
  const RankPlacement& src = topo_->ranks.at(src_rank);
  const RankPlacement& dst = topo_->ranks.at(dst_rank);
  auto link_between = [&](NodeId a, NodeId b) -> std::optional<Hop> {
    for (const auto& e : adj_.out[a]) {
      if (e.peer == b) return Hop{e.link, topo_->links[e.link].a == a};
    }
    return std::nullopt;
  };
  const auto& nodes = topo_->nodes;
  if (nodes[src.gpu].host >= 0 && nodes[src.gpu].host == nodes[dst.gpu].host) {
    for (const auto& e : adj_.out[src.gpu]) {
      if (nodes[e.peer].kind != NodeKind::nvswitch) continue;
      if (const auto down = link_between(e.peer, dst.gpu)) {
        return Path{{e.link, topo_->links[e.link].a == src.gpu}, *down};
      }
    }
  } else {
    const auto out = link_between(src.gpu, src.nic);
    const auto in = link_between(dst.nic, dst.gpu);
    if (out && in) {
      if (auto middle = up_down_path(src.nic, dst.nic, flow, seed)) {
        middle->insert(middle->begin(), *out);
        middle->push_back(*in);
        return *middle;
      }
      // PXN: over NVLink to a GPU of the same host whose NIC does reach the destination's NIC (in a
      // rail-only fabric, the GPU on the destination's rail), then out through that NIC.
      for (const auto& to_nvs : adj_.out[src.gpu]) {
        if (nodes[to_nvs.peer].kind != NodeKind::nvswitch) continue;
        for (const auto& to_gpu : adj_.out[to_nvs.peer]) {
          if (to_gpu.peer == src.gpu || nodes[to_gpu.peer].kind != NodeKind::gpu) continue;
          for (const auto& to_nic : adj_.out[to_gpu.peer]) {
            if (nodes[to_nic.peer].kind != NodeKind::nic) continue;
            auto middle = up_down_path(to_nic.peer, dst.nic, flow, seed);
            if (!middle) continue;
            Path p{{to_nvs.link, topo_->links[to_nvs.link].a == src.gpu},
                   {to_gpu.link, topo_->links[to_gpu.link].a == to_nvs.peer},
                   {to_nic.link, topo_->links[to_nic.link].a == to_gpu.peer}};
            p.insert(p.end(), middle->begin(), middle->end());
            p.push_back(*in);
            return p;
          }
        }
      }
    }
  }
  return path(src.gpu, dst.gpu, flow, seed);
}

}  // namespace fabtwin::topo
