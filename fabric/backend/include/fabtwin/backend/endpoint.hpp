// What every backend charges at a rank, apart from the network: one definition, so that two backends
// differ only by what their fabric does, and the command line's defaults are printed from here.
#pragma once

#include "fabtwin/coll/plan.hpp"
#include "fabtwin/units.hpp"

namespace fabtwin::backend {

struct EndpointCosts {
  // Per-message cost at the endpoints (work-request posting, completion handling, kernel launch).
  Seconds per_message{2e-6};
  // Reduction and local copy throughput of a rank (GPU memory bound).
  BitsPerSecond reduce_rate{500e9 * 8};
  BitsPerSecond copy_rate{1000e9 * 8};

  Seconds reduce_time(Bytes b) const { return transfer_time(b, reduce_rate); }
  Seconds copy_time(Bytes b) const { return transfer_time(b, copy_rate); }
};

// What one transfer costs beside the links it crosses: a fixed cost and the bytes its protocol puts
// on the wire for `payload`. Plans without a protocol pay the endpoint's per-message cost on top of the
// path's link latencies (`path_latency`); a protocol's per-hop latency (inside a host or across the
// network) was measured end to end, so it includes the links' own latency and only the rest is added.
struct MessageCost {
  Seconds fixed;
  std::uint64_t wire_bytes = 0;
  Seconds least{0};  // the shortest it can take: its channel's protocol ceiling on the payload
};
MessageCost message_cost(const coll::Protocol& protocol, std::uint64_t payload, bool crosses_hosts,
                         Seconds path_latency, const EndpointCosts& costs);

// How long a reduce or copy step takes at the rank's rate (zero for sends and receives, whose cost
// is the fabric's).
Seconds local_step_time(const coll::Step& step, const EndpointCosts& costs);

}  // namespace fabtwin::backend
