#include "fabtwin/results/perftest.hpp"

#include <algorithm>
#include <sstream>

#include "fabtwin/files.hpp"
#include "fabtwin/results/results.hpp"
#include "nccl_log_lines.hpp"
#include "nccl_tests_words.hpp"
#include "perftest_words.hpp"

namespace fabtwin::results {

using nccl_words::tokens;
using nccl_words::trim;
using namespace perftest_words;

namespace {

class TextReader {
 public:
  explicit TextReader(const std::string& origin) {
    log_.origin = origin;
    log_.format = "text";
  }

  PerftestLog read(const std::string& text);

 private:
  [[noreturn]] void fail(int line, const std::string& what) const {
    throw InvalidResults(log_.origin + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " + what);
  }
  void line(int n, const std::string& t);
  void header(int n, const std::string& t);
  void row(int n, const std::vector<std::string>& words);

  PerftestLog log_;
  std::vector<std::string> columns_;  // the header's, once seen
  bool in_table_ = false;
  bool report_both_ = false;  // "Local results:" and "Remote results:" follow the summed row
};

void TextReader::header(int n, const std::string& t) {
  std::vector<std::string> cols = header_columns(t);
  if (cols.empty()) fail(n, "a perftest table header of an unknown layout: \"" + t + "\"");
  if (!columns_.empty() && cols != columns_) {
    fail(n, "a second table of other columns: the capture holds several runs; split it");
  }
  if (columns_.empty()) {
    log_.latency = std::find(cols.begin(), cols.end(), "bw_average") == cols.end();
    log_.unit = header_unit(t);
    if (!log_.latency && log_.unit.empty())
      fail(n, "the header names no bandwidth unit ([MB/sec], [MiB/sec] or [Gb/sec])");
    if (log_.latency) log_.unit = "usec";
  }
  columns_ = std::move(cols);
  in_table_ = true;
}

void TextReader::row(int n, const std::vector<std::string>& w) {
  const std::string at = log_.origin + ":" + std::to_string(n);
  PerftestRow r = parse_row(columns_, w, at, log_.unit);
  if (!log_.rows.empty() && r.size_bytes <= log_.rows.back().size_bytes) {
    fail(n, "size " + std::to_string(r.size_bytes) + " does not grow after " +
                std::to_string(log_.rows.back().size_bytes) +
                " (two runs, or --run_infinitely intervals, in one capture?)");
  }
  log_.rows.push_back(std::move(r));
}

void TextReader::line(int n, const std::string& t) {
  const auto w = tokens(t);
  if (w.empty()) return;
  if (t.rfind("---", 0) == 0) {
    in_table_ = false;
    return;
  }
  if (w[0] == "Local" && w.size() > 1 && w[1] == "results:") report_both_ = true;
  if (report_both_) return;  // the local and remote parts of a -b --report-both row already summed
  if (w[0] == "#bytes") return header(n, t);
  if (is_title(t)) {
    if (!log_.test.empty())
      fail(n, "a second perftest run starts here (\"" + trim(t) + "\"); split the capture");
    log_.test = trim(t);
    title_facts(log_.test, log_);
    return;
  }
  if (in_table_ && nccl_words::whole_number(w[0])) return row(n, w);
  banner_facts(t, log_.banner);
}

PerftestLog TextReader::read(const std::string& text) {
  std::istringstream in(text);
  std::string raw;
  int n = 0;
  while (std::getline(in, raw)) {
    ++n;
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    line(n, nccl_words::strip_launcher_prefix(raw));
  }
  if (log_.test.empty() && columns_.empty()) {
    fail(0,
         "not perftest output: no \"... BW Test\" or \"... Latency Test\" title and no \"#bytes\" table "
         "header "
         "(--output=bandwidth and --output=latency print a bare number: run without --output)");
  }
  if (log_.test.empty())
    fail(0, "no test title line (\"RDMA_Write BW Test\", ...): it names the verb; paste the whole output");
  if (log_.rows.empty()) fail(0, "the table has no rows (the run failed before its first size?)");
  if (log_.latency != (log_.test.find("Latency") != std::string::npos)) {
    fail(0,
         "the title \"" + log_.test + "\" and the table's columns disagree on whether it is a latency test");
  }
  return std::move(log_);
}

}  // namespace

PerftestLog read_perftest(const std::string& text, const std::string& origin) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') return read_perftest_json(text, origin);
  return TextReader(origin).read(text);
}

PerftestLog read_perftest_file(const std::string& path) {
  try {
    return read_perftest(read_input_file(path, "perftest output"), path == "-" ? "standard input" : path);
  } catch (const InvalidResults&) {
    throw;
  } catch (const std::invalid_argument& e) {
    throw InvalidResults(e.what());
  }
}

}  // namespace fabtwin::results
