// NCCL's cost model for all-reduce (NVIDIA/nccl v2.30 graph/tuning.cc ncclTopoTuneModel and
// ncclTopoGetAlgoTime, enqueue.cc topoGetAlgoInfo), on the system nccl_search.cpp finds.
#include "fabtwin/experiment/nccl_tuner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace fabtwin::experiment {

namespace {

using coll::nccl::Algo;
using coll::nccl::Hw;
using coll::nccl::Proto;

// tuning.cc, indexed [arch: Volta, Ampere, Hopper, Blackwell][nodes: 1, 2, more].
constexpr double kLlMaxBw[4][3] = {
    {39.0, 39.0, 20.4}, {87.7, 22.5, 19.0}, {141.0, 45.0, 35.0}, {282.0, 90.0, 70.0}};
constexpr double kPerChRingLl128[4][3] = {{20, 20, 20}, {20, 20, 20}, {36.7, 36.7, 36.7}, {40, 40, 40}};
constexpr double kPerChTreeLl128[4][3] = {
    {20, 20, 20}, {20, 20, 20}, {36.7, 36.7, 29.0}, {55.6, 31.67, 20.0}};
constexpr double kPerChTree[4][3] = {
    {26.5, 18.5, 10.0}, {24.0, 23.6, 17.8}, {38.7, 41.4, 36.0}, {70.0, 42.8, 24.0}};
constexpr double kPerChNvlsTree[4][3] = {
    {26.5, 18.5, 10.0}, {24.0, 23.6, 17.8}, {0.0, 57.7, 45.5}, {0.0, 96.0, 80.0}};
constexpr double kNvlsEfficiency[4] = {0.0, 0.0, 0.85, 0.74};
// ncclTopoGetAlgoTime's treeCorrectionFactor[proto][log2(bytes / 64)].
constexpr double kTreeCorrection[3][24] = {
    {1.0, 1.0, 1.0, 1.0, .9, .8, .7, .7, .7, .7, .6, .5, .4, .4, .5, .6, .7, .8, .9, 1.0, 1.0, 1.0, 1.0, 1.0},
    {1.0, 1.0, 1.0, 1.0, 1.0, .9, .8, .8, .8, .7, .6, .6, .6, .6, .6, .6, .8, .9, .9, .9, .9, 1.0, 1.0, 1.0},
    {.9, .9, .9, .9, .9, .9, .9, .8, .7, .6, .6, .5, .5, .5, .5, .6, .7, .8, .7, .7, .8, .9, .9, .9}};

std::size_t arch(const NcclSystem& s) {
  return s.sm >= 100 ? 3 : s.sm >= 90 ? 2 : s.sm >= 80 ? 1 : 0;
}
std::size_t node_column(const NcclSystem& s) {
  return s.nodes <= 2 ? static_cast<std::size_t>(s.nodes - 1) : 2;
}
// Multi-node LL caps are indexed by CPU vendor (Intel hosts: row 0), one node by GPU architecture.
double ll_max(const NcclSystem& s) {
  return kLlMaxBw[s.nodes == 1 ? arch(s) : 0][node_column(s)];
}

// busBw after the protocol refinements, then the algorithm bandwidth (tuning.cc); 0 when disabled.
double algorithm_bw(const NcclSystem& s, Algo a, Proto p) {
  const std::size_t ar = arch(s), nc = node_column(s);
  const double ch = s.search_channels;
  if (a == Algo::nvls || a == Algo::nvls_tree) {
    if (!s.nvls || p != Proto::simple || (a == Algo::nvls) != (s.nodes == 1) || s.nvls_heads < 2) return 0;
    const double intra = s.nvls_bw_intra * kNvlsEfficiency[ar] * (s.nvls_heads - 1) / s.nvls_heads * 2;
    const double inter = s.nvls_bw_inter * (s.nodes <= 2 && a == Algo::nvls_tree ? 2 : 1);
    double bw = std::min(intra, inter);
    if (a == Algo::nvls_tree) bw = std::min(bw, kPerChNvlsTree[ar][nc]);
    return s.nvls_heads * bw * s.ranks / (2.0 * (s.ranks - 1));
  }
  double bus = ch * s.channel_bw;
  if (a == Algo::ring) {
    if (p == Proto::ll) bus = std::min(ll_max(s), bus * 0.5);
    if (p == Proto::ll128) bus = std::min(bus * 0.92, ch * kPerChRingLl128[ar][nc]);
    return s.ranks > 1 ? bus * s.ranks / (2.0 * (s.ranks - 1)) : bus;
  }
  if (a == Algo::tree) {
    bus = std::min(bus * 0.92, ch * kPerChTree[ar][nc]);
    if (p == Proto::ll) bus = std::min(bus / 3.8, ll_max(s));
    if (p == Proto::ll128)
      bus = std::min(bus * (s.nodes == 1 ? 7.0 / 9.0 : 120.0 / 128.0), ch * kPerChTreeLl128[ar][nc]);
    return bus * 0.5;
  }
  return 0;
}

double latency_us(const NcclSystem& s, Algo a, Proto p) {
  const double intra = coll::nccl::hw_latency_us(Hw::nvlink, a, p);
  const double inter = coll::nccl::hw_latency_us(Hw::net, s.ppn == 1 ? Algo::tree : a, p);
  const double base = coll::nccl::base_latency_us(a, p);
  switch (a) {
    case Algo::ring: {
      const double nsteps = 2.0 * (s.ranks - 1);
      const double inter_steps = s.nodes > 1 ? 2.0 * (s.nodes - 1) : 0.0;
      const double hop = s.nodes > 1 ? std::max(intra, coll::nccl::net_overhead_us(p)) : intra;
      return base + (nsteps - inter_steps) * hop + inter_steps * inter;
    }
    case Algo::tree:
      return base + 2 * ((s.ranks / s.nodes - 1) * intra +
                         coll::nccl::log2_floor(static_cast<std::uint64_t>(s.nodes)) * inter);
    case Algo::nvls:
      return intra;
    case Algo::nvls_tree:
      return base + intra + 2 * coll::nccl::log2_floor(static_cast<std::uint64_t>(s.nodes)) * inter;
    default:
      return base;
  }
}

}  // namespace

