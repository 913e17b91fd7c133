#include "sim_report.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <string>

#include "fabtwin/files.hpp"

namespace fabtwin::cli {

namespace {

void print_fabric(std::ostream& out, const packet::FabricReport& f, const topo::Topology& t, Bytes size) {
  char line[256];
  out << "#\n# packet fabric at " << format_bytes(size) << ":\n";
  for (std::size_t i = 0; i < f.busiest.size() && i < 3; ++i) {
    const auto& u = f.busiest[i];
    std::snprintf(line, sizeof line, "#   %s  %.1f MB on the wire, busy %.0f%% of the run\n",
                  topo::link_direction_name(t, u.link, u.forward).c_str(),
                  static_cast<double>(u.wire_bytes) / 1e6,
                  100.0 * u.busy.count() / std::max(f.simulated.count(), 1e-12));
    out << line;
  }
  std::snprintf(
      line, sizeof line,
      "#   peak queue %s at %s; PFC pauses %llu; drops %llu; retransmitted packets %llu (timeouts %llu)\n",
      format_bytes(Bytes(f.peak_queue_bytes)).c_str(), f.peak_queue_port.c_str(),
      static_cast<unsigned long long>(f.pfc_pauses), static_cast<unsigned long long>(f.drops),
      static_cast<unsigned long long>(f.retransmitted_packets), static_cast<unsigned long long>(f.timeouts));
  out << line;
  std::snprintf(line, sizeof line, "#   ECN marks %llu; CNPs %llu\n",
                static_cast<unsigned long long>(f.ecn_marks), static_cast<unsigned long long>(f.cnps));
  out << line;
  const double wall = std::max(f.wall_s, 1e-9);
  std::snprintf(line, sizeof line,
                "#   simulated %.3f ms in %.2f s of wall time: %.2f M events/s, %.2f M packet-hops/s\n",
                f.simulated.millis(), f.wall_s, static_cast<double>(f.events) / wall / 1e6,
                static_cast<double>(f.packet_hops) / wall / 1e6);
  out << line;
}

void print_flow_fabric(std::ostream& out, const flow::FlowReport& f, const topo::Topology& t, Bytes size) {
  char line[256];
  out << "#\n# flow fabric at " << format_bytes(size) << ":\n";
  for (std::size_t i = 0; i < f.busiest.size() && i < 3; ++i) {
    const auto& u = f.busiest[i];
    std::snprintf(line, sizeof line, "#   %s  %.1f MB, busy %.0f%% of the run\n",
                  topo::link_direction_name(t, u.link, u.forward).c_str(), static_cast<double>(u.bytes) / 1e6,
                  100.0 * u.busy.count() / std::max(f.simulated.count(), 1e-12));
    out << line;
  }
  std::snprintf(line, sizeof line,
                "#   %llu flows (%llu re-routed); simulated %.3f ms in %.2f s of wall time, peak memory %s\n",
                static_cast<unsigned long long>(f.flows), static_cast<unsigned long long>(f.rerouted),
                f.simulated.millis(), f.wall_s, format_bytes(Bytes(f.peak_memory_bytes)).c_str());
  out << line;
}

void print_busiest(std::ostream& out, const experiment::SizeRun& run, const topo::Topology& t) {
  out << "#\n# busiest links at " << format_bytes(Bytes(run.row.size_bytes)) << ":\n";
  for (std::size_t i = 0; i < run.busiest.size() && i < 3; ++i) {
    const auto& l = run.busiest[i];
    const auto& link = t.links[l.link];
    const double util = static_cast<double>(l.bytes) * 8.0 /
                        (link.bandwidth.count() * std::max(run.row.timing.time.count(), 1e-12));
    char line[256];
    std::snprintf(line, sizeof line, "#   %s  %s in %u transfers, %.0f%% of %s, up to %u queued at once\n",
                  topo::link_direction_name(t, l.link, l.forward).c_str(),
                  format_bytes(Bytes(l.bytes)).c_str(), l.transfers, util * 100.0,
                  format_rate(link.bandwidth).c_str(), l.max_queued);
    out << line;
  }
}

}  // namespace

void print_size_report(std::ostream& out, const experiment::SizeRun& run, const topo::Topology& t) {
  if (run.fabric) {
    print_fabric(out, *run.fabric, t, Bytes(run.row.size_bytes));
  } else if (run.flow) {
    print_flow_fabric(out, *run.flow, t, Bytes(run.row.size_bytes));
  } else if (run.model == "plan") {
    print_busiest(out, run, t);
  }
}

void write_trace(const std::string& path, const coll::RunResult& run) {
  std::string f = "rank,step,kind,peer,bytes,ready_us,start_us,end_us\n";
  char line[200];
  for (const auto& t : run.trace) {
    std::snprintf(line, sizeof line, "%d,%u,%s,%d,%llu,%.4f,%.4f,%.4f\n", t.rank, t.step,
                  coll::to_string(t.kind), t.peer, static_cast<unsigned long long>(t.bytes), t.ready.micros(),
                  t.start.micros(), t.end.micros());
    f += line;
  }
  write_file_atomically(path, f);
}

}  // namespace fabtwin::cli
