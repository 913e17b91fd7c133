#include "fabtwin/results/nccl_tests.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <sstream>
#include <vector>

#include "fabtwin/files.hpp"
#include "nccl_build.hpp"
#include "nccl_json.hpp"
#include "nccl_log_lines.hpp"
#include "nccl_table.hpp"
#include "nccl_tests_words.hpp"

namespace fabtwin::results {

using namespace nccl_words;

namespace {

class Importer {
 public:
  Importer(const std::string& origin, const NcclImportOptions& options)
      : origin_(origin), options_(options) {}

  [[noreturn]] void fail(int line, const std::string& what) const {
    throw InvalidResults(origin_ + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " + what);
  }

  // Reads every line, then refuses a log that is not a whole nccl-tests run.
  ParsedLog read(std::istream& in);

 private:
  void line(int n, const std::string& text);
  void header_line(int n, const std::string& line);
  void rank_line(int n, const std::string& line, const std::vector<std::string>& t);
  void table_header(int n, const std::vector<std::string>& cols);
  void data_row(int n, const std::string& line);
  void check_whole() const;
  void headerless_table(const std::string& line);

  std::string origin_;
  NcclImportOptions options_;
  ParsedLog log_;
  bool saw_settings_ = false;
  std::optional<TableLayout> table_;
  bool single_half_in_place_ = true;  // rccl-tests -O 0 titles its one half "in-place"
  int cut_line_ = 0;                  // a row that did not parse, dropped if it is the table's last
  std::string cut_reason_;
  bool any_text_ = false;
  bool headerless_ = false;  // rows pasted without the table's header (nor, then, its footer)
};

void Importer::header_line(int n, const std::string& line) {
  const auto t = tokens(line.substr(1));
  if (log_.facts.fabtwin_header(t)) return;
  // A run's opening lines after a table: several runs were logged to one file.
  const bool opens_a_run = (t.size() >= 2 && t[0] == "nccl-tests" && t[1] == "version") ||
                           (t.size() >= 3 && t[0] == "Collective" && t[2] == "starting:") ||
                           (!t.empty() && t[0] == "nThread");
  if (opens_a_run && table_) {
    fail(n,
         "a second nccl-tests run starts here: the log holds several; split it and import each on its own");
  }
  // "# nccl-tests version 2.18.2 nccl-headers=23007 nccl-library=23007"
  if (t.size() >= 3 && t[0] == "nccl-tests" && t[1] == "version") {
    log_.tests_version = t[2];
    if (log_.tests_version.rfind("2.", 0) != 0) {
      fail(n, "nccl-tests version " + log_.tests_version +
                  " is not supported: fabtwin reads the table of nccl-tests 2.x (2.0 and later)");
    }
    return;
  }
  // "# Collective test starting: all_reduce_perf"
  if (t.size() >= 4 && t[0] == "Collective" && t[1] == "test" && t[2] == "starting:") {
    log_.binary = t[3];
    if (!collective_of_binary(log_.binary)) {
      fail(n, "\"" + log_.binary +
                  "\" is not a test fabtwin imports (all_reduce_perf, all_gather_perf, reduce_scatter_perf, "
                  "broadcast_perf, reduce_perf, alltoall_perf)");
    }
    return;
  }
  if (t.size() >= 2 && t[0] == "Rank") return rank_line(n, line, t);
  if (!t.empty() && t[0] == "nThread") {
    saw_settings_ = true;
    log_.settings.update(run_settings(t));
    return;
  }
  const bool titles_in_place = std::find(t.begin(), t.end(), "in-place") != t.end();
  const bool titles_out_of_place = std::find(t.begin(), t.end(), "out-of-place") != t.end();
  if (titles_in_place || titles_out_of_place) single_half_in_place_ = !titles_out_of_place;
  if (t.size() >= 5 && t[0] == "size" && t[1] == "count") table_header(n, t);
  if (!t.empty() && t[0] == "Avg" && table_) log_.finished = true;
}

// "#  Rank  0 Group  0 Pid  15784 on  nid007106 device  0 [0009:01:00] NVIDIA GH200 120GB" (no Group
// before 2.13.4): the device name is everything after the bus id.
void Importer::rank_line(int n, const std::string& line, const std::vector<std::string>& t) {
  const auto on = std::find(t.begin(), t.end(), "on");
  const auto device = std::find(t.begin(), t.end(), "device");
  const auto bus_end = line.find(']', line.find(" device "));
  int r = -1;
  try {
    r = std::stoi(t[1]);
  } catch (const std::exception&) {
    r = -1;
  }
  if (r < 0 || on == t.end() || on + 1 == t.end() || device == t.end() || bus_end == std::string::npos) {
    fail(n, "a \"Rank\" line of an unknown layout: \"" + trim(line) + "\"");
  }
  if (log_.ranks.count(r)) fail(n, "rank " + t[1] + " is listed twice under \"# Using devices\"");
  log_.ranks[r] = {*(on + 1), trim(line.substr(bus_end + 1))};
  log_.listed_from = "the \"# Using devices\" list";
}

void Importer::table_header(int n, const std::vector<std::string>& cols) {
  if (auto layout = table_layout(cols)) {
    if (table_ || !log_.rows.empty()) {
      fail(n, "a second table: the log holds several runs; split it and import each on its own");
    }
    layout->single_half_in_place = single_half_in_place_;
    table_ = layout;
    return;
  }
  std::string got;
  for (const auto& c : cols) got += (got.empty() ? "" : " ") + c;
  fail(n, "unknown nccl-tests table layout (\"" + got +
              "\"); fabtwin reads nccl-tests 2.x and rccl-tests tables: size count type [redop] [root], then "
              "per placement time (or cputime) algbw busbw #wrong (or error) [i_min i_max i_p99 i_cv%], then "
              "[algo proto nchannels] [timestamp]");
}

void Importer::data_row(int n, const std::string& line) {
  ParsedRow r = parse_row(*table_, tokens(line), n, origin_ + ":" + std::to_string(n));
  if ((!options_.dtype.empty() && r.type != options_.dtype) ||
      (!options_.op.empty() && r.redop != options_.op)) {
    return;
  }
  // With -C the GPU time is known only through algbw's two decimals: below 1% a row has no time.
  if (gpu_time_too_coarse(r)) {
    char algbw[32];
    std::snprintf(algbw, sizeof algbw, "%.2f",
                  r.out_of_place.present ? r.out_of_place.algbw : r.in_place.algbw);
    log_.dropped.push_back({{"at", "line " + std::to_string(n)},
                            {"why", std::string("-C prints CPU time, and algbw ") + algbw +
                                        " has too few digits to give the GPU time within 1%"}});
    return;
  }
  log_.rows.push_back(std::move(r));
}

// Rows pasted without their header: whole rows of whole numbers first are the 2.x layout when their field
// count is its 13 (16 with fabtwin's or rccl-tests -M's columns); anything else stays unread.
void Importer::headerless_table(const std::string& line) {
  const auto words = tokens(line);
  if (words.size() != 13 && words.size() != 16) return;
  if (!whole_number(words[0]) || !whole_number(words[1])) return;
  std::vector<std::string> header = {"size",  "count",  "type", "redop", "root",  "time",  "algbw",
                                     "busbw", "#wrong", "time", "algbw", "busbw", "#wrong"};
  if (words.size() == 16) header.insert(header.end(), {"algo", "proto", "nchannels"});
  table_ = table_layout(header);
  headerless_ = true;
  log_.table_header =
      "none: the nccl-tests 2.x columns, from the rows' " + std::to_string(words.size()) + " fields";
}

void Importer::line(int n, const std::string& raw) {
  const std::string t = trim(strip_launcher_prefix(raw));
  if (t.empty()) return;
  any_text_ = true;
  if (t[0] == '#') return header_line(n, t);
  if (log_.facts.nccl_line(t)) return;
  // "rccl-tests: Version develop:33cc4df", printed without a '#'.
  if (t.rfind("rccl-tests: Version", 0) == 0) {
    log_.facts.library = "RCCL";
    const auto w = tokens(t);
    log_.tests_version = w.size() > 2 ? w[2] : "unknown";
    return;
  }
  if (!table_ && log_.rows.empty()) headerless_table(t);
  if (table_ && !log_.finished && looks_like_a_row(t)) {
    if (cut_line_ != 0) fail(cut_line_, "a row cut short in the middle of the table: " + cut_reason_);
    try {
      data_row(n, t);
    } catch (const InvalidResults& e) {
      // A pasted table often ends in a line cut short; --allow-partial drops it, and only it.
      cut_line_ = n;
      const std::string where = origin_ + ":" + std::to_string(n) + ": ";
      cut_reason_ = e.what();
      if (cut_reason_.rfind(where, 0) == 0) cut_reason_.erase(0, where.size());
    }
    return;
  }
  // Anything else (launcher chatter, a shell prompt, a markdown fence) is not nccl-tests' and carries
  // no numbers we read, only perhaps the NCCL settings the run was launched with.
  log_.facts.command_line_settings(t);
}

ParsedLog Importer::read(std::istream& in) {
  std::string text;
  int n = 0;
  while (std::getline(in, text)) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    line(++n, text);
  }
  check_whole();
  return std::move(log_);
}

void Importer::check_whole() const {
  if (!any_text_) fail(0, "the log is empty");
  if (cut_line_ != 0 && !options_.allow_partial) {
    fail(cut_line_, "the table's last row is cut short (" + cut_reason_ +
                        "); --allow-partial imports the rows before it");
  }
  if (!saw_settings_ && !table_) {
    fail(0, "not an nccl-tests log: no \"# nThread ... nGpus ...\" line and no result table");
  }
  if (!table_) fail(0, "no result table (the run failed before its first size?)");
  for (int r = 0; r < static_cast<int>(log_.ranks.size()); ++r) {
    if (!log_.ranks.count(r)) fail(0, "the \"# Using devices\" list skips rank " + std::to_string(r));
  }
  if (!log_.rows.empty() && !log_.finished && !headerless_ && !options_.allow_partial) {
    fail(0,
         "the log ends before nccl-tests' \"# Avg bus bandwidth\" line: the run was cut short or the "
         "file is truncated (--allow-partial imports the rows it has)");
  }
}

}  // namespace

ResultFile import_nccl_tests(std::istream& log, const std::string& origin, const NcclImportOptions& options,
                             nlohmann::json provenance) {
  return build_results(origin, options, Importer(origin, options).read(log), std::move(provenance));
}

namespace {

ParsedLog read_log_text(const std::string& text, const std::string& origin,
                        const NcclImportOptions& options) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    nlohmann::json j;
    try {
      j = parse_json_text(text, origin);
    } catch (const std::invalid_argument& e) {
      throw InvalidResults(std::string(e.what()) + " (nccl-tests -J output cut short?)");
    }
    if (!is_nccl_tests_json(j)) {
      throw InvalidResults(
          origin + ": JSON, but not nccl-tests' -J output (no \"config\" and \"results\")" +
          (j.contains("schema") ? std::string("; it is a fabtwin results file already") : ""));
    }
    return read_nccl_tests_json(j, origin, options);
  }
  std::istringstream in(text);
  return Importer(origin, options).read(in);
}