double nccl_channel_rate_gbps(const NcclSystem& s, Algo a, Proto p, std::int32_t channels) {
  if (p == Proto::simple || (a != Algo::ring && a != Algo::tree) || s.ranks < 2) return 0;
  // NCCL's model gives the call its bandwidth whatever channels it runs on; spread over them, a ring
  // channel's hops each move busBw / channels, a tree channel's edges algBw / channels.
  const double alg = algorithm_bw(s, a, p);
  const double bus = a == Algo::ring ? alg * 2.0 * (s.ranks - 1) / s.ranks : alg;
  return bus / std::max(1, channels);
}

std::int32_t nccl_call_channels(const NcclSystem& s, Algo a, Proto p, std::uint64_t bytes) {
  if (a == Algo::nvls || a == Algo::nvls_tree) return s.nvls_channels;
  return coll::nccl::channels_for_size(a, p, s.comm_channels, bytes, s.ranks);
}

double nccl_model_time_us(const NcclSystem& s, Algo a, Proto p, std::uint64_t bytes) {
  if (s.ranks < 2) return a == Algo::ring ? 0.0 : -1.0;
  double bw = algorithm_bw(s, a, p);
  if (!(bw > 0)) return -1;
  const int log_size = coll::nccl::log2_floor(bytes >> 6);
  if (a == Algo::tree && log_size >= 0 && log_size < 24) bw *= kTreeCorrection[static_cast<int>(p)][log_size];
  double lat = latency_us(s, a, p);
  // The plateau of multi-node Simple rings once each rank's share per channel is 64 B or more.
  if (a == Algo::ring && p == Proto::simple && s.nodes > 1 &&
      bytes / static_cast<std::uint64_t>(s.comm_channels * s.ranks) >= 64) {
    lat *= s.sm < 80 ? 1.9 : 1.4;
  }
  return lat + static_cast<double>(bytes) / (1000.0 * bw);
}

NcclChoice nccl_choose(const NcclSystem& sys, const std::vector<Algo>& algos,
                       const std::vector<Proto>& protos, std::uint64_t bytes) {
  NcclChoice best{Algo::ring, Proto::simple, std::numeric_limits<double>::infinity(), 0};
  for (Algo a : algos) {
    for (Proto p : protos) {
      const double t = nccl_model_time_us(sys, a, p, bytes);
      if (t < 0 || t >= best.model_time_us) continue;
      best = {a, p, t, nccl_call_channels(sys, a, p, bytes)};
    }
  }
  if (!std::isfinite(best.model_time_us)) {
    throw std::invalid_argument(
        "NCCL's model runs none of the algorithms allowed here with the protocols allowed "
        "(NVLS needs Hopper or later and Simple; NVLSTree more than one node)");
  }
  return best;
}

}  // namespace fabtwin::experiment
