#include "fabtwin/experiment/report.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "fabtwin/topo/io.hpp"
#include "fabtwin/version.hpp"

namespace fabtwin::experiment {

nlohmann::json provenance(const topo::Topology* topology) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char stamp[32] = {};
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  nlohmann::json p = {
      {"fabtwin_version", kVersion},
      {"git_revision", kGitRevision},
      {"ns3_version", kNs3Version},
      {"rdma_core_version", kRdmaCoreVersion},
      {"host", host},
      {"time", stamp},
  };
  if (topology != nullptr) {
    p["topology"] = topology->name;
    // FNV-1a of the canonical JSON: stable across runs, machines and compilers.
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : topo::to_json(*topology).dump()) {
      h ^= c;
      h *= 1099511628211ull;
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    p["topology_hash"] = hex;
  }
  return p;
}

namespace {

nlohmann::json events_json(const std::vector<backend::LinkEvent>& link_events,
                           const topo::Topology& topology) {
  nlohmann::json events = nlohmann::json::array();
  for (const auto& e : link_events) {
    events.push_back(
        {{"link", topo::link_label(topology, e.link)}, {"at_s", e.at.count()}, {"factor", e.factor}});
  }
  return events;
}

nlohmann::json packet_json(const packet::PacketConfig& config, const topo::Topology& topology) {
  const nlohmann::json events = events_json(config.link_events, topology);
  return {{"fabric", packet::to_string(config.fabric)},
          {"routing", packet::to_string(config.routing)},
          {"cc", packet::to_string(config.cc)},
          {"pfc", config.pfc},
          {"switch_buffer_bytes", config.switch_buffer.count()},
          {"pfc_xoff_bytes", config.pfc_xoff.count()},
          {"pfc_xon_bytes", config.pfc_xon.count()},
          {"credit_buffer_bytes", config.credit_buffer.count()},
          {"ecn",
           {{"kmin_bytes", config.ecn.kmin.count()},
            {"kmax_bytes", config.ecn.kmax.count()},
            {"pmax", config.ecn.pmax}}},
          {"rto_s", config.retransmit_timeout.count()},
          {"link_events", events}};
}

}  // namespace

results::Run run_header(const Scenario& s, std::int32_t ranks) {
  results::Run run;
  run.backend = to_string(s.backend);
  run.collective = coll::to_string(s.collective);
  run.algorithm = s.algorithm;
  run.ranks = ranks;
  run.dtype = coll::to_string(s.options.dtype);
  run.op = coll::to_string(s.options.op);
  run.seed = s.seed;
  run.options = {{"per_message_s", s.endpoint.per_message.count()},
                 {"reduce_rate_bps", s.endpoint.reduce_rate.count()}};
  if (s.backend == BackendKind::packet) run.options["packet"] = packet_json(s.packet, s.topology);
  if (s.backend == BackendKind::flow) {
    run.options["flow"] = {{"model", flow::model_description()},
                           {"routing", backend::to_string(s.flow.routing)},
                           {"link_events", events_json(s.flow.link_events, s.topology)}};
  }
  return run;
}

namespace {

// A busy link direction as both fabric models report it; `bytes_key` says what its bytes count.
nlohmann::json link_use_json(const topo::Topology& t, topo::LinkId link, bool forward, const char* bytes_key,
                             std::uint64_t bytes, Seconds busy, Seconds simulated) {
  const auto& l = t.links[link];
  return {{"from", t.nodes[forward ? l.a : l.b].name},
          {"to", t.nodes[forward ? l.b : l.a].name},
          {bytes_key, bytes},
          {"busy_s", busy.count()},
          {"utilization", busy.count() / std::max(simulated.count(), 1e-12)}};
}

}  // namespace

nlohmann::json fabric_json(const packet::FabricReport& f, const topo::Topology& t) {
  nlohmann::json busiest = nlohmann::json::array();
  for (const auto& u : f.busiest) {
    busiest.push_back(link_use_json(t, u.link, u.forward, "wire_bytes", u.wire_bytes, u.busy, f.simulated));
  }
  return {{"busiest_links", busiest},
          {"peak_queue_bytes", f.peak_queue_bytes},
          {"peak_queue_port", f.peak_queue_port},
          {"pfc_pauses", f.pfc_pauses},
          {"drops", f.drops},
          {"retransmitted_packets", f.retransmitted_packets},
          {"timeouts", f.timeouts},
          {"ecn_marks", f.ecn_marks},
          {"cnps", f.cnps},
          {"data_packets", f.data_packets},
          {"packet_hops", f.packet_hops},
          {"events", f.events},
          {"simulated_s", f.simulated.count()},
          {"wall_s", f.wall_s}};
}

nlohmann::json flow_fabric_json(const flow::FlowReport& f, const topo::Topology& t) {
  nlohmann::json busiest = nlohmann::json::array();
  for (const auto& u : f.busiest) {
    busiest.push_back(link_use_json(t, u.link, u.forward, "bytes", u.bytes, u.busy, f.simulated));
  }
  return {{"busiest_links", busiest},     {"flows", f.flows},
          {"rerouted_flows", f.rerouted}, {"simulated_s", f.simulated.count()},
          {"wall_s", f.wall_s},           {"peak_memory_bytes", f.peak_memory_bytes}};
}

}  // namespace fabtwin::experiment
