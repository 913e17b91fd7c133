#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli.hpp"
#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/coll/cost_model.hpp"
#include "fabtwin/coll/metrics.hpp"
#include "fabtwin/fabric/packet.hpp"
#include "fabtwin/topo/generators.hpp"
#include "options.hpp"
#include "scenario.hpp"
#include "table.hpp"

namespace fabtwin::cli {

namespace {

struct SimArgs {
  std::string topology = topo::kDefaultTopologySpec;
  std::string algo = "ring";
  std::int32_t ranks = 0;
  std::string minbytes = "8";
  std::string maxbytes = "128MiB";
  std::uint64_t factor = 2;
  std::string backend = "analytic";
  std::uint64_t seed = 0;
  std::string json;
  std::string trace;
  std::string per_message = "2us";
  std::string reduce_rate = "500GB/s";
  bool list = false;
  CollectiveOptions coll;
  // Packet backend.
  std::string fabric = "auto";
  std::string routing = "ecmp";
  std::string cc = "auto";
  std::string pfc = "on";
  std::string switch_buffer = "64MiB";
  std::string pfc_xoff = "512KiB";
  std::string pfc_xon = "256KiB";
  std::string credit_buffer = "256KiB";
  std::string ecn_kmin = "100KiB";
  std::string ecn_kmax = "400KiB";
  double ecn_pmax = 0.2;
  std::string rto = "1ms";
  std::vector<std::string> fail;
  std::vector<std::string> degrade;
};

struct Evaluated {
  coll::Plan plan;
  coll::Prediction prediction;
  std::optional<fabric::FabricReport> fabric;
};

Evaluated evaluate(coll::Collective c, const std::string& algo, const coll::Group& group, std::uint64_t size,
                   const coll::AlgoOptions& options, const topo::Router& router,
                   const coll::CostParams& params) {
  Evaluated e{coll::make_plan(c, algo, group, size, options), {}, {}};
  coll::validate(e.plan);
  e.prediction = coll::predict(e.plan, router, params);
  return e;
}

// The fabric the topology's network links describe, unless --fabric names one.
fabric::FabricKind fabric_kind(const std::string& option, const topo::Topology& t) {
  if (option == "roce") return fabric::FabricKind::roce;
  if (option == "ib") return fabric::FabricKind::infiniband;
  for (const auto& l : t.links) {
    if (l.layer == topo::LinkLayer::infiniband) return fabric::FabricKind::infiniband;
  }
  return fabric::FabricKind::roce;
}

fabric::PacketConfig packet_config(const SimArgs& a, const topo::Topology& t, const coll::CostParams& params,
                                   std::ostream& err) {
  fabric::PacketConfig c;
  c.fabric = fabric_kind(a.fabric, t);
  c.routing = a.routing == "spray"      ? fabric::Routing::spray
              : a.routing == "adaptive" ? fabric::Routing::adaptive
                                        : fabric::Routing::ecmp;
  // DCQCN is RoCE's congestion control; InfiniBand fabrics rely on credits unless told otherwise.
  const bool dcqcn = a.cc == "dcqcn" || (a.cc == "auto" && c.fabric == fabric::FabricKind::roce);
  c.cc = dcqcn ? fabric::CongestionControl::dcqcn : fabric::CongestionControl::none;
  if (c.fabric == fabric::FabricKind::infiniband && a.pfc == "off") {
    throw std::invalid_argument(
        "--pfc off: InfiniBand links use credits, which cannot be turned off (use --fabric roce)");
  }
  c.pfc = a.pfc == "on";
  c.seed = a.seed;
  c.per_message = params.per_message;
  c.reduce_rate = params.reduce_rate;
  c.copy_rate = params.copy_rate;
  c.switch_buffer = parse_bytes_option("--switch-buffer", a.switch_buffer);
  c.pfc_xoff = parse_bytes_option("--pfc-xoff", a.pfc_xoff);
  c.pfc_xon = parse_bytes_option("--pfc-xon", a.pfc_xon);
  c.credit_buffer = parse_bytes_option("--credit-buffer", a.credit_buffer);
  c.ecn.kmin = parse_bytes_option("--ecn-kmin", a.ecn_kmin);
  c.ecn.kmax = parse_bytes_option("--ecn-kmax", a.ecn_kmax);
  c.ecn.pmax = a.ecn_pmax;
  c.retransmit_timeout = parse_duration_option("--rto", a.rto);
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
  for (const auto& f : a.fail) {
    auto e = fabric::parse_link_event(f, t);
    if (e.factor != 0)
      throw std::invalid_argument("--fail " + f + ": a failure has no factor (use --degrade)");
    c.link_events.push_back(e);
  }
  for (const auto& d : a.degrade) {
    auto e = fabric::parse_link_event(d, t);
    if (e.factor == 0) throw std::invalid_argument("--degrade " + d + ": give the rate factor, e.g. @0s=0.5");
    c.link_events.push_back(e);
  }
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

Evaluated simulate_packets(coll::Collective c, const std::string& algo, const coll::Group& group,
                           std::uint64_t size, const coll::AlgoOptions& options,
                           const topo::Topology& topology, const fabric::PacketConfig& config) {
  Evaluated e{coll::make_plan(c, algo, group, size, options), {}, {}};
  coll::validate(e.plan);
  fabric::PacketResult r = fabric::simulate(e.plan, topology, config);
  e.prediction.time = r.time;
  e.prediction.run = std::move(r.run);
  e.fabric = std::move(r.fabric);
  return e;
}

nlohmann::json fabric_json(const fabric::FabricReport& f, const topo::Topology& t) {
  nlohmann::json busiest = nlohmann::json::array();
  for (const auto& u : f.busiest) {
    const auto& l = t.links[u.link];
    busiest.push_back({{"from", t.nodes[u.forward ? l.a : l.b].name},
                       {"to", t.nodes[u.forward ? l.b : l.a].name},
                       {"wire_bytes", u.wire_bytes},
                       {"busy_s", u.busy.count()},
                       {"utilization", u.busy.count() / std::max(f.simulated.count(), 1e-12)}});
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

void print_fabric(std::ostream& out, const fabric::FabricReport& f, const topo::Topology& t, Bytes size) {
  char line[256];
  out << "#\n# packet fabric at " << format_bytes(size) << ":\n";
  for (std::size_t i = 0; i < f.busiest.size() && i < 3; ++i) {
    const auto& u = f.busiest[i];
    const auto& l = t.links[u.link];
    std::snprintf(line, sizeof line, "#   %s -> %s  %.1f MB on the wire, busy %.0f%% of the run\n",
                  t.nodes[u.forward ? l.a : l.b].name.c_str(), t.nodes[u.forward ? l.b : l.a].name.c_str(),
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

void write_trace(const std::string& path, const coll::RunResult& run) {
  std::ofstream f(path);
  if (!f) throw std::invalid_argument("cannot write trace " + path + ": check that its folder exists");
  f << "rank,step,kind,peer,bytes,ready_us,start_us,end_us\n";
  char line[200];
  for (const auto& t : run.trace) {
    std::snprintf(line, sizeof line, "%d,%u,%s,%d,%llu,%.4f,%.4f,%.4f\n", t.rank, t.step,
                  coll::to_string(t.kind), t.peer, static_cast<unsigned long long>(t.bytes), t.ready.micros(),
                  t.start.micros(), t.end.micros());
    f << line;
  }
}

// Above this many ranks a ring plan (about 5n^2 steps) stops fitting in memory and time, and the
// ring's closed-form round model answers instead.
constexpr std::int32_t kLargestPlannedAllReduce = 2048;

void print_catalog(std::ostream& out) {
  for (const auto& a : coll::algorithm_catalog()) {
    char line[256];
    std::snprintf(line, sizeof line, "%-15s %-19s %s\n", coll::to_string(a.collective), a.name.c_str(),
                  a.summary.c_str());
    out << line;
  }
}

}  // namespace

void add_sim_command(CLI::App& app, std::ostream& out, std::ostream& err, int& exit_code) {
  auto args = std::make_shared<SimArgs>();
  CLI::App* cmd = app.add_subcommand("sim", "Predict or simulate a collective over a size sweep");
  cmd->add_option("-t,--topology", args->topology, "fabric (preset or .json)")->capture_default_str();
  cmd->add_option("-a,--algo", args->algo, "algorithm, or auto for the fastest per size")
      ->capture_default_str();
  cmd->add_option("-n,--ranks", args->ranks, "ranks (default: every rank the topology places)")
      ->check(CLI::Range(1, std::numeric_limits<std::int32_t>::max()));
  cmd->add_option("-b,--minbytes", args->minbytes, "smallest size")->capture_default_str();
  cmd->add_option("-e,--maxbytes", args->maxbytes, "largest size")->capture_default_str();
  cmd->add_option("-f,--stepfactor", args->factor, "multiply the size by this between rows")
      ->capture_default_str();
  cmd->add_option("--backend", args->backend,
                  "analytic (alpha-beta model) or packet (ns-3 packet simulation)")
      ->check(CLI::IsMember({"analytic", "packet"}))
      ->capture_default_str();
  auto packet = [&](CLI::Option* o) { o->group("Packet backend"); };
  packet(cmd->add_option("--fabric", args->fabric, "roce or ib (auto: the topology's link layer)")
             ->check(CLI::IsMember({"auto", "roce", "ib"}))
             ->capture_default_str());
  packet(cmd->add_option("--routing", args->routing,
                         "ecmp (per flow), spray (per packet), adaptive (least-loaded port)")
             ->check(CLI::IsMember({"ecmp", "spray", "adaptive"}))
             ->capture_default_str());
  packet(cmd->add_option("--cc", args->cc, "congestion control: dcqcn or none (auto: dcqcn on RoCE)")
             ->check(CLI::IsMember({"auto", "dcqcn", "none"}))
             ->capture_default_str());
  packet(
      cmd->add_option("--pfc", args->pfc, "RoCE priority flow control; off makes switches drop on overflow")
          ->check(CLI::IsMember({"on", "off"}))
          ->capture_default_str());
  packet(cmd->add_option("--switch-buffer", args->switch_buffer, "shared buffer per switch")
             ->capture_default_str());
  packet(cmd->add_option("--pfc-xoff", args->pfc_xoff, "PAUSE above this per ingress port")
             ->capture_default_str());
  packet(cmd->add_option("--pfc-xon", args->pfc_xon, "resume below this")->capture_default_str());
  packet(cmd->add_option("--credit-buffer", args->credit_buffer, "receive buffer per VL on credit links")
             ->capture_default_str());
  packet(cmd->add_option("--ecn-kmin", args->ecn_kmin, "ECN marking starts at this egress queue")
             ->capture_default_str());
  packet(
      cmd->add_option("--ecn-kmax", args->ecn_kmax, "every packet marked above this")->capture_default_str());
  packet(cmd->add_option("--ecn-pmax", args->ecn_pmax, "marking probability at Kmax")
             ->check(CLI::Range(0.0, 1.0))
             ->capture_default_str());
  packet(cmd->add_option("--rto", args->rto, "retransmission timeout (go-back-N)")->capture_default_str());
  packet(
      cmd->add_option("--fail", args->fail, "fail a link at a time: NODE/NODE@TIME, e.g. leaf0/spine1@20us"));
  packet(cmd->add_option("--degrade", args->degrade,
                         "run a link at a fraction of its rate: NODE/NODE@TIME=FACTOR"));
  cmd->add_option("--seed", args->seed, "ECMP hash seed")->capture_default_str();
  cmd->add_option("--json", args->json, "write the rows as JSON to FILE (- for standard output)");
  cmd->add_option("--trace", args->trace, "write the per-step trace of the largest size as CSV");
  cmd->add_option("--per-message", args->per_message, "endpoint cost per message (alpha)")
      ->capture_default_str();
  cmd->add_option("--reduce-bw", args->reduce_rate, "reduction throughput per rank (gamma)")
      ->capture_default_str();
  cmd->add_flag("--list", args->list, "list the algorithms and exit");
  add_collective_options(*cmd, args->coll);
  cmd->callback([cmd, args, &out, &err, &exit_code] {
    if (args->list) {
      print_catalog(out);
      return;
    }
    const coll::Collective c = parse_collective(args->coll.collective);
    const coll::AlgoOptions options = to_algo_options(args->coll);
    const auto sizes = size_sweep(parse_bytes_option("-b/--minbytes", args->minbytes),
                                  parse_bytes_option("-e/--maxbytes", args->maxbytes), args->factor);
    coll::CostParams params;
    params.per_message = parse_duration_option("--per-message", args->per_message);
    params.reduce_rate = parse_rate_option("--reduce-bw", args->reduce_rate);
    params.ecmp_seed = args->seed;

    const topo::Topology topology = topo::topology_from_spec(args->topology);
    const std::int32_t ranks = resolve_ranks(args->ranks, &topology, 0);
    const coll::Group group = make_group(ranks, &topology, 0);
    const topo::Router router(topology);
    const bool packets = args->backend == "packet";
    if (!packets) {
      for (const char* name :
           {"--fabric", "--routing", "--cc", "--pfc", "--switch-buffer", "--pfc-xoff", "--pfc-xon",
            "--credit-buffer", "--ecn-kmin", "--ecn-kmax", "--ecn-pmax", "--rto", "--fail", "--degrade"}) {
        if (cmd->count(name) > 0) {
          throw std::invalid_argument(std::string(name) +
                                      " applies to the packet backend only (add --backend packet)");
        }
      }
    }
    const std::optional<fabric::PacketConfig> config =
        packets ? std::optional(packet_config(*args, topology, params, err)) : std::nullopt;
    const std::vector<std::string> candidates =
        args->algo == "auto" ? coll::algorithms_for(c) : std::vector<std::string>{args->algo};

    if (args->algo != "auto") {
      const auto known = coll::algorithms_for(c);
      if (std::find(known.begin(), known.end(), args->algo) == known.end()) {
        std::string list;
        for (const auto& a : known) list += (list.empty() ? "" : ", ") + a;
        throw std::invalid_argument("--algo: unknown " + std::string(coll::to_string(c)) + " algorithm \"" +
                                    args->algo + "\" (known: " + list + ", auto)");
      }
    }
    if (sizes.front() == 0) {
      throw std::invalid_argument(
          "-b/--minbytes must be at least 1 byte: a zero-byte collective has no bandwidth");
    }
    const bool at_scale = c == coll::Collective::all_reduce && ranks > kLargestPlannedAllReduce;
    if (at_scale && args->algo != "ring" && args->algo != "auto") {
      throw std::invalid_argument(
          "--algo " + args->algo + " over " + std::to_string(ranks) +
          " ranks: its plan is too large to build; above " + std::to_string(kLargestPlannedAllReduce) +
          " ranks only ring has a closed-form model (use --algo ring or fewer --ranks)");
    }
    if (at_scale && packets) {
      throw std::invalid_argument(
          "--backend packet over " + std::to_string(ranks) + " ranks: above " +
          std::to_string(kLargestPlannedAllReduce) +
          " ranks there is no plan to simulate (use --backend analytic or fewer --ranks)");
    }
    if (at_scale && !args->trace.empty()) {
      throw std::invalid_argument("--trace needs a plan, and above " +
                                  std::to_string(kLargestPlannedAllReduce) +
                                  " ranks the ring is predicted in closed form (use fewer --ranks)");
    }
    const bool table_to_stdout = args->json != "-";
    if (table_to_stdout) {
      out << "# fabtwin sim: backend " << args->backend << ", " << ranks << " ranks on " << topology.name
          << "\n";
      out << "# " << coll::to_string(c) << ", algorithm " << args->algo << ", ECMP seed " << args->seed
          << "\n";
      if (packets) {
        out << "# packet model: " << fabric::to_string(config->fabric) << ", routing "
            << fabric::to_string(config->routing) << ", congestion control " << fabric::to_string(config->cc);
        if (config->fabric == fabric::FabricKind::roce) out << ", PFC " << (config->pfc ? "on" : "off");
        out << "\n";
        if (args->algo == "auto")
          out << "# auto: the analytic model picks the algorithm, the packet model runs it\n";
        for (const auto& e : config->link_events) {
          const auto& l = topology.links[e.link];
          out << "# what-if: " << topology.nodes[l.a].name << "/" << topology.nodes[l.b].name
              << (e.factor == 0 ? " fails" : " runs at " + std::to_string(e.factor) + "x its rate") << " at "
              << format_duration(e.at) << "\n";
        }
      }
      if (at_scale) {
        out << "# above " << kLargestPlannedAllReduce
            << " ranks: ring only, by its closed-form round model (a plan would have about "
            << 5.0 * ranks * ranks << " steps)\n";
      }
      out << "#\n";
      print_table_header(out);
    }
    nlohmann::json rows = nlohmann::json::array();
    std::optional<Evaluated> last;
    for (std::uint64_t size : sizes) {
      if (at_scale) {
        const auto est = coll::predict_ring_all_reduce(router, ranks, size, options.dtype, params);
        const std::uint64_t count = size / coll::element_size(options.dtype);
        const std::uint64_t bytes = count * coll::element_size(options.dtype);
        const auto bw = coll::bandwidth(c, ranks, Bytes(bytes), est.time);
        const ResultRow row{bytes,  count,    options.dtype, options.op,   -1,
                            "ring", est.time, bw.algbw_gbps, bw.busbw_gbps};
        if (table_to_stdout) print_table_row(out, row);
        rows.push_back(to_json(row, args->backend));
        continue;
      }
      std::optional<Evaluated> best;
      std::string reasons;
      for (const auto& algo : candidates) {
        try {
          Evaluated e = evaluate(c, algo, group, size, options, router, params);
          if (!best || e.prediction.time < best->prediction.time) best = std::move(e);
        } catch (const coll::InvalidPlan&) {
          throw;
        } catch (const std::invalid_argument& err) {
          if (candidates.size() == 1) throw;
          reasons += std::string("\n  ") + algo + ": " + err.what();
        }
      }
      if (!best) throw std::invalid_argument("no algorithm can run this collective:" + reasons);
      if (packets) {
        best = simulate_packets(c, best->plan.algorithm, group, size, options, topology, *config);
        if (config->on_progress) err << "\r" << std::string(64, ' ') << "\r" << std::flush;
      }
      const auto bw = coll::bandwidth(c, ranks, Bytes(best->plan.size_bytes), best->prediction.time);
      ResultRow row{best->plan.size_bytes, best->plan.count, best->plan.dtype,
                    best->plan.op,         best->plan.root,  best->plan.algorithm,
                    best->prediction.time, bw.algbw_gbps,    bw.busbw_gbps};
      row.reduces = c == coll::Collective::all_reduce || c == coll::Collective::reduce_scatter ||
                    c == coll::Collective::reduce;
      // nccl-tests' count column is the count each rank passes to NCCL: per-rank for the collectives
      // whose size is the whole buffer across ranks.
      if (c == coll::Collective::reduce_scatter || c == coll::Collective::all_gather ||
          c == coll::Collective::all_to_all) {
        row.count = best->plan.count / static_cast<std::uint64_t>(ranks);
      }
      if (table_to_stdout) print_table_row(out, row);
      rows.push_back(to_json(row, args->backend));
      if (best->fabric) rows.back()["fabric"] = fabric_json(*best->fabric, topology);
      last = std::move(best);
    }
    if (table_to_stdout && last && last->fabric) {
      print_fabric(out, *last->fabric, topology, Bytes(last->plan.size_bytes));
    } else if (table_to_stdout && last) {
      out << "#\n# busiest links at " << format_bytes(Bytes(last->plan.size_bytes)) << ":\n";
      for (std::size_t i = 0; i < last->prediction.busiest.size() && i < 3; ++i) {
        const auto& l = last->prediction.busiest[i];
        const auto& link = topology.links[l.link];
        const double util = static_cast<double>(l.bytes) * 8.0 /
                            (link.bandwidth.count() * std::max(last->prediction.time.count(), 1e-12));
        char line[256];
        std::snprintf(
            line, sizeof line, "#   %s -> %s  %s in %u transfers, %.0f%% of %s, up to %u queued at once\n",
            topology.nodes[l.forward ? link.a : link.b].name.c_str(),
            topology.nodes[l.forward ? link.b : link.a].name.c_str(), format_bytes(Bytes(l.bytes)).c_str(),
            l.transfers, util * 100.0, format_rate(link.bandwidth).c_str(), l.max_queued);
        out << line;
      }
    }
    if (!args->trace.empty() && last) write_trace(args->trace, last->prediction.run);
    if (!args->json.empty()) {
      nlohmann::json doc = {
          {"schema", "fabtwin-results"},
          {"schema_version", 1},
          {"provenance", provenance(&topology)},
          {"run",
           {{"backend", args->backend},
            {"collective", coll::to_string(c)},
            {"algorithm", args->algo},
            {"model", packets    ? "packet"
                      : at_scale ? "ring-rounds"
                                 : "plan"},
            {"ranks", ranks},
            {"dtype", coll::to_string(options.dtype)},
            {"op", coll::to_string(options.op)},
            {"seed", args->seed},
            {"per_message_s", params.per_message.count()},
            {"reduce_rate_bps", params.reduce_rate.count()}}},
          {"rows", rows},
      };
      if (packets) {
        nlohmann::json events = nlohmann::json::array();
        for (const auto& e : config->link_events) {
          const auto& l = topology.links[e.link];
          events.push_back({{"link", topology.nodes[l.a].name + "/" + topology.nodes[l.b].name},
                            {"at_s", e.at.count()},
                            {"factor", e.factor}});
        }
        doc["run"]["packet"] = {{"fabric", fabric::to_string(config->fabric)},
                                {"routing", fabric::to_string(config->routing)},
                                {"cc", fabric::to_string(config->cc)},
                                {"pfc", config->pfc},
                                {"switch_buffer_bytes", config->switch_buffer.count()},
                                {"pfc_xoff_bytes", config->pfc_xoff.count()},
                                {"pfc_xon_bytes", config->pfc_xon.count()},
                                {"credit_buffer_bytes", config->credit_buffer.count()},
                                {"ecn",
                                 {{"kmin_bytes", config->ecn.kmin.count()},
                                  {"kmax_bytes", config->ecn.kmax.count()},
                                  {"pmax", config->ecn.pmax}}},
                                {"rto_s", config->retransmit_timeout.count()},
                                {"link_events", events}};
      }
      write_json_output(args->json, doc, out);
    }
    exit_code = 0;
  });
}

}  // namespace fabtwin::cli
