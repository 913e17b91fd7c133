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
#include "fabtwin/results/calibration.hpp"
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
  std::string calibration;
  bool list = false;
  CollectiveOptions coll;
};

struct Evaluated {
  coll::Plan plan;
  coll::Prediction prediction;
};

Evaluated evaluate(coll::Collective c, const std::string& algo, const coll::Group& group, std::uint64_t size,
                   const coll::AlgoOptions& options, const topo::Router& router,
                   const coll::CostParams& params) {
  Evaluated e{coll::make_plan(c, algo, group, size, options), {}};
  coll::validate(e.plan);
  e.prediction = coll::predict(e.plan, router, params);
  return e;
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

void add_sim_command(CLI::App& app, std::ostream& out, int& exit_code) {
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
  cmd->add_option("--backend", args->backend, "analytic")
      ->check(CLI::IsMember({"analytic"}))
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "ECMP hash seed")->capture_default_str();
  cmd->add_option("--json", args->json, "write the rows as JSON to FILE (- for standard output)");
  cmd->add_option("--trace", args->trace, "write the per-step trace of the largest size as CSV");
  cmd->add_option("--per-message", args->per_message, "endpoint cost per message (alpha)")
      ->capture_default_str();
  cmd->add_option("--reduce-bw", args->reduce_rate, "reduction throughput per rank (gamma)")
      ->capture_default_str();
  cmd->add_option("--calibration", args->calibration,
                  "calib.json from fabtwin calibrate: fitted NIC links, per-message");
  cmd->add_flag("--list", args->list, "list the algorithms and exit");
  add_collective_options(*cmd, args->coll);
  cmd->callback([args, &out, &exit_code] {
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

    const topo::Topology topology =
        results::calibrated(args->calibration, topo::topology_from_spec(args->topology), params);
    const std::int32_t ranks = resolve_ranks(args->ranks, &topology, 0);
    const coll::Group group = make_group(ranks, &topology, 0);
    const topo::Router router(topology);
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
      last = std::move(best);
    }
    if (table_to_stdout && last) {
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
            {"model", at_scale ? "ring-rounds" : "plan"},
            {"ranks", ranks},
            {"dtype", coll::to_string(options.dtype)},
            {"op", coll::to_string(options.op)},
            {"seed", args->seed},
            {"per_message_s", params.per_message.count()},
            {"reduce_rate_bps", params.reduce_rate.count()}}},
          {"rows", rows},
      };
      write_json_output(args->json, doc, out);
    }
    exit_code = 0;
  });
}

}  // namespace fabtwin::cli
