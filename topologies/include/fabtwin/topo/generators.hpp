// Built-in fabric generators and the SPEC strings that name them on the command line.
#pragma once

#include <map>
#include <string>

#include "fabtwin/topo/topology.hpp"

namespace fabtwin::topo {

// Parameters every generator accepts. Host-internal links default to an H100-class node.
struct CommonParams {
  std::int32_t gpus_per_host = 1;
  // Compute NICs per host: 0 means one per GPU. Fewer than the GPUs are shared (GPU i uses NIC
  // i / (gpus / nics)); the count must divide the GPUs.
  std::int32_t nics_per_host = 0;
  std::string gpu;             // GPU model (topo/node.hpp), recorded in the topology; empty when not said
  BitsPerSecond speed{400e9};  // every network link
  Seconds latency{1e-6};       // every network link
  Bytes mtu{4096};
  LinkLayer layer = LinkLayer::roce;
  BitsPerSecond nvlink_speed{3600e9};  // per GPU, per direction (450 GB/s)
  Seconds nvlink_latency{0.5e-6};
  BitsPerSecond pcie_speed{512e9};  // PCIe Gen5 x16, per direction
  Seconds pcie_latency{0.5e-6};
  std::int32_t planes = 1;  // identical network planes; NIC i of a host joins plane i % planes

  std::int32_t nics() const { return nics_per_host > 0 ? nics_per_host : gpus_per_host; }
};

// Al-Fares k-ary fat-tree: k pods of k/2 edge and k/2 aggregation switches, (k/2)^2 cores, k^3/4 NICs.
// `edge_oversub` / `agg_oversub` set a tier's down:up port ratio by buying fewer switches above it: a pod
// gets k/2/edge_oversub aggregation switches (each linked to every edge of the pod) and each of those
// reaches k/2/agg_oversub cores. k/2 must divide by both ratios.
struct KaryFatTreeParams {
  std::int32_t k = 4;
  std::int32_t edge_oversub = 1;
  std::int32_t agg_oversub = 1;
  CommonParams common;
};

// Two-tier leaf-spine: hosts_per_leaf hosts (each with gpus_per_host NICs) per leaf; every leaf has
// ports_down / oversub uplinks, one to each spine.
struct LeafSpineParams {
  std::int32_t hosts = 16;
  std::int32_t hosts_per_leaf = 4;
  std::int32_t oversub = 1;
  CommonParams common;
};

// Rail-optimized (DGX SuperPOD style): NIC r of every host in a group of hosts_per_leaf hosts goes to
// that group's rail-r leaf. With `rail_only` there is no spine tier: rails never meet in the network
// and cross-rail traffic must hop over NVLink inside a host (PXN).
struct RailParams {
  std::int32_t hosts = 16;
  std::int32_t hosts_per_leaf = 16;
  std::int32_t oversub = 1;
  bool rail_only = false;
  CommonParams common;
};

Topology make_kary_fat_tree(const KaryFatTreeParams& p);
Topology make_leaf_spine(const LeafSpineParams& p);
Topology make_rail(const RailParams& p);

// SPEC grammar: NAME[:key=value[,key=value...]] for the presets
//   fat-tree:k=8[,oversub=2][,oversub2=1]           three tiers (Al-Fares)
//   fat-tree:tiers=2,hosts=64[,hosts_per_leaf=8][,oversub=2]
//   rail:hosts=64,gpus=8,hosts_per_leaf=32[,oversub=1]
//   rail-only:hosts=64,gpus=8,hosts_per_leaf=32
// with common keys gpus, nics, gpu (a100|h100|b200|gb200), node (dgx-h100|...), speed, latency, mtu,
// layer (roce|ib), nvlink, pcie, planes; node= sets gpu, gpus, nics, speed and layer, gpu= sets nvlink
// and pcie, and a key given explicitly overrides either;
// anything ending in .json is read as a topology file. Throws std::invalid_argument naming the key.
Topology topology_from_spec(const std::string& spec);

// The scenario the README's demo and `fabtwin topo` without --topology use: 16 DGX H100 nodes,
// rail-optimized, 400 Gb/s InfiniBand.
inline constexpr const char* kDefaultTopologySpec = "rail:hosts=16,hosts_per_leaf=16,node=dgx-h100";

}  // namespace fabtwin::topo
