#include "fabtwin/results/nccl_tests.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "fabtwin/coll/metrics.hpp"
#include "fabtwin/coll/plan.hpp"
#include "fabtwin/files.hpp"
#include "nccl_log_lines.hpp"
#include "nccl_ranks.hpp"
#include "nccl_rows.hpp"
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

  ResultFile run(std::istream& in, nlohmann::json provenance);

 private:
  // Reads every line, then refuses a log that is not a whole nccl-tests run.
  void read(std::istream& in);
  ResultFile build(nlohmann::json provenance);
  void add_rows(ResultFile& f, coll::Collective c, std::int32_t ranks);

  void header_line(int n, const std::string& line);
  void table_header(int n, const std::vector<std::string>& cols);
  void data_row(int n, const std::string& line, std::vector<std::string> t);
  coll::Collective decide_collective(const std::vector<ParsedRow>& rows) const;
  Timing timing(const ParsedRow& r, const ParsedTiming& t, coll::Collective c, std::int32_t ranks,
                const char* which) const {
    return checked_timing(origin_, r, t, c, ranks, which);
  }

  std::string origin_;
  NcclImportOptions options_;
  std::string tests_version_;
  std::string binary_;
  LogFacts facts_;
  nlohmann::json settings_ = nlohmann::json::object();
  std::map<int, std::pair<std::string, std::string>> ranks_;  // rank -> (host, device)
  // From the "# Using devices" list, --ranks, fabtwin's own header, NCCL's "nranks" or the rows, in
  // that order of trust.
  std::int32_t rank_count(coll::Collective c, nlohmann::json& said) const;
  bool saw_settings_ = false;
  bool in_table_ = false;
  bool old_layout_ = false;  // kOldColumns
  bool extras_ = false;      // kColumns then kExtraColumns
  int cut_line_ = 0;         // a row that did not parse, dropped if it is the table's last
  std::string cut_reason_;
  bool finished_ = false;
  std::vector<ParsedRow> rows_;
};

void Importer::header_line(int n, const std::string& line) {
  const auto t = tokens(line.substr(1));
  if (facts_.fabtwin_header(t)) return;
  // A run's opening lines after a table: several runs were logged to one file.
  const bool opens_a_run = (t.size() >= 2 && t[0] == "nccl-tests" && t[1] == "version") ||
                           (t.size() >= 3 && t[0] == "Collective" && t[2] == "starting:") ||
                           (!t.empty() && t[0] == "nThread");
  if (opens_a_run && in_table_) {
    fail(n,
         "a second nccl-tests run starts here: the log holds several; split it and import each on its own");
  }
  // "# nccl-tests version 2.18.2 nccl-headers=23007 nccl-library=23007"
  if (t.size() >= 3 && t[0] == "nccl-tests" && t[1] == "version") {
    tests_version_ = t[2];
    if (tests_version_.rfind("2.", 0) != 0) {
      fail(n, "nccl-tests version " + tests_version_ +
                  " is not supported: fabtwin reads the table of nccl-tests 2.x (2.11 and later)");
    }
    return;
  }
  // "# Collective test starting: all_reduce_perf"
  if (t.size() >= 4 && t[0] == "Collective" && t[1] == "test" && t[2] == "starting:") {
    binary_ = t[3];
    if (!collective_of_binary(binary_)) {
      fail(n, "\"" + binary_ +
                  "\" is not a test fabtwin imports (all_reduce_perf, all_gather_perf, reduce_scatter_perf, "
                  "broadcast_perf, reduce_perf, alltoall_perf)");
    }
    return;
  }
  // "#  Rank  0 Group  0 Pid  15784 on  nid007106 device  0 [0009:01:00] NVIDIA GH200 120GB" (no Group
  // before 2.11): the device name is everything after the bus id.
  if (t.size() >= 2 && t[0] == "Rank") {
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
    if (ranks_.count(r)) fail(n, "rank " + t[1] + " is listed twice under \"# Using devices\"");
    ranks_[r] = {*(on + 1), trim(line.substr(bus_end + 1))};
    return;
  }
  if (!t.empty() && t[0] == "nThread") {
    saw_settings_ = true;
    settings_.update(run_settings(t));
    return;
  }
  if (t.size() >= 5 && t[0] == "size" && t[1] == "count") table_header(n, t);
  if (!t.empty() && t[0] == "Avg" && in_table_) finished_ = true;
}

