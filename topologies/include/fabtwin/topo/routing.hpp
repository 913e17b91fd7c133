// Shortest-path routing with ECMP, shared by the cost model and the packet simulator so that both
// see the same collisions for the same seed.
#pragma once

#include <cstdint>
#include <vector>

#include "fabtwin/topo/topology.hpp"

namespace fabtwin::topo {

// One hop of a path: the link and the direction it is crossed in (true when from link.a to link.b).
struct Hop {
  LinkId link;
  bool forward;
};
using Path = std::vector<Hop>;

class Router {
 public:
  explicit Router(const Topology& t);

  // Equal-cost next hops (in hop count) from `at` toward `dst`, in ascending link id order.
  const std::vector<Adjacency::Edge>& next_hops(NodeId at, NodeId dst) const;
  std::uint32_t distance(NodeId from, NodeId to) const;

  // Per-flow ECMP: at every node the next hop is chosen by a hash of (flow, seed, node), as a switch
  // hashing a flow's 5-tuple would. Throws std::runtime_error when dst is unreachable.
  Path path(NodeId src, NodeId dst, std::uint64_t flow, std::uint64_t seed) const;

  // Path between two ranks' GPUs: GPU -> NVSwitch -> GPU inside a host; otherwise through the NICs.
  Path rank_path(std::int32_t src_rank, std::int32_t dst_rank, std::uint64_t flow, std::uint64_t seed) const;

  const Topology& topology() const { return *topo_; }

 private:
  const Topology* topo_;
  Adjacency adj_;
  // dist_[dst][node]: hop count from node to dst (BFS from each destination, computed lazily).
  mutable std::vector<std::vector<std::uint32_t>> dist_;
  mutable std::vector<std::vector<std::vector<Adjacency::Edge>>> next_;
  void ensure(NodeId dst) const;
};

}  // namespace fabtwin::topo
