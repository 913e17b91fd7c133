#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli.hpp"
#include "fabtwin/files.hpp"
#include "fabtwin/results/check.hpp"
#include "fabtwin/results/gnuplot.hpp"
#include "options.hpp"

namespace fabtwin::cli {

namespace {

struct CheckArgs {
  std::string baseline;
  std::string current;
  std::string tolerance = "5%";
  std::string history;
  std::string trend;
  std::string plot;
  std::string json;
};

}  // namespace

void add_check_command(CLI::App& app, std::ostream& out, std::ostream& err, int& exit_code) {
  auto args = std::make_shared<CheckArgs>();
  CLI::App* cmd = app.add_subcommand(
      "check",
      "Check a run against its baseline (exit 0 within tolerance, 1 outside, 2 unusable input), record it, "
      "or draw the history");
  cmd->add_option("CURRENT", args->current, "results file of this run");
  cmd->add_option("--baseline", args->baseline, "results file the run must match");
  cmd->add_option("--tolerance", args->tolerance, "allowed busbw change either way, e.g. 5% or 0.05")
      ->capture_default_str();
  cmd->add_option("--history", args->history, "append this run (and the check's outcome) to FILE.jsonl");
  cmd->add_option("--trend", args->trend, "print the history in FILE.jsonl instead of checking");
  cmd->add_option("--plot", args->plot, "with --trend: draw busbw per run to FILE.png or FILE.svg");
  cmd->add_option("--json", args->json, "write the outcome per size as JSON to FILE (- for standard output)");
  cmd->callback([args, &out, &err, &exit_code] {
    refuse_overwriting_inputs(
        {{"CURRENT", args->current}, {"--baseline", args->baseline}, {"--trend", args->trend}},
        {{"--json", args->json}, {"--history", args->history}, {"--plot", args->plot}});
    if (!args->trend.empty()) {
      if (!args->current.empty() || !args->baseline.empty() || !args->history.empty() ||
          !args->json.empty()) {
        throw std::invalid_argument(
            "--trend reads a history: it takes no CURRENT, --baseline, --history or --json");
      }
      if (!args->plot.empty()) results::gnuplot_terminal(args->plot, 1, 1);
      const results::History history = results::load_history(args->trend);
      for (const std::string& why : history.skipped) err << "check: skipped a damaged line: " << why << "\n";
      const auto& trends = history.trends;
      results::print_trend(out, trends);
      if (!args->plot.empty()) {
        results::plot_trend(trends, args->plot);
        out << "# plot: " << args->plot;
        if (trends.size() > results::kMaxTrendPanels) {
          out << " (the first " << results::kMaxTrendPanels << " of " << trends.size() << " scenarios)";
        }
        out << "\n";
      }
      exit_code = 0;
      return;
    }
    if (!args->plot.empty())
      throw std::invalid_argument("--plot draws a history: use it with --trend FILE.jsonl");
    if (args->current.empty()) {
      throw std::invalid_argument("check needs CURRENT (a results file), or --trend FILE.jsonl");
    }
    if (args->baseline.empty() && args->history.empty()) {
      throw std::invalid_argument(
          "check needs --baseline BASE.json to check against, or --history FILE.jsonl "
          "to record the run");
    }
    const double tolerance = results::parse_tolerance(args->tolerance);
    const results::ResultFile current = results::load_results(args->current);
    std::optional<results::CheckResult> checked;
    const bool text = args->json != "-";
    if (!args->baseline.empty()) {
      const results::ResultFile baseline = results::load_results(args->baseline);
      checked = results::check(baseline, current, tolerance);
      if (text) results::print_check(out, *checked);
    }
    const nlohmann::json entry = results::history_entry(current, checked ? &*checked : nullptr);
    if (!args->json.empty()) write_json_output(args->json, entry, out);
    if (!args->history.empty()) {
      if (const auto note = results::append_history(args->history, entry))
        err << "check: note: " << *note << "\n";
      if (text) out << "check: recorded in " << args->history << "\n";
    }
    exit_code = checked && !checked->passed() ? 1 : 0;
  });
}

}  // namespace fabtwin::cli