void Importer::table_header(int n, const std::vector<std::string>& cols) {
  std::vector<std::string> with_extras = kColumns;
  with_extras.insert(with_extras.end(), kExtraColumns.begin(), kExtraColumns.end());
  if (cols == kColumns || cols == kOldColumns || cols == with_extras) {
    old_layout_ = cols == kOldColumns;
    extras_ = cols == with_extras;
    if (in_table_ || !rows_.empty()) {
      fail(n, "a second table: the log holds several runs; split it and import each on its own");
    }
    in_table_ = true;
    return;
  }
  std::string got;
  for (const auto& c : cols) got += (got.empty() ? "" : " ") + c;
  fail(
      n, "unknown nccl-tests table layout (\"" + got + "\"); fabtwin reads: " + [] {
        std::string s;
        for (const auto& c : kColumns) s += (s.empty() ? "" : " ") + c;
        return s;
      }());
}

void Importer::data_row(int n, const std::string& line, std::vector<std::string> t) {
  if (old_layout_ && t.size() == kOldColumns.size()) {
    // The old error column is a relative error, not a count of wrong elements: not a check we can
    // carry, so the row is imported as unchecked, with every number as published.
    t.insert(t.begin() + 4, "-1");
    t[8] = t[12] = "N/A";
  }
  const std::size_t fields = kColumns.size() + (extras_ ? kExtraColumns.size() : 0);
  if (t.size() != fields) {
    fail(n, "table row with " + std::to_string(t.size()) + " fields, expected " + std::to_string(fields) +
                " (truncated line?): \"" + trim(line) + "\"");
  }
  auto unsigned_at = [&](std::size_t i, const char* what) {
    const auto v = whole_number(t[i]);
    if (!v) fail(n, std::string(what) + " \"" + t[i] + "\" is not a whole number below 10^19");
    return *v;
  };
  auto number_at = [&](std::size_t i, const char* what) {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(t[i], &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != t[i].size() || !std::isfinite(v) || v < 0) {
      fail(n, std::string(what) + " \"" + t[i] + "\" is not a non-negative number");
    }
    return v;
  };
  ParsedRow r;
  r.line = n;
  if (extras_) {
    r.algo = t[13];
    r.proto = t[14];
    r.channels = t[15];
  }
  const auto half_at = [&](std::size_t i, const char* which) {
    ParsedTiming h;
    if (t[i] == "N/A" && t[i + 1] == "N/A" && t[i + 2] == "N/A" && t[i + 3] == "N/A") {
      h.present = false;
      return h;
    }
    h = {number_at(i, which), number_at(i + 1, which), number_at(i + 2, which), t[i + 3],
         printed_precision(t[i]) / std::max(number_at(i, which), 1e-300)};
    return h;
  };
  r.size = unsigned_at(0, "size");
  r.count = unsigned_at(1, "count");
  r.type = t[2];
  r.redop = t[3];
  try {
    r.root = std::stoi(t[4]);
  } catch (const std::exception&) {
    fail(n, "root \"" + t[4] + "\" is not a rank");
  }
  r.out_of_place = half_at(5, "out-of-place time, algbw or busbw");
  r.in_place = half_at(9, "in-place time, algbw or busbw");
  if (!r.out_of_place.present && !r.in_place.present) fail(n, "both halves of the row are N/A");
  if ((!options_.dtype.empty() && r.type != options_.dtype) ||
      (!options_.op.empty() && r.redop != options_.op)) {
    return;
  }
  rows_.push_back(r);
}

