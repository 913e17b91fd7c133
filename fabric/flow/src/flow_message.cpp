#include "flow_message.hpp"

#include <algorithm>
#include <cmath>

#include "fabtwin/topo/wire.hpp"

namespace fabtwin::flow {

double payload_rate(const topo::Link& l) {
  const double mtu = static_cast<double>(l.mtu.count());
  const double per_packet = topo::frame_format(l.layer).per_packet;
  return l.bandwidth.count() / 8.0 * mtu / (mtu + per_packet);
}

std::vector<LinkUse> busiest(const std::vector<std::uint64_t>& lane_bytes,
                             const std::vector<double>& lane_rate) {
  std::vector<LinkUse> v;
  for (std::uint32_t lane = 0; lane < lane_bytes.size(); ++lane) {
    if (lane_bytes[lane] == 0) continue;
    v.push_back({lane / 2, lane % 2 == 0, lane_bytes[lane],
                 Seconds(static_cast<double>(lane_bytes[lane]) / lane_rate[lane])});
  }
  std::stable_sort(v.begin(), v.end(), [](const LinkUse& a, const LinkUse& b) { return a.busy > b.busy; });
  if (v.size() > 10) v.resize(10);
  return v;
}

namespace {

struct PathTiming {
  double latency = 0;
  double fill = 0;
  double ack = 0;
};

PathTiming path_timing(const topo::Topology& t, const topo::Path& path, std::uint64_t bytes) {
  constexpr double kAethBytes = 4;
  PathTiming p;
  double slowest_packet = 0;
  for (const auto& hop : path) {
    const topo::Link& l = t.links[hop.link];
    const double per_packet = topo::frame_format(l.layer).per_packet;
    const double byte_time = 8.0 / l.bandwidth.count();
    const double packet =
        (static_cast<double>(std::min<std::uint64_t>(bytes, l.mtu.count())) + per_packet) * byte_time;
    p.latency += l.latency.count();
    p.fill += packet;
    slowest_packet = std::max(slowest_packet, packet);
    p.ack += l.latency.count() + (per_packet + kAethBytes) * byte_time;
  }
  p.fill -= slowest_packet;
  return p;
}

}  // namespace

MessageTiming message_timing(const coll::Protocol& protocol, std::uint64_t payload, std::int32_t from,
                             std::int32_t to, const topo::Path& path, const backend::Placement& placement,
                             const backend::EndpointCosts& endpoint) {
  const topo::Topology& t = placement.topology();
  const auto cost = backend::message_cost(protocol, payload, placement.crosses_hosts(from, to),
                                          Seconds(path_timing(t, path, 0).latency), endpoint);
  MessageTiming m;
  m.wire_bytes = static_cast<std::uint64_t>(
      std::ceil(static_cast<double>(cost.wire_bytes) / placement.efficiency(from, to)));
  if (cost.least.count() > 0) m.rate_cap = static_cast<double>(m.wire_bytes) / cost.least.count();
  const PathTiming timing = path_timing(t, path, m.wire_bytes);
  m.ack = timing.ack;
  m.delay = cost.fixed.count() + timing.latency + timing.fill;
  if (path.empty()) m.delay += endpoint.copy_time(Bytes(m.wire_bytes)).count();
  return m;
}

}  // namespace fabtwin::flow
