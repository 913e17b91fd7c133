#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli.hpp"
#include "fabtwin/experiment/experiment.hpp"
#include "fabtwin/experiment/strategy.hpp"
#include "fabtwin/files.hpp"
#include "fabtwin/results/calibration.hpp"
#include "fabtwin/topo/generators.hpp"
#include "options.hpp"
#include "sim_options.hpp"
#include "sim_report.hpp"
#include "table.hpp"

namespace fabtwin::cli {

namespace {

void print_catalog(std::ostream& out) {
  char line[256];
  for (const auto& a : coll::algorithm_catalog()) {
    std::snprintf(line, sizeof line, "%-15s %-19s %s\n", coll::to_string(a.collective), a.name.c_str(),
                  a.summary.c_str());
    out << line;
  }
  for (const auto& s : experiment::strategies()) {
    std::snprintf(line, sizeof line, "%-15s %-19s %s\n", "(any)", s.name.c_str(), s.summary.c_str());
    out << line;
  }
}

void print_header(std::ostream& out, const experiment::Scenario& s, std::int32_t ranks) {
  out << "# fabtwin sim: backend " << experiment::to_string(s.backend) << ", " << ranks << " ranks on "
      << s.topology.name << "\n";
  out << "# " << coll::to_string(s.collective) << ", algorithm " << s.algorithm << ", ECMP seed " << s.seed
      << "\n";
  if (s.backend == experiment::BackendKind::packet) {
    const auto& c = s.packet;
    out << "# packet model: " << packet::to_string(c.fabric) << ", routing " << packet::to_string(c.routing)
        << ", congestion control " << packet::to_string(c.cc);
    if (c.fabric == packet::FabricKind::roce) out << ", PFC " << (c.pfc ? "on" : "off");
    out << "\n";
    if (experiment::find_strategy(s.algorithm) != nullptr)
      out << "# " << s.algorithm << ": the analytic model picks the algorithm, the packet model runs it\n";
    for (const auto& e : c.link_events) {
      out << "# what-if: " << topo::link_label(s.topology, e.link)
          << (e.factor == 0 ? " fails" : " runs at " + std::to_string(e.factor) + "x its rate") << " at "
          << format_duration(e.at) << "\n";
    }
  }
  if (experiment::needs_round_model(s, s.sizes.back())) {
    const double steps =
        coll::estimate_plan_steps(s.collective, s.algorithm, ranks, s.sizes.back(), s.options);
    out << "# " << s.algorithm << " at " << ranks
        << " ranks: by its round model where a plan would be too large"
        << " (about " << steps << " steps at the largest size)\n";
  }
  out << "# in-place columns repeat the prediction: the model does not tell the two placements apart\n";
  print_table_header(out);
}

// Refusals that depend on the whole scenario, before anything runs.
void check_scenario(const experiment::Scenario& s, const SimArgs& a, std::int32_t ranks) {
  experiment::check_scenario(s);
  if (s.sizes.front() == 0) {
    throw std::invalid_argument(
        "-b/--minbytes must be at least 1 byte: a zero-byte collective has no bandwidth");
  }
  if (!a.trace.empty() && experiment::needs_round_model(s, s.sizes.back())) {
    throw std::invalid_argument("--trace needs a plan, and over " + std::to_string(ranks) + " ranks " +
                                s.algorithm + " is predicted by its round model (use fewer --ranks)");
  }
}

void run_sim(CLI::App& cmd, const SimArgs& a, std::ostream& out, std::ostream& err) {
  if (a.list) {
    print_catalog(out);
    return;
  }
  refuse_overwriting_inputs({{"--topology", a.topology}, {"--calibration", a.calibration}},
                            {{"--json", a.json}, {"--trace", a.trace}, {"--csv", a.csv}});
  if (a.json == "-" && a.csv == "-")
    throw std::invalid_argument("--json - and --csv -: only one can go to standard output");
  experiment::Scenario s = make_scenario(cmd, a, err);
  const std::int32_t ranks = experiment::resolve_ranks(a.ranks, &s.topology, 0);
  check_scenario(s, a, ranks);
  const bool table = a.json != "-" && a.csv != "-";
  if (table) print_header(out, s, ranks);
  experiment::Hooks hooks;
  TableTotals totals;
  hooks.on_size = [&](const experiment::SizeRun& r) {
    if (s.packet.on_progress) err << "\r" << std::string(64, ' ') << "\r" << std::flush;
    if (!table) return;
    results::Row both = r.row;
    if (!both.in_place) both.in_place = both.timing;
    print_table_row(out, both);
    totals.add(both);
  };
  const experiment::Outcome o = experiment::run(s, hooks);
  if (table) print_table_footer(out, totals.wrong, totals.average());
  if (table && o.last) print_size_report(out, *o.last, s.topology);
  if (!a.trace.empty() && o.last) write_trace(a.trace, o.last->run);
  if (!a.json.empty()) write_json_output(a.json, results::to_json(o.results), out);
  write_csv_output(a.csv, o.results, out);
}

}  // namespace

void add_sim_command(CLI::App& app, std::ostream& out, std::ostream& err, int& exit_code) {
  auto args = std::make_shared<SimArgs>();
  CLI::App* cmd = app.add_subcommand("sim", "Predict or simulate a collective over a size sweep");
  add_sim_options(*cmd, *args);
  cmd->callback([cmd, args, &out, &err, &exit_code] {
    run_sim(*cmd, *args, out, err);
    exit_code = 0;
  });
}

}  // namespace fabtwin::cli