ParsedLog read_log_file(const std::string& path, const std::string& origin,
                        const NcclImportOptions& options) {
  std::string text;
  try {
    text = read_input_file(path, "nccl-tests log");
  } catch (const std::invalid_argument& e) {
    throw InvalidResults(e.what());
  }
  return read_log_text(text, origin, options);
}

std::string origin_of(const std::string& path) {
  return path == "-" ? "standard input" : path;
}

}  // namespace

ResultFile import_nccl_tests_file(const std::string& path, const NcclImportOptions& options,
                                  nlohmann::json provenance) {
  const std::string origin = origin_of(path);
  return build_results(origin, options, read_log_file(path, origin, options), std::move(provenance));
}

ResultFile import_nccl_tests_text(const std::string& text, const std::string& origin,
                                  const NcclImportOptions& options, nlohmann::json provenance) {
  return build_results(origin, options, read_log_text(text, origin, options), std::move(provenance));
}

std::vector<NcclSeries> import_nccl_tests_series(const std::string& path, const NcclImportOptions& options,
                                                 const nlohmann::json& provenance) {
  const std::string origin = origin_of(path);
  ParsedLog log = read_log_file(path, origin, options);
  std::vector<NcclSeries> out;
  for (auto& [name, rows] : split_series(log.rows)) {
    ParsedLog one = log;
    one.rows = std::move(rows);
    out.push_back({name, build_results(origin, options, one, provenance)});
  }
  if (out.empty()) out.push_back({"", build_results(origin, options, log, provenance)});
  return out;
}

}  // namespace fabtwin::results
