#include "fabtwin/topo/routing.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace fabtwin::topo {

namespace {

constexpr std::uint32_t kUnreachable = std::numeric_limits<std::uint32_t>::max();

// splitmix64's finaliser: every input bit flips about half the output bits, so consecutive flow ids
// spread evenly over any number of next hops, and the result is identical on every platform.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t ecmp_hash(std::uint64_t flow, std::uint64_t seed, NodeId node) {
  return mix(mix(mix(seed) ^ flow) ^ node);
}

}  // namespace

Router::Router(const Topology& t) : topo_(&t), adj_(t), dist_(t.nodes.size()), next_(t.nodes.size()) {}

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
  return path(topo_->ranks.at(src_rank).gpu, topo_->ranks.at(dst_rank).gpu, flow, seed);
}

}  // namespace fabtwin::topo
