#include "fabtwin/experiment/nccl_tuner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>

#include "fabtwin/topo/node.hpp"

namespace fabtwin::experiment {

namespace {

using coll::nccl::Algo;
using coll::nccl::Proto;

// graph/search.cc: the per-channel speeds the search tries, highest first (GB/s).
constexpr double kSpeedsInter[] = {48.0, 30.0, 28.0, 24.0, 20.0, 18.0, 15.0, 12.0, 10.0, 9.0,
                                   7.0,  6.0,  5.0,  4.0,  3.0,  2.4,  1.2,  0.24, 0.12};
constexpr double kSm90SpeedsInter[] = {48.0, 45.0, 42.0, 40.0, 30.0, 24.0, 22.0, 20.0, 17.5,
                                       15.0, 12.0, 6.0,  3.0,  2.4,  1.2,  0.24, 0.12};

// graph/topo.h: PCIe as NCCL counts it, 12 GB/s per Gen3 x16, doubling per generation.
double pcie_gbps(double raw_gbps) {
  return raw_gbps * 0.75;
}

template <std::size_t N>
double fit_speed(const double (&speeds)[N], double limit) {
  for (double s : speeds) {
    if (s <= limit + 1e-9) return s;
  }
  return speeds[N - 1];
}

// graph/tuning.cc, indexed [arch: Volta, Ampere, Hopper][nodes: 1, 2, more].
constexpr double kLlMaxBw[3][3] = {{39.0, 39.0, 20.4}, {87.7, 22.5, 19.0}, {141.0, 45.0, 35.0}};
constexpr double kPerChRingLl128Bw[3][3] = {{20.0, 20.0, 20.0}, {20.0, 20.0, 20.0}, {36.7, 36.7, 36.7}};
constexpr double kPerChTreeBw[3][3] = {{26.5, 18.5, 10.0}, {24.0, 23.6, 17.8}, {38.7, 41.4, 36.0}};

std::size_t arch_index(std::int32_t sm) {
  return sm >= 90 ? 2 : sm >= 80 ? 1 : 0;
}

std::size_t nodes_index(std::int32_t nodes) {
  return nodes <= 2 ? static_cast<std::size_t>(nodes - 1) : 2;
}

double ring_bus_bw(const NcclSystem& sys, Proto p) {
  const double bus = sys.search_channels * sys.channel_bw;
  const std::size_t a = arch_index(sys.sm), n = nodes_index(sys.nodes);
  switch (p) {
    case Proto::ll:
      return std::min(kLlMaxBw[a][n], bus * 0.25);
    case Proto::ll128:
      return std::min(bus * 0.92, sys.search_channels * kPerChRingLl128Bw[a][n]);
    case Proto::simple:
      return bus;
  }
  return bus;
}

double ring_latency_us(const NcclSystem& sys, Proto p, std::uint64_t bytes, std::int32_t channels) {
  const double nsteps = 2.0 * (sys.ranks - 1);
  const double inter_steps = sys.nodes > 1 ? 2.0 * (sys.nodes - 1) : 0.0;
  double intra = coll::nccl::hw_latency_us(coll::nccl::Hw::nvlink, Algo::ring, p);
  if (sys.nodes > 1) intra = std::max(intra, coll::nccl::net_overhead_us(p));
  const double inter = coll::nccl::hw_latency_us(coll::nccl::Hw::net, Algo::ring, p);
  double lat = coll::nccl::base_latency_us(Algo::ring, p) + (nsteps - inter_steps) * intra + inter_steps * inter;
  // enqueue.cc: the plateau of multi-node Simple rings once each rank's share per channel is >= 64 B.
  if (p == Proto::simple && sys.nodes > 1 &&
      bytes / static_cast<std::uint64_t>(std::max(1, channels * sys.ranks)) >= 64) {
    lat *= sys.sm < 80 ? 1.9 : 1.4;
  }
  return lat;
}

}  // namespace

NcclSystem nccl_system(const topo::Topology& t, const coll::Group& group) {
  NcclSystem sys;
  sys.ranks = group.ranks;
  std::set<std::int32_t> hosts, nics;
  for (std::int32_t r = 0; r < group.ranks; ++r) {
    hosts.insert(group.host_of(r));
    if (group.host_of(r) == group.host_of(0)) nics.insert(t.ranks.at(r).nic);
  }
  sys.nodes = static_cast<std::int32_t>(hosts.size());
  sys.nics_per_node = static_cast<std::int32_t>(nics.size());
  const topo::GpuModel* gpu = topo::gpu_model_of(t);
  sys.sm = gpu != nullptr ? gpu->sm : 90;
  // The rank 0 NIC's rates: its PCIe link to the GPU and its network port.
  const topo::RankPlacement& r0 = t.ranks.at(0);
  double nic = 0, pcie = 0;
  for (const topo::Link& l : t.links) {
    const bool at_nic = l.a == r0.nic || l.b == r0.nic;
    if (!at_nic) continue;
    const double gbps = l.bandwidth.count() / 8e9;
    if (l.layer == topo::LinkLayer::pcie) pcie = std::max(pcie, gbps);
    if (l.layer == topo::LinkLayer::roce || l.layer == topo::LinkLayer::infiniband) nic = std::max(nic, gbps);
  }
  sys.search_channels = std::max(1, sys.nics_per_node);
  const double limit = std::min(nic > 0 ? nic : pcie_gbps(pcie), pcie > 0 ? pcie_gbps(pcie) : nic);
  sys.channel_bw = sys.sm >= 90 ? fit_speed(kSm90SpeedsInter, limit) : fit_speed(kSpeedsInter, limit);
  std::ostringstream why;
  why << sys.search_channels << " search channels (one per NIC) at " << sys.channel_bw
      << " GB/s (NIC " << nic << " GB/s, PCIe " << pcie_gbps(pcie) << " GB/s as NCCL counts it)";
  sys.why = why.str();
  return sys;
}

double nccl_model_time_us(const NcclSystem& sys, Algo algo, Proto proto, std::uint64_t bytes) {
  if (algo != Algo::ring) return -1;
  const double ratio = sys.ranks > 1 ? static_cast<double>(sys.ranks) / (2.0 * (sys.ranks - 1)) : 1.0;
  const double alg_bw = ring_bus_bw(sys, proto) * ratio;
  const std::int32_t channels = coll::nccl::channels_for_size(
      algo, proto, coll::nccl::default_channels(sys.nics_per_node), bytes, sys.ranks);
  return ring_latency_us(sys, proto, bytes, channels) + static_cast<double>(bytes) / (1000.0 * alg_bw);
}

NcclChoice nccl_choose(const NcclSystem& sys, const std::vector<Algo>& algos, const std::vector<Proto>& protos,
                       std::uint64_t bytes) {
  NcclChoice best{Algo::ring, Proto::simple, std::numeric_limits<double>::infinity(), 0};
  for (Algo a : algos) {
    for (Proto p : protos) {
      const double t = nccl_model_time_us(sys, a, p, bytes);
      if (t < 0 || t >= best.model_time_us) continue;
      best = {a, p, t, t > 0 ? static_cast<double>(bytes) / (1000.0 * t) : 0};
    }
  }
  if (!std::isfinite(best.model_time_us)) {
    throw std::invalid_argument("NCCL's model has no algorithm for this call among those allowed");
  }
  return best;
}

}  // namespace fabtwin::experiment
