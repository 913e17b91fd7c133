// Shortest-path routing with ECMP, shared by the cost model and the packet simulator so that both
// see the same collisions for the same seed.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "fabtwin/topo/topology.hpp"

namespace fabtwin::topo {

// One hop of a path: the link and the direction it is crossed in (true when from link.a to link.b).
struct Hop {
  LinkId link;
  bool forward;
};
using Path = std::vector<Hop>;

// The flow a pair of ranks' queue pair hashes as, so that every backend puts it on the same ECMP path.
inline std::uint64_t rank_pair_flow(std::int32_t from, std::int32_t to) {
  return static_cast<std::uint64_t>(static_cast<std::uint32_t>(from)) << 32 | static_cast<std::uint32_t>(to);
}

class Router {
 public:
  explicit Router(const Topology& t);

  // Equal-cost next hops (in hop count) from `at` toward `dst`, in ascending link id order.
  const std::vector<Adjacency::Edge>& next_hops(NodeId at, NodeId dst) const;
  std::uint32_t distance(NodeId from, NodeId to) const;

  // Per-flow ECMP: at every node the next hop is chosen by a hash of (flow, seed, node), as a switch
  // hashing a flow's 5-tuple would. Throws std::runtime_error when dst is unreachable.
  Path path(NodeId src, NodeId dst, std::uint64_t flow, std::uint64_t seed) const;

  // Path between two ranks' GPUs. Inside a host: GPU -> NVSwitch -> GPU. Across hosts: GPU -> the
  // rank's NIC -> an up-down path through the tiered network -> NIC -> GPU, as NCCL routes by default.
  // Where the rank's NIC cannot reach the destination (rail-only fabrics between rails) it goes over
  // NVLink to a GPU of the same host whose NIC can (PXN); failing that (fabrics without tiers), the
  // shortest path over every link.
  Path rank_path(std::int32_t src_rank, std::int32_t dst_rank, std::uint64_t flow, std::uint64_t seed) const;

  // Up-down path between two NICs: up through higher tiers until a switch whose subtree holds the
  // destination's leaf, then down, each step an ECMP choice by the flow hash. Needs no table per
  // destination, so it scales to any fabric size. Empty when the network has no such path.
  std::optional<Path> up_down_path(NodeId src_nic, NodeId dst_nic, std::uint64_t flow,
                                   std::uint64_t seed) const;

  const Topology& topology() const { return *topo_; }

 private:
  const Topology* topo_;
  Adjacency adj_;
  // Up-down state: per node its tier in the network (NIC 0, switch >= 1, otherwise -1), the leaf bit
  // of switches that NICs attach to, and per switch two bitsets over leaves: reachable going only
  // down (reach) and going up then down (cover).
  std::vector<std::int32_t> tier_;
  std::vector<std::int32_t> leaf_bit_;
  std::vector<std::uint32_t> row_;
  std::size_t words_ = 0;
  std::vector<std::uint64_t> reach_;
  std::vector<std::uint64_t> cover_;
  bool has(const std::vector<std::uint64_t>& sets, NodeId n, std::int32_t bit) const;
  void build_up_down();
  // dist_[dst][node]: hop count from node to dst (BFS from each destination, computed lazily).
  mutable std::vector<std::vector<std::uint32_t>> dist_;
  mutable std::vector<std::vector<std::vector<Adjacency::Edge>>> next_;
  void ensure(NodeId dst) const;
};

}  // namespace fabtwin::topo
