// What one message costs the flow model beside its bytes in the solver, and each link's payload rate:
// shared by the plan backend (SimGrid) and the round solver, so that both charge a message alike.
#pragma once

#include <cstdint>
#include <vector>

#include "fabtwin/backend/endpoint.hpp"
#include "fabtwin/backend/placement.hpp"
#include "fabtwin/coll/plan.hpp"
#include "fabtwin/flow/flow.hpp"
#include "fabtwin/topo/routing.hpp"

namespace fabtwin::flow {

// A link direction as the flow model indexes it.
inline std::uint32_t lane_of(const topo::Hop& h) {
  return 2u * h.link + (h.forward ? 0u : 1u);
}

// A link's payload rate in bytes per second: its raw rate less the headers of full-MTU packets.
double payload_rate(const topo::Link& l);

// The link directions that carried bytes, busiest first by bytes over their rate, at most ten: what
// the plan backend and the round solver both report.
std::vector<LinkUse> busiest(const std::vector<std::uint64_t>& lane_bytes,
                             const std::vector<double>& lane_rate);

struct MessageTiming {
  std::uint64_t wire_bytes = 0;  // the protocol's bytes, counted as more below full link efficiency
  double delay = 0;              // from posting to the bytes entering the solver
  double ack = 0;                // from delivery to the send's completion
  double rate_cap = -1;          // bytes per second the protocol allows one message, -1 for none
};

// A message of `payload` from `from` to `to` over `path`, as the packet model's queue pairs time it:
// its latency (the per-message cost or the protocol's hop, the links' latency); the first packet's
// store-and-forward through every hop but the one whose rate the fluid bytes already pay; and, for the
// sender, the acknowledgement's way back (an RDMA write completes at its requester when the ACK
// arrives, AETH on the transport headers). Over an empty path (one GPU to itself) the bytes are a copy.
MessageTiming message_timing(const coll::Protocol& protocol, std::uint64_t payload, std::int32_t from,
                             std::int32_t to, const topo::Path& path, const backend::Placement& placement,
                             const backend::EndpointCosts& endpoint);

}  // namespace fabtwin::flow
