#include "fabtwin/coll/nccl.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace fabtwin::coll::nccl {

namespace {

constexpr std::size_t idx(auto e) {
  return static_cast<std::size_t>(e);
}

// include/device.h: LL moves 8 B of data with an 8 B flag; LL128 120 B of data per 128 B line.
// Step payloads per connection: Simple 4 MiB buffer / NCCL_STEPS (8); LL 512 KiB buffer of 16 B
// lines / 8 steps, half payload; LL128 NCCL_LL128_ELEMS_PER_THREAD (120) x 640 threads x 8 B per step
// less the flag words. Thresholds: NCCL_*_THREAD_THRESHOLD (device.h).
constexpr std::array<ProtoInfo, 3> kProtos = {{
    {0.5, 32 * 1024, 512, 8},
    {120.0 / 128.0, 576000, 640, 8},
    {1.0, 512 * 1024, 512, 64},
}};

// graph/tuning.cc baseLat[algo][proto] (LL, LL128, Simple).
constexpr double kBaseLat[6][3] = {{6.8, 14.0, 8.4}, {6.6, 14.0, 8.4}, {0, 0, 0},
                                   {0, 0, 0},        {0, 0, 0},        {0, 0, 0}};
// graph/tuning.cc hwLat[NVLINK|PCI|NET][algo][proto].
constexpr double kHwLat[3][6][3] = {
    {{.6, 1.25, 4}, {.6, 1.9, 3.4}, {0, 0, 3.7}, {0, 0, 2.8}, {0, 0, 25}, {0, 0, 25}},
    {{1.0, 1.9, 4}, {1.0, 2.5, 5.7}, {0, 0, 3.7}, {0, 0, 2.8}, {0, 0, 0}, {0, 0, 0}},
    {{5.0, 8.5, 14}, {2.7, 4.0, 14.0}, {0, 0, 31}, {0, 0, 30}, {0, 0, 18}, {0, 0, 20.9}},
};

constexpr std::int32_t kMaxChannels = 64;

}  // namespace

const char* to_string(Algo a) {
  static const char* names[] = {"Tree", "Ring", "CollNetDirect", "CollNetChain", "NVLS", "NVLSTree"};
  return names[idx(a)];
}

const char* to_string(Proto p) {
  static const char* names[] = {"LL", "LL128", "Simple"};
  return names[idx(p)];
}

std::optional<Proto> proto_from_string(const std::string& s) {
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "ll") return Proto::ll;
  if (lower == "ll128") return Proto::ll128;
  if (lower == "simple") return Proto::simple;
  return std::nullopt;
}

const ProtoInfo& info(Proto p) {
  return kProtos[idx(p)];
}

double base_latency_us(Algo a, Proto p) {
  return kBaseLat[idx(a)][idx(p)];
}

double hw_latency_us(Hw hw, Algo a, Proto p) {
  return kHwLat[idx(hw)][idx(a)][idx(p)];
}

double net_overhead_us(Proto p) {
  return p == Proto::simple ? 3.0 : 1.0;
}

std::int32_t default_channels(std::int32_t nics_per_host) {
  return std::clamp(2 * std::max(1, nics_per_host), 2, kMaxChannels);
}

std::int32_t channels_for_size(Algo a, Proto p, std::int32_t channels, std::uint64_t bytes,
                               std::int32_t ranks) {
  const ProtoInfo& pi = info(p);
  std::uint64_t threshold = static_cast<std::uint64_t>(pi.thread_threshold);
  if (a == Algo::ring && p == Proto::ll) threshold *= static_cast<std::uint64_t>(std::max(1, ranks));
  std::int32_t nc = std::max(1, channels);
  while (nc > 1 && bytes < static_cast<std::uint64_t>(nc) * pi.threads * threshold) --nc;
  return nc;
}

Protocol protocol_costs(Algo a, Proto p, std::int32_t nodes) {
  Protocol out;
  out.name = to_string(p);
  out.payload_fraction = info(p).payload_fraction;
  if (a == Algo::nvls || a == Algo::nvls_tree) {
    // tuning.cc counts NVLS's NVLink latency once per call, not per hop; the network's per tree hop.
    out.call = Seconds(hw_latency_us(Hw::nvlink, a, p) * 1e-6);
    out.network_hop = Seconds(hw_latency_us(Hw::net, a, p) * 1e-6);
    return out;
  }
  out.call = Seconds(base_latency_us(a, p) * 1e-6);
  double intra = hw_latency_us(Hw::nvlink, a, p);
  if (nodes > 1) intra = std::max(intra, net_overhead_us(p));
  out.intra_hop = Seconds(intra * 1e-6);
  out.network_hop = Seconds(hw_latency_us(Hw::net, a, p) * 1e-6);
  return out;
}

}  // namespace fabtwin::coll::nccl
