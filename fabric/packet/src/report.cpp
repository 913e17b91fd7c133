#include "report.hpp"

#include <algorithm>

#include "sim.hpp"

namespace fabtwin::packet {

namespace {

// Adds the ports' frames, drops and peak queue to `r`, and returns the links in use, busiest first.
std::vector<LinkUse> port_totals(const ReportSources& from, FabricReport& r) {
  std::vector<LinkUse> uses;
  for (const auto& device : from.devices) {
    const FabricDevice& d = *device;
    const auto& s = d.stats();
    r.packet_hops += s.frames;
    r.drops += s.drops;
    if (s.wire_bytes > 0) {
      uses.push_back({d.link(), d.forward(), s.wire_bytes, seconds_of_ps(s.busy_ps)});
    }
    if (s.peak_queue_bytes > r.peak_queue_bytes) {
      r.peak_queue_bytes = s.peak_queue_bytes;
      r.peak_queue_port = topo::link_direction_name(from.topology, d.link(), d.forward());
    }
  }
  std::stable_sort(uses.begin(), uses.end(),
                   [](const LinkUse& a, const LinkUse& b) { return a.busy > b.busy; });
  return uses;
}

}  // namespace

FabricReport build_report(const ReportSources& from) {
  FabricReport r;
  std::vector<LinkUse> uses = port_totals(from, r);
  if (uses.size() > 10) uses.resize(10);
  r.busiest = std::move(uses);
  for (const auto& node : from.nodes) {
    r.pfc_pauses += node->stats().pauses;
    r.drops += node->stats().drops;
    r.ecn_marks += node->stats().marks;
  }
  for (const auto& qp : from.qps) {
    const QueuePairStats& s = qp->stats();
    r.drops += s.drops;
    r.retransmitted_packets += s.retransmitted;
    r.timeouts += s.timeouts;
    r.cnps += s.cnps;
    r.data_packets += s.data_packets;
    r.delivered_bytes += s.delivered_bytes;
  }
  r.events = ns3::Simulator::GetEventCount();
  r.simulated = seconds_of_ps(now_ps());
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - from.wall_start).count();
  return r;
}

}  // namespace fabtwin::packet