coll::Collective Importer::decide_collective(const std::vector<ParsedRow>& rows) const {
  std::optional<coll::Collective> stated;
  if (!binary_.empty()) stated = collective_of_binary(binary_);
  if (!stated && !facts_.fabtwin_collective.empty())
    stated = coll::collective_from_string(facts_.fabtwin_collective);
  if (!options_.collective.empty()) {
    const auto c = coll::collective_from_string(options_.collective);
    if (!c) {
      fail(0, "--collective: unknown collective \"" + options_.collective +
                  "\" (all_reduce, reduce_scatter, all_gather, broadcast, reduce, all_to_all)");
    }
    if (stated && *stated != *c) {
      fail(0, "--collective " + options_.collective + " contradicts the log, which ran " + binary_);
    }
    stated = c;
  }
  if (stated) return *stated;
  // Without a name, the table's shape decides where it can: reductions print an operation, rooted
  // collectives a root, and all-reduce prints the whole count where reduce-scatter prints a rank's.
  const ParsedRow& r = rows.front();
  const bool reduces = r.redop != "none";
  const bool rooted = r.root >= 0;
  const std::uint64_t elem = element_size(r.type).value_or(1);
  if (reduces && rooted) return coll::Collective::reduce;
  if (!reduces && rooted) return coll::Collective::broadcast;
  if (reduces && r.count > 0) {
    std::uint64_t whole = 0;
    if (!__builtin_mul_overflow(r.count, elem, &whole) && whole == r.size)
      return coll::Collective::all_reduce;
    if (whole != 0 && r.size % whole == 0) return coll::Collective::reduce_scatter;
  }
  fail(0,
       "the log does not name its test (no \"# Collective test starting:\" line) and the table "
       "fits more than one collective: pass --collective (e.g. all_gather or all_to_all)");
}

ResultFile Importer::run(std::istream& in, nlohmann::json provenance) {
  read(in);
  return build(std::move(provenance));
}

void Importer::read(std::istream& in) {
  std::string line;
  int n = 0;
  bool any_text = false;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string t = trim(strip_launcher_prefix(line));
    if (t.empty()) continue;
    any_text = true;
    if (t[0] == '#') {
      header_line(n, t);
      continue;
    }
    if (facts_.nccl_line(t)) continue;
    if (in_table_ && !finished_ && looks_like_a_row(t)) {
      if (cut_line_ != 0) fail(cut_line_, "a row cut short in the middle of the table: " + cut_reason_);
      try {
        data_row(n, t, tokens(t));
      } catch (const InvalidResults& e) {
        // A pasted table often ends in a line cut short; --allow-partial drops it, and only it.
        cut_line_ = n;
        const std::string where = origin_ + ":" + std::to_string(n) + ": ";
        cut_reason_ = e.what();
        if (cut_reason_.rfind(where, 0) == 0) cut_reason_.erase(0, where.size());
      }
      continue;
    }
    // Anything else (launcher chatter, a shell prompt, a markdown fence) is not nccl-tests' and carries
    // no numbers we read, only perhaps the NCCL settings the run was launched with.
    facts_.command_line_settings(t);
  }
  if (!any_text) fail(0, "the log is empty");
  if (cut_line_ != 0 && !options_.allow_partial) {
    fail(cut_line_, "the table's last row is cut short (" + cut_reason_ +
                        "); --allow-partial imports the rows before it");
  }
  if (!saw_settings_ && !in_table_) {
    fail(0, "not an nccl-tests log: no \"# nThread ... nGpus ...\" line and no result table");
  }
  if (!in_table_) fail(0, "no result table (the run failed before its first size?)");
  if (!ranks_.empty() && options_.ranks > 0 && static_cast<std::size_t>(options_.ranks) != ranks_.size()) {
    fail(0, "--ranks " + std::to_string(options_.ranks) + " disagrees with the " +
                std::to_string(ranks_.size()) + " ranks listed under \"# Using devices\"");
  }
  for (int r = 0; r < static_cast<int>(ranks_.size()); ++r) {
    if (!ranks_.count(r)) fail(0, "the \"# Using devices\" list skips rank " + std::to_string(r));
  }
  if (rows_.empty()) {
    fail(0, options_.dtype.empty() && options_.op.empty() ? "the result table has no rows"
                                                          : "no rows of the chosen --dtype/--op");
  }
  if (!finished_ && !options_.allow_partial) {
    fail(0,
         "the log ends before nccl-tests' \"# Avg bus bandwidth\" line: the run was cut short or the "
         "file is truncated (--allow-partial imports the rows it has)");
  }
}

