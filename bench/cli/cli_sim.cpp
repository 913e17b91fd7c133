#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

#include "cli.hpp"
#include "fabtwin/experiment/experiment.hpp"
#include "fabtwin/experiment/strategy.hpp"
#include "fabtwin/files.hpp"
#include "fabtwin/results/calibration.hpp"
#include "fabtwin/results/csv.hpp"
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

void print_link_events(std::ostream& out, const topo::Topology& t,
                       const std::vector<backend::LinkEvent>& events) {
  for (const auto& e : events) {
    out << "# what-if: " << topo::link_label(t, e.link)
        << (e.factor == 0 ? " fails" : " runs at " + std::to_string(e.factor) + "x its rate") << " at "
        << format_duration(e.at) << "\n";
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
    print_link_events(out, s.topology, c.link_events);
  }
  if (s.backend == experiment::BackendKind::flow) {
    out << "# flow model: " << flow::model_description() << "; routing " << backend::to_string(s.flow.routing)
        << "\n";
    if (experiment::find_strategy(s.algorithm) != nullptr)
      out << "# " << s.algorithm << ": the analytic model picks the algorithm, the flow model runs it\n";
    print_link_events(out, s.topology, s.flow.link_events);
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
  if (a.json == "-" && a.csv == "-") {
    throw std::invalid_argument("--json - and --csv -: only one can go to standard output");
  }
  const std::vector<CollectiveOptions> series = expand_all(a.coll);
  if (series.size() > 1 && (!a.json.empty() || !a.trace.empty())) {
    throw std::invalid_argument(
        "-d all / -o all run " + std::to_string(series.size()) +
        " series, and a results file or trace holds one: use --csv, or one -d and -o");
  }
  SimArgs first = a;
  first.coll = series.front();
  experiment::Scenario s = make_scenario(cmd, first, err);
  const std::int32_t ranks = experiment::resolve_ranks(a.ranks, &s.topology, 0);
  check_scenario(s, a, ranks);
  const bool table = a.json != "-" && a.csv != "-";
  if (table) print_header(out, s, ranks);
  experiment::Hooks hooks;
  TableTotals totals;
  // On a terminal: which size runs, and when the sweep should end (every model; the packet and flow
  // models add their own line within a size).
  const bool terminal = isatty(STDERR_FILENO) != 0;
  const auto begin = std::chrono::steady_clock::now();
  if (terminal) {
    hooks.before_size = [&](std::size_t index, std::size_t count, std::uint64_t size) {
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
      char line[160];
      std::snprintf(line, sizeof line, "\r  size %zu of %zu (%s), %.1f s so far%s", index + 1, count,
                    format_bytes(Bytes(size)).c_str(), wall, index == 0 ? "" : ", ETA ");
      err << line;
      if (index > 0)
        err << static_cast<long long>(wall / static_cast<double>(index) * static_cast<double>(count - index))
            << " s";
      err << "   " << std::flush;
    };
  }
  hooks.on_size = [&](const experiment::SizeRun& r) {
    if (terminal) err << "\r" << std::string(72, ' ') << "\r" << std::flush;
    if (!table) return;
    results::Row both = r.row;
    if (!both.in_place) both.in_place = both.timing;
    print_table_row(out, both);
    totals.add(both);
  };
  std::string csv;
  std::optional<experiment::Outcome> last;
  for (const CollectiveOptions& one : series) {
    s.options = to_algo_options(one);
    last = experiment::run(s, hooks);
    const std::string part = results::to_csv(last->results);
    csv += csv.empty() ? part : part.substr(part.find('\n') + 1);
  }
  if (table) print_table_footer(out, totals.wrong, totals.average());
  if (table && last->last) print_size_report(out, *last->last, s.topology);
  if (!a.trace.empty() && last->last) write_trace(a.trace, last->last->run);
  if (!a.json.empty()) write_json_output(a.json, results::to_json(last->results), out);
  write_csv_output(a.csv, csv, out);
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
