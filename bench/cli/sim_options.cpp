#include "sim_options.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <limits>
#include <ostream>

#include "fabtwin/experiment/strategy.hpp"
#include "fabtwin/results/calibration.hpp"
#include "fabtwin/topo/generators.hpp"

namespace fabtwin::cli {

namespace {

constexpr const char* kPacketOnly[] = {"--fabric",        "--routing",  "--cc",       "--pfc",
                                       "--switch-buffer", "--pfc-xoff", "--pfc-xon",  "--credit-buffer",
                                       "--ecn-kmin",      "--ecn-kmax", "--ecn-pmax", "--rto",
                                       "--fail",          "--degrade"};
// What the flow model reads of them: it has no queues, flow control or congestion control.
constexpr const char* kFlowToo[] = {"--routing", "--fail", "--degrade"};

bool flow_reads(const char* option) {
  for (const char* name : kFlowToo) {
    if (std::string_view(name) == option) return true;
  }
  return false;
}

// The fabric the topology's network links describe, unless --fabric names one.
packet::FabricKind fabric_kind(const std::string& option, const topo::Topology& t) {
  if (option == "roce") return packet::FabricKind::roce;
  if (option == "ib") return packet::FabricKind::infiniband;
  for (const auto& l : t.links) {
    if (l.layer == topo::LinkLayer::infiniband) return packet::FabricKind::infiniband;
  }
  return packet::FabricKind::roce;
}

void check_packet_config(const SimArgs& a, const packet::PacketConfig& c) {
  if (c.retransmit_timeout.count() <= 0) throw std::invalid_argument("--rto must be positive");
  if (c.pfc_xon.count() > c.pfc_xoff.count()) {
    throw std::invalid_argument("--pfc-xon (" + a.pfc_xon + ") must not exceed --pfc-xoff (" + a.pfc_xoff +
                                ")");
  }
  if (c.ecn.kmin.count() >= c.ecn.kmax.count()) {
    throw std::invalid_argument("--ecn-kmin (" + a.ecn_kmin + ") must be below --ecn-kmax (" + a.ecn_kmax +
                                ")");
  }
  if (c.credit_buffer.count() < 2 * 4096 + 64) {
    throw std::invalid_argument("--credit-buffer " + a.credit_buffer +
                                " cannot hold two MTU frames; give at least 8256B");
  }
}

std::vector<backend::LinkEvent> link_events(const SimArgs& a, const topo::Topology& t) {
  std::vector<backend::LinkEvent> events;
  for (const auto& f : a.fail) {
    auto e = packet::parse_link_event(f, t);
    if (e.factor != 0)
      throw std::invalid_argument("--fail " + f + ": a failure has no factor (use --degrade)");
    events.push_back(e);
  }
  for (const auto& d : a.degrade) {
    auto e = packet::parse_link_event(d, t);
    if (e.factor == 0) throw std::invalid_argument("--degrade " + d + ": give the rate factor, e.g. @0s=0.5");
    events.push_back(e);
  }
  return events;
}

packet::PacketConfig packet_config(const SimArgs& a, const topo::Topology& t, std::ostream& err) {
  packet::PacketConfig c;
  c.fabric = fabric_kind(a.fabric, t);
  c.routing = backend::routing_from_string(a.routing);
  // DCQCN is RoCE's congestion control; InfiniBand fabrics rely on credits unless told otherwise.
  const bool dcqcn = a.cc == "dcqcn" || (a.cc == "auto" && c.fabric == packet::FabricKind::roce);
  c.cc = dcqcn ? packet::CongestionControl::dcqcn : packet::CongestionControl::none;
  if (c.fabric == packet::FabricKind::infiniband && a.pfc == "off") {
    throw std::invalid_argument(
        "--pfc off: InfiniBand links use credits, which cannot be turned off (use --fabric roce)");
  }
  c.pfc = a.pfc == "on";
  c.switch_buffer = parse_bytes_option("--switch-buffer", a.switch_buffer);
  c.pfc_xoff = parse_bytes_option("--pfc-xoff", a.pfc_xoff);
  c.pfc_xon = parse_bytes_option("--pfc-xon", a.pfc_xon);
  c.credit_buffer = parse_bytes_option("--credit-buffer", a.credit_buffer);
  c.ecn.kmin = parse_bytes_option("--ecn-kmin", a.ecn_kmin);
  c.ecn.kmax = parse_bytes_option("--ecn-kmax", a.ecn_kmax);
  c.ecn.pmax = a.ecn_pmax;
  c.retransmit_timeout = parse_duration_option("--rto", a.rto);
  check_packet_config(a, c);
  c.link_events = link_events(a, t);
  if (isatty(STDERR_FILENO)) {
    c.on_progress = [&err](Seconds simulated, double wall, std::uint64_t events) {
      char line[160];
      std::snprintf(line, sizeof line, "\r  simulated %.3f ms, wall %.1f s, %.2f M events/s   ",
                    simulated.millis(), wall, static_cast<double>(events) / std::max(wall, 1e-9) / 1e6);
      err << line << std::flush;
    };
  }
  return c;
}

void add_packet_options(CLI::App& cmd, SimArgs& a) {
  auto packet = [&](CLI::Option* o) { o->group("Packet backend")->capture_default_str(); };
  packet(cmd.add_option("--fabric", a.fabric, "roce or ib (auto: the topology's link layer)")
             ->check(CLI::IsMember({"auto", "roce", "ib"})));
  packet(cmd.add_option("--routing", a.routing,
                        "ecmp (per flow), spray (per packet), adaptive (least-loaded port)")
             ->check(CLI::IsMember({"ecmp", "spray", "adaptive"})));
  packet(cmd.add_option("--cc", a.cc, "congestion control: dcqcn or none (auto: dcqcn on RoCE)")
             ->check(CLI::IsMember({"auto", "dcqcn", "none"})));
  packet(cmd.add_option("--pfc", a.pfc, "RoCE priority flow control; off makes switches drop on overflow")
             ->check(CLI::IsMember({"on", "off"})));
  packet(cmd.add_option("--switch-buffer", a.switch_buffer, "shared buffer per switch"));
  packet(cmd.add_option("--pfc-xoff", a.pfc_xoff, "PAUSE above this per ingress port"));
  packet(cmd.add_option("--pfc-xon", a.pfc_xon, "resume below this"));
  packet(cmd.add_option("--credit-buffer", a.credit_buffer, "receive buffer per VL on credit links"));
  packet(cmd.add_option("--ecn-kmin", a.ecn_kmin, "ECN marking starts at this egress queue"));
  packet(cmd.add_option("--ecn-kmax", a.ecn_kmax, "every packet marked above this"));
  packet(
      cmd.add_option("--ecn-pmax", a.ecn_pmax, "marking probability at Kmax")->check(CLI::Range(0.0, 1.0)));
  packet(cmd.add_option("--rto", a.rto, "retransmission timeout (go-back-N)"));
  cmd.add_option("--fail", a.fail, "fail a link at a time: NODE/NODE@TIME, e.g. leaf0/spine1@20us")
      ->group("Packet backend");
  cmd.add_option("--degrade", a.degrade, "run a link at a fraction of its rate: NODE/NODE@TIME=FACTOR")
      ->group("Packet backend");
}

}  // namespace

SimArgs::SimArgs() : topology(topo::kDefaultTopologySpec) {
  const backend::EndpointCosts endpoint;
  per_message = format_duration(endpoint.per_message);
  reduce_rate = format_byte_rate(endpoint.reduce_rate);
  const packet::PacketConfig packet;
  switch_buffer = format_bytes(packet.switch_buffer);
  pfc_xoff = format_bytes(packet.pfc_xoff);
  pfc_xon = format_bytes(packet.pfc_xon);
  credit_buffer = format_bytes(packet.credit_buffer);
  ecn_kmin = format_bytes(packet.ecn.kmin);
  ecn_kmax = format_bytes(packet.ecn.kmax);
  ecn_pmax = packet.ecn.pmax;
  rto = format_duration(packet.retransmit_timeout);
}

void add_sim_options(CLI::App& cmd, SimArgs& a) {
  cmd.add_option("--topology", a.topology, "fabric (preset or .json)")->capture_default_str();
  cmd.add_option(
         "--algo", a.algo,
         "algorithm (case-insensitive; NCCL_ALGO's Ring is nccl-ring), auto for the fastest per size, "
         "or nccl for NCCL's tuner")
      ->capture_default_str();
  cmd.add_option("--ranks", a.ranks, "ranks (default: every rank the topology places)")
      ->check(CLI::Range(1, std::numeric_limits<std::int32_t>::max()));
  cmd.add_option("-b,--minbytes", a.minbytes, "smallest size")->capture_default_str();
  cmd.add_option("-e,--maxbytes", a.maxbytes, "largest size")->capture_default_str();
  cmd.add_option("-f,--stepfactor", a.factor, "multiply the size by this between rows")
      ->capture_default_str();
  cmd.add_option("-i,--stepbytes", a.stepbytes, "add this to the size between rows instead of -f");
  cmd.add_option(
         "--backend", a.backend,
         "analytic (alpha-beta model), packet (ns-3 packet simulation) or flow (SimGrid max-min flows)")
      ->check(CLI::IsMember({"analytic", "packet", "flow"}))
      ->capture_default_str();
  add_packet_options(cmd, a);
  cmd.add_option("--seed", a.seed, "ECMP hash seed")->capture_default_str();
  cmd.add_option("-J,--json", a.json, "write the rows as JSON to FILE (- for standard output)");
  cmd.add_option("--csv", a.csv, "write one CSV row per size and placement to FILE (- for standard output)");
  cmd.add_option("--trace", a.trace, "write the per-step trace of the largest size as CSV");
  cmd.add_option("--per-message", a.per_message, "endpoint cost per message (alpha)")->capture_default_str();
  cmd.add_option("--reduce-bw", a.reduce_rate, "reduction throughput per rank (gamma)")
      ->capture_default_str();
  cmd.add_option("--calibration", a.calibration,
                 "calib.json from fabtwin calibrate: fitted NIC links, per-message");
  cmd.add_flag("--list", a.list, "list the algorithms and exit");
  add_collective_options(cmd, a.coll);
  refuse_nccl_tests_letters(
      cmd,
      {{"-t", "threads per process: sim runs no processes; the rank count is --ranks, the fabric --topology"},
       {"-g", "GPUs per thread: the rank count is --ranks"},
       {"-n", "timed iterations: sim predicts one call (fabtwin run -n times iterations); ranks are --ranks"},
       {"-w", "warm-up iterations: a model has nothing to warm up"},
       {"-m", "operations aggregated per iteration: sim predicts one call"},
       {"-N", "repeats of the sweep: a prediction repeats exactly"},
       {"-p", "parallel init: initialisation is not modelled"},
       {"-c", "checked iterations: sim moves no data to check (fabtwin run -c does)"},
       {"-z", "blocking collectives: each call is predicted on its own"},
       {"-y", "the NULL stream: streams are not modelled"},
       {"-T", "timeout: a prediction does not hang; --max-memory bounds it"},
       {"-G", "CUDA graph launches: not modelled"},
       {"-C", "CPU time: not modelled"},
       {"-a", "how times combine across ranks (fabtwin run -a); the algorithm is --algo"},
       {"-R", "buffer registration: not modelled"},
       {"-x", "NCCL's CTA policy: not modelled"},
       {"-D", "device-API kernels: not modelled"},
       {"-V", "device-API CTA count: not modelled"},
       {"-S", "timestamps: a prediction has no time of day"},
       {"-M", "memory report: not modelled"},
       {"-u", "misaligned buffers: not modelled"},
       {"-I", "per-iteration timing: a prediction has one time"},
       {"-K", "per-iteration skip: a prediction has one time"}});
}

experiment::Scenario make_scenario(const CLI::App& cmd, const SimArgs& a, std::ostream& err) {
  experiment::Scenario s;
  s.collective = parse_collective(a.coll.collective);
  s.options = to_algo_options(a.coll);
  s.algorithm = experiment::canonical_algorithm(a.algo);
  s.ranks = a.ranks;
  s.sizes = size_sweep(parse_bytes_option("-b/--minbytes", a.minbytes),
                       parse_bytes_option("-e/--maxbytes", a.maxbytes), a.factor, a.stepbytes);
  s.backend = experiment::backend_from_string(a.backend);
  s.seed = a.seed;
  s.endpoint.per_message = parse_duration_option("--per-message", a.per_message);
  s.endpoint.reduce_rate = parse_rate_option("--reduce-bw", a.reduce_rate);
  s.topology = results::calibrated(a.calibration, topo::topology_from_spec(a.topology), s.endpoint);
  if (s.backend == experiment::BackendKind::packet) {
    s.packet = packet_config(a, s.topology, err);
    return s;
  }
  const bool flow = s.backend == experiment::BackendKind::flow;
  for (const char* name : kPacketOnly) {
    if (cmd.count(name) == 0 || (flow && flow_reads(name))) continue;
    if (flow) {
      throw std::invalid_argument(std::string(name) +
                                  " applies to the packet backend only: the flow model has no queues, flow "
                                  "control or congestion control (it reads --routing, --fail, --degrade)");
    }
    throw std::invalid_argument(std::string(name) + " applies to the " +
                                (flow_reads(name) ? "packet and flow backends" : "packet backend") +
                                " only (add --backend " + (flow_reads(name) ? "packet or flow" : "packet") +
                                ")");
  }
  if (flow) {
    s.flow.routing = backend::routing_from_string(a.routing);
    s.flow.link_events = link_events(a, s.topology);
    if (isatty(STDERR_FILENO)) {
      s.flow.on_progress = [&err](Seconds simulated, double wall, std::uint64_t flows) {
        char line[160];
        std::snprintf(line, sizeof line, "\r  flow model: simulated %.3f ms, %llu flows, wall %.1f s   ",
                      simulated.millis(), static_cast<unsigned long long>(flows), wall);
        err << line << std::flush;
      };
    }
  }
  return s;
}

}  // namespace fabtwin::cli