void Importer::add_rows(ResultFile& f, coll::Collective c, std::int32_t ranks) {
  for (const ParsedRow& r : rows_) {
    if (r.type != f.run.dtype || r.redop != f.run.op) {
      fail(r.line, "rows of several types or operations (" + f.run.dtype + "/" + f.run.op + " and " + r.type +
                       "/" + r.redop + "; a run with -d all or -o all?): choose one with --dtype and --op");
    }
    const auto elem = element_size(r.type);
    if (!elem) fail(r.line, "unknown data type \"" + r.type + "\"");
    const std::uint64_t per_rank = count_is_whole_size(c) ? 1 : static_cast<std::uint64_t>(ranks);
    std::uint64_t made = 0;
    if (__builtin_mul_overflow(r.count, *elem * per_rank, &made) || made != r.size) {
      fail(r.line, "count " + std::to_string(r.count) + " of " + r.type + " does not make size " +
                       std::to_string(r.size) + " for " + coll::to_string(c) + " over " +
                       std::to_string(ranks) + " ranks");
    }
    if (!f.rows.empty() && r.size <= f.rows.back().size_bytes) {
      fail(r.line, "size " + std::to_string(r.size) + " does not grow after " +
                       std::to_string(f.rows.back().size_bytes) + " (two runs in one log?)");
    }
    if (r.size == 0) continue;  // nccl-tests runs size 0 with -b 0; it has no bandwidth
    Row row;
    row.size_bytes = r.size;
    row.count = r.count;
    row.dtype = r.type;
    row.op = r.redop;
    row.root = r.root;
    row.algorithm = r.algo.empty() || r.algo == "N/A" ? f.run.algorithm : r.algo;
    row.backend = f.run.backend;
    if (r.proto != "" && r.proto != "N/A") row.extra["protocol"] = r.proto;
    if (const auto ch = whole_number(r.channels)) row.extra["channels"] = *ch;
    // The schema's row holds out of place, and in place beside it; a run of one placement has one.
    const bool out = r.out_of_place.present;
    row.timing = timing(r, out ? r.out_of_place : r.in_place, c, ranks, out ? "out-of-place" : "in-place");
    if (out && r.in_place.present) row.in_place = timing(r, r.in_place, c, ranks, "in-place");
    f.rows.push_back(std::move(row));
  }
}

std::int32_t Importer::rank_count(coll::Collective c, nlohmann::json& said) const {
  if (!ranks_.empty()) {
    said = {{"value", ranks_.size()}, {"from", "the \"# Using devices\" list"}};
    return static_cast<std::int32_t>(ranks_.size());
  }
  if (options_.ranks > 0) {
    said = {{"value", options_.ranks}, {"from", "--ranks"}};
    return options_.ranks;
  }
  if (facts_.fabtwin_ranks > 0) {
    said = {{"value", facts_.fabtwin_ranks}, {"from", facts_.fabtwin_tool + "'s header"}};
    return facts_.fabtwin_ranks;
  }
  if (facts_.nranks > 0) {
    said = {{"value", facts_.nranks}, {"from", "NCCL's \"nranks\" on its Init COMPLETE line"}};
    return facts_.nranks;
  }
  std::vector<PrintedRow> printed;
  for (const auto& r : rows_) {
    const std::uint64_t elem = element_size(r.type).value_or(0);
    for (const ParsedTiming* t : {&r.out_of_place, &r.in_place}) {
      if (t->present) printed.push_back({r.line, r.size, r.count, elem, t->algbw, t->busbw});
    }
  }
  const InferredRanks inferred = infer_ranks(c, printed);
  if (inferred.ranks == 0) {
    fail(0,
         "no \"# Using devices\" rank list, and " + inferred.said + " with the number of ranks the run had");
  }
  said = {{"value", inferred.ranks}, {"from", "inferred: " + inferred.said}};
  return inferred.ranks;
}

