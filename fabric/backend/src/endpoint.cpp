#include "fabtwin/backend/endpoint.hpp"

#include <algorithm>
#include <cmath>

namespace fabtwin::backend {

Seconds local_step_time(const coll::Step& step, const EndpointCosts& costs) {
  switch (step.kind) {
    case coll::StepKind::reduce:
      return costs.reduce_time(Bytes(step.src.bytes));
    case coll::StepKind::copy:
      return costs.copy_time(Bytes(step.src.bytes));
    case coll::StepKind::send:
    case coll::StepKind::recv:
      break;
  }
  return Seconds(0);
}

}  // namespace fabtwin::backend

namespace fabtwin::backend {

MessageCost message_cost(const coll::Protocol& protocol, std::uint64_t payload, bool crosses_hosts,
                         Seconds path_latency, const EndpointCosts& costs) {
  if (protocol.empty()) return {costs.per_message, payload};
  const double wire = std::ceil(static_cast<double>(payload) / protocol.payload_fraction);
  const Seconds hop = crosses_hosts ? protocol.network_hop : protocol.intra_hop;
  const Seconds least =
      protocol.channel_rate.count() > 0 ? transfer_time(Bytes(payload), protocol.channel_rate) : Seconds(0);
  return {std::max(Seconds(0), hop - path_latency), static_cast<std::uint64_t>(wire), least};
}

}  // namespace fabtwin::backend
