// NCCL's mechanisms as constants: its protocols, its latency tables, how many channels it runs. The
// algorithm library builds NCCL's algorithms from these, and the tuner strategy (bench/experiment)
// evaluates NCCL's own cost model with them. Every figure names where NCCL defines it (NVIDIA/nccl
// src/, v2.2x; see ../shared/NCCL-MODEL.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fabtwin/coll/plan.hpp"

namespace fabtwin::coll::nccl {

// In NCCL's order (include/device.h NCCL_ALGO_*, NCCL_PROTO_*), which its tables are indexed by.
enum class Algo { tree, ring, collnet_direct, collnet_chain, nvls, nvls_tree };
enum class Proto { ll, ll128, simple };
// Hardware classes of graph/tuning.cc's hwLat table.
enum class Hw { nvlink, pci, net };

// Buffer slots per connection (include/device.h NCCL_STEPS): a sender runs at most this many steps
// ahead of its receiver.
inline constexpr std::uint64_t kSteps = 8;

const char* to_string(Algo a);
const char* to_string(Proto p);
// Case-insensitive: "simple", "Simple", "LL128".
std::optional<Proto> proto_from_string(const std::string& s);

struct ProtoInfo {
  double payload_fraction;        // payload over wire bytes
  std::uint64_t step_bytes;       // payload one pipeline step moves per connection
  std::int32_t threads;           // threads per channel (NCCL_*_MAX_NTHREADS)
  std::int32_t thread_threshold;  // bytes per thread before another channel is worth it
};
const ProtoInfo& info(Proto p);

// graph/tuning.cc baseLat and hwLat, microseconds.
double base_latency_us(Algo a, Proto p);
double hw_latency_us(Hw hw, Algo a, Proto p);
// Per-hop proxy cost of the network on top of the NVLink hops of a multi-node ring (tuning.cc
// netOverhead: 1 us on Intel hosts, x3 for Simple).
double net_overhead_us(Proto p);

// The channels NCCL runs for a communicator: one search channel per NIC of a host (graph/search.cc),
// doubled by ncclTopoPostset (graph/connect.cc), at most 64 (MAXCHANNELS).
std::int32_t default_channels(std::int32_t nics_per_host);
// `channels` within NCCL_MIN_NCHANNELS / NCCL_MAX_NCHANNELS (0: no bound), as ncclTopoPostset clamps.
inline std::int32_t bounded_channels(std::int32_t channels, std::int32_t min_channels,
                                     std::int32_t max_channels) {
  if (max_channels > 0 && channels > max_channels) channels = max_channels;
  if (min_channels > 0 && channels < min_channels) channels = min_channels;
  return channels;
}
// The channels a call of `bytes` uses: enqueue.cc drops a channel while bytes < nc * threads *
// threshold (LL's ring threshold scales with the ranks, tuning.cc).
std::int32_t channels_for_size(Algo a, Proto p, std::int32_t channels, std::uint64_t bytes,
                               std::int32_t ranks);

// floor(log2(x)), -1 for 0: NCCL's log2i, which its tree latencies and correction table index by.
inline int log2_floor(std::uint64_t x) {
  int l = -1;
  for (; x > 0; x >>= 1) ++l;
  return l;
}

// What a plan of algorithm `a` with protocol `p` over `nodes` hosts charges per call and per hop.
Protocol protocol_costs(Algo a, Proto p, std::int32_t nodes);

}  // namespace fabtwin::coll::nccl