ResultFile Importer::build(nlohmann::json provenance) {
  const coll::Collective c = decide_collective(rows_);
  nlohmann::json ranks_said;
  const std::int32_t ranks = rank_count(c, ranks_said);

  ResultFile f;
  f.origin = origin_;
  f.run.backend = facts_.fabtwin_backend.empty() ? "nccl-tests" : facts_.fabtwin_backend;
  f.run.collective = coll::to_string(c);
  // NCCL picks its algorithm per size unless told; "nccl" says so honestly, and so does a setting
  // that names several ("Tree,Ring", "allreduce:ring;...", "^NVLS").
  std::string algo = facts_.algorithm();
  std::transform(algo.begin(), algo.end(), algo.begin(), [](unsigned char ch) { return std::tolower(ch); });
  const bool one_algorithm = !algo.empty() && algo.find_first_of(",:;^ ") == std::string::npos;
  f.run.algorithm = one_algorithm ? algo : "nccl";
  f.run.ranks = ranks;
  f.run.dtype = rows_.front().type;
  f.run.op = rows_.front().redop;
  f.run.options = settings_;
  std::set<std::string> hosts, devices;
  for (const auto& [r, hd] : ranks_) {
    hosts.insert(hd.first);
    devices.insert(hd.second);
  }
  if (!ranks_.empty()) f.run.options["hosts"] = hosts.size();
  f.run.options["in_place_columns"] = true;

  std::string device;
  for (const auto& d : devices) device += (device.empty() ? "" : ", ") + d;
  provenance["device"] = device;
  provenance["host"] = ranks_.empty() ? std::string("unknown") : ranks_.begin()->second.first;
  const std::string library = facts_.library.empty() ? "NCCL" : facts_.library;
  const std::string tool = !facts_.fabtwin_tool.empty() ? facts_.fabtwin_tool
                           : library == "RCCL"          ? "rccl-tests"
                                                        : "nccl-tests";
  provenance["source"] = {{"tool", tool},
                          {"file", origin_},
                          {"nccl_tests_version", tests_version_.empty() ? "unknown" : tests_version_},
                          {"test", binary_.empty() ? std::string(coll::to_string(c)) : binary_},
                          {"library", library},
                          {"nccl_version", facts_.version.empty() ? "unknown" : facts_.version},
                          {"complete", finished_},
                          {"ranks", ranks_said}};
  if (!facts_.env.empty()) provenance["source"]["nccl_env"] = facts_.env;
  if (!facts_.command_line.empty()) provenance["source"]["nccl_command_line"] = facts_.command_line;
  if (facts_.coll_channels > 0) provenance["source"]["coll_channels"] = facts_.coll_channels;
  f.provenance = provenance;

  add_rows(f, c, ranks);
  if (f.rows.empty()) fail(0, "every row has size 0: nothing to import");
  return f;
}

}  // namespace

ResultFile import_nccl_tests(std::istream& log, const std::string& origin, const NcclImportOptions& options,
                             nlohmann::json provenance) {
  Importer importer(origin, options);
  return importer.run(log, std::move(provenance));
}

ResultFile import_nccl_tests_file(const std::string& path, const NcclImportOptions& options,
                                  nlohmann::json provenance) {
  std::string text;
  try {
    text = read_input_file(path, "nccl-tests log");
  } catch (const std::invalid_argument& e) {
    throw InvalidResults(e.what());
  }
  std::istringstream f(text);
  return import_nccl_tests(f, path == "-" ? "standard input" : path, options, std::move(provenance));
}

}  // namespace fabtwin::results
