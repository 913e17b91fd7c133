// Performance regression checks for CI: a run against its baseline within a tolerance, and the
// history of such runs (one JSON object per line) that a dashboard or `fabtwin check --trend` draws.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "fabtwin/results/results.hpp"

namespace fabtwin::results {

// "5%" or "0.05" -> 0.05. Throws std::invalid_argument outside [0, 1).
double parse_tolerance(const std::string& text);

enum class Verdict { within, regression, improvement, missing, wrong_result };
const char* to_string(Verdict v);

struct CheckedRow {
  std::uint64_t size_bytes = 0;
  std::optional<double> baseline_busbw_gbps;
  std::optional<double> current_busbw_gbps;
  std::optional<double> change;  // (current - baseline) / baseline
  Verdict verdict = Verdict::within;
};

struct CheckResult {
  std::string baseline_file;
  std::string current_file;
  double tolerance = 0.0;
  std::vector<CheckedRow> rows;  // every baseline size, then sizes only the current run has
  std::size_t new_sizes = 0;     // current sizes the baseline lacks (noted, not failed)
  // Run options that differ (per-message cost, iterations, ...): not refused, but the first place to
  // look when a check fails.
  std::vector<std::string> option_changes;
  bool passed() const;
  const CheckedRow* worst() const;  // largest |change| among compared sizes
};

// Throws InvalidResults (exit 2) when the runs are not the same scenario (collective, algorithm,
// backend, ranks, dtype, op, topology hash when both have one) or share no size.
CheckResult check(const ResultFile& baseline, const ResultFile& current, double tolerance);
// One line when every size is within tolerance; otherwise the table of sizes outside it.
void print_check(std::ostream& out, const CheckResult& r);

// "analytic all_reduce/ring 128 ranks on rail:..." : what a history line is a point of.
std::string scenario_key(const ResultFile& f);

// A line of the history file: the run, its scenario and, when checked, the outcome.
nlohmann::json history_entry(const ResultFile& current, const CheckResult* checked);
// Appends the entry as one whole line. Refuses (InvalidResults) a file that is not a history; when the
// file's last line was cut short, leaves it and returns a note saying so.
std::optional<std::string> append_history(const std::string& path, const nlohmann::json& entry);

struct HistoryPoint {
  std::string time;
  std::string revision;
  std::string status;  // pass, fail or recorded
  std::map<std::uint64_t, double> busbw_gbps;
};
struct Trend {
  std::string scenario;
  std::vector<HistoryPoint> points;  // in file order
};
struct History {
  std::vector<Trend> trends;         // grouped by scenario, in order of first appearance
  std::vector<std::string> skipped;  // "file:line: why" of each damaged line, which no trend holds
};
// Throws InvalidResults when the file holds no readable entry at all.
History load_history(const std::string& path);
// The same from the file's text; `path` names it in messages.
History parse_history(const std::string& text, const std::string& path);
// Per scenario: busbw at up to `max_sizes` sizes spread over the range, one line per run.
void print_trend(std::ostream& out, const std::vector<Trend>& trends, std::size_t max_sizes = 4);
std::vector<std::uint64_t> trend_sizes(const Trend& t, std::size_t max_sizes);

}  // namespace fabtwin::results
