#include "fabtwin/results/check.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <ostream>
#include <set>

#include "fabtwin/files.hpp"
#include "json_reader.hpp"

namespace fabtwin::results {

double parse_tolerance(const std::string& text) {
  std::string t = text;
  bool percent = false;
  while (!t.empty() && t.back() == ' ') t.pop_back();
  if (!t.empty() && t.back() == '%') {
    percent = true;
    t.pop_back();
  }
  std::size_t used = 0;
  double v = -1;
  try {
    v = std::stod(t, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != t.size() || !std::isfinite(v)) {
    throw std::invalid_argument("--tolerance: \"" + text + "\" is not a tolerance (write 5% or 0.05)");
  }
  if (percent) v /= 100.0;
  if (v < 0 || v >= 1) {
    throw std::invalid_argument("--tolerance: " + text + " is outside 0% .. 100%");
  }
  return v;
}

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::within:
      return "ok";
    case Verdict::regression:
      return "REGRESSION";
    case Verdict::improvement:
      return "IMPROVEMENT";
    case Verdict::missing:
      return "MISSING";
    case Verdict::wrong_result:
      return "WRONG RESULT";
  }
  return "?";
}

bool CheckResult::passed() const {
  return std::all_of(rows.begin(), rows.end(),
                     [](const CheckedRow& r) { return r.verdict == Verdict::within; });
}

const CheckedRow* CheckResult::worst() const {
  const CheckedRow* w = nullptr;
  for (const auto& r : rows) {
    if (r.change && (!w || std::abs(*r.change) > std::abs(*w->change))) w = &r;
  }
  return w;
}

std::string scenario_key(const ResultFile& f) {
  std::string key = f.run.backend + " " + f.run.collective + "/" + f.run.algorithm + " " +
                    std::to_string(f.run.ranks) + " ranks " + f.run.dtype;
  const std::string topology = f.provenance_string("topology");
  const std::string device = f.provenance_string("device");
  if (!topology.empty()) key += " on " + topology;
  if (!device.empty()) key += " (" + device + ")";
  return key;
}

CheckResult check(const ResultFile& baseline, const ResultFile& current, double tolerance) {
  auto differ = [&](const char* what, const std::string& b, const std::string& c) {
    if (b != c) {
      throw InvalidResults(current.origin + ": " + what + " " + c + " differs from the baseline's (" +
                           baseline.origin + ": " + b + "): not the same scenario, so not comparable");
    }
  };
  differ("collective", baseline.run.collective, current.run.collective);
  differ("backend", baseline.run.backend, current.run.backend);
  differ("algorithm", baseline.run.algorithm, current.run.algorithm);
  differ("ranks", std::to_string(baseline.run.ranks), std::to_string(current.run.ranks));
  differ("dtype", baseline.run.dtype, current.run.dtype);
  differ("op", baseline.run.op, current.run.op);
  const std::string bh = baseline.provenance_string("topology_hash");
  const std::string ch = current.provenance_string("topology_hash");
  if (!bh.empty() && !ch.empty()) differ("topology hash", bh, ch);

  CheckResult r;
  r.baseline_file = baseline.origin;
  r.current_file = current.origin;
  r.tolerance = tolerance;
  std::map<std::uint64_t, const Row*> now;
  for (const Row& row : current.rows) now[row.size_bytes] = &row;
  std::size_t common = 0;
  for (const Row& b : baseline.rows) {
    CheckedRow c;
    c.size_bytes = b.size_bytes;
    c.baseline_busbw_gbps = b.timing.busbw_gbps;
    const auto it = now.find(b.size_bytes);
    if (it == now.end()) {
      c.verdict = Verdict::missing;
      r.rows.push_back(c);
      continue;
    }
    ++common;
    const Row& cur = *it->second;
    c.current_busbw_gbps = cur.timing.busbw_gbps;
    // Relative to the baseline's bandwidth; a zero baseline only matches zero.
    const double base = b.timing.busbw_gbps;
    c.change = base > 0 ? (cur.timing.busbw_gbps - base) / base : (cur.timing.busbw_gbps > 0 ? 1.0 : 0.0);
    if (cur.timing.correctness == Correctness::fail) {
      c.verdict = Verdict::wrong_result;
    } else if (*c.change < -tolerance) {
      c.verdict = Verdict::regression;
    } else if (*c.change > tolerance) {
      c.verdict = Verdict::improvement;
    }
    r.rows.push_back(c);
    now.erase(it);
  }
  if (common == 0) {
    throw InvalidResults(current.origin + ": shares no size with the baseline " + baseline.origin + " (" +
                         format_bytes(Bytes(baseline.rows.front().size_bytes)) + " .. " +
                         format_bytes(Bytes(baseline.rows.back().size_bytes)) + " against " +
                         format_bytes(Bytes(current.rows.front().size_bytes)) + " .. " +
                         format_bytes(Bytes(current.rows.back().size_bytes)) + ")");
  }
  r.new_sizes = now.size();
  for (const auto& [key, value] : baseline.run.options.items()) {
    const auto it = current.run.options.find(key);
    const std::string now_value = it == current.run.options.end() ? "(absent)" : it->dump();
    if (now_value != value.dump()) r.option_changes.push_back(key + " " + value.dump() + " -> " + now_value);
  }
  for (const auto& [key, value] : current.run.options.items()) {
    if (!baseline.run.options.contains(key)) r.option_changes.push_back(key + " (absent) -> " + value.dump());
  }
  return r;
}

void print_check(std::ostream& out, const CheckResult& r) {
  char line[256];
  const CheckedRow* w = r.worst();
  auto pct = [](double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%+.2f%%", v * 100.0);
    return std::string(b);
  };
  char tol[32];
  std::snprintf(tol, sizeof tol, "%g%%", r.tolerance * 100.0);
  std::size_t compared = 0;
  for (const auto& row : r.rows) compared += row.change ? 1 : 0;
  if (r.passed()) {
    out << "check: PASS: " << compared << " sizes of " << r.current_file << " within " << tol << " of "
        << r.baseline_file;
    if (w)
      out << " (largest change " << pct(*w->change) << " at " << format_bytes(Bytes(w->size_bytes)) << ")";
    out << "\n";
  } else {
    std::size_t failing = 0;
    for (const auto& row : r.rows) failing += row.verdict != Verdict::within ? 1 : 0;
    out << "check: FAIL: " << failing << " of " << r.rows.size() << " sizes of " << r.current_file
        << " outside " << tol << " of " << r.baseline_file << "\n";
    std::snprintf(line, sizeof line, "#%12s %14s %14s %10s  %s\n", "size", "baseline", "current", "change",
                  "verdict");
    out << line;
    std::snprintf(line, sizeof line, "#%12s %14s %14s %10s\n", "(B)", "busbw (GB/s)", "busbw (GB/s)", "");
    out << line;
    for (const auto& row : r.rows) {
      if (row.verdict == Verdict::within) continue;
      auto bw = [](const std::optional<double>& v) {
        char b[32];
        if (v) {
          std::snprintf(b, sizeof b, "%.3f", *v);
        } else {
          std::snprintf(b, sizeof b, "-");
        }
        return std::string(b);
      };
      std::snprintf(line, sizeof line, "%13llu %14s %14s %10s  %s\n",
                    static_cast<unsigned long long>(row.size_bytes), bw(row.baseline_busbw_gbps).c_str(),
                    bw(row.current_busbw_gbps).c_str(), row.change ? pct(*row.change).c_str() : "-",
                    to_string(row.verdict));
      out << line;
    }
  }
  for (const auto& c : r.option_changes) out << "check: note: run option " << c << "\n";
  if (r.new_sizes > 0) out << "check: note: " << r.new_sizes << " size(s) not in the baseline, not checked\n";
}

nlohmann::json history_entry(const ResultFile& current, const CheckResult* checked) {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char stamp[32] = {};
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::map<std::uint64_t, const CheckedRow*> outcome;
  if (checked) {
    for (const auto& c : checked->rows) outcome[c.size_bytes] = &c;
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const Row& r : current.rows) {
    nlohmann::json row = {
        {"size_bytes", r.size_bytes}, {"busbw_gbps", r.timing.busbw_gbps}, {"time_s", r.timing.time.count()}};
    if (const auto it = outcome.find(r.size_bytes); it != outcome.end()) {
      const CheckedRow& c = *it->second;
      if (c.baseline_busbw_gbps) row["baseline_busbw_gbps"] = *c.baseline_busbw_gbps;
      if (c.change) row["change"] = *c.change;
      row["verdict"] = to_string(c.verdict);
    }
    rows.push_back(std::move(row));
  }
  nlohmann::json e = {{"schema", "fabtwin-history"},
                      {"schema_version", 1},
                      {"recorded", stamp},
                      {"scenario", scenario_key(current)},
                      {"file", current.origin},
                      {"git_revision", current.provenance_string("git_revision")},
                      {"run_time", current.provenance_string("time")},
                      {"host", current.provenance_string("host")},
                      {"status", checked ? (checked->passed() ? "pass" : "fail") : "recorded"},
                      {"rows", rows}};
  if (checked) {
    e["baseline"] = checked->baseline_file;
    e["tolerance"] = checked->tolerance;
  }
  return e;
}

namespace {

constexpr const char* kHistorySchema = "fabtwin-history";

HistoryPoint parse_history_line(const std::string& line, const std::string& origin, std::string* scenario) {
  nlohmann::json j;
  try {
    j = parse_json_text(line, origin);
  } catch (const std::invalid_argument& e) {
    throw InvalidResults(std::string(e.what()) + " (a write that did not finish?)");
  }
  const Field root(j, origin);
  root.expect_object();
  if (root.at("schema").string() != kHistorySchema) root.at("schema").fail("expected \"fabtwin-history\"");
  if (root.at("schema_version").integer() != 1) root.at("schema_version").fail("only version 1 is supported");
  HistoryPoint p;
  p.time = root.at("run_time").string();
  p.revision = root.at("git_revision").string();
  p.status = root.at("status").string();
  const Field rows = root.at("rows");
  for (std::size_t i = 0; i < rows.array_size(); ++i) {
    const Field row = rows.at(i);
    p.busbw_gbps[row.at("size_bytes").unsigned_integer()] = row.at("busbw_gbps").number();
  }
  *scenario = root.at("scenario").string();
  return p;
}

}  // namespace

std::optional<std::string> append_history(const std::string& path, const nlohmann::json& entry) {
  std::error_code ec;
  std::optional<std::string> note;
  if (std::filesystem::exists(path, ec) && std::filesystem::file_size(path, ec) > 0) {
    const std::string text = read_input_file(path, "--history file");
    const std::string first = text.substr(0, text.find('\n'));
    std::string scenario;
    try {
      parse_history_line(first, path + ":1", &scenario);
    } catch (const InvalidResults& e) {
      throw InvalidResults("--history " + path +
                           " is not a history file (its first line is not a fabtwin-history record: " +
                           e.what() + "); name a FILE.jsonl that check --history wrote, or a new one");
    }
    // A record cut short by a crash or a full disk stays as it is, on a line of its own, for --trend to
    // report; gluing the new record onto it would damage both.
    if (text.back() != '\n') {
      append_line(path, "");
      const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
      note = path + ":" + std::to_string(lines) +
             ": the last line was cut short (a write that did not finish); left as it is, the new record "
             "starts on the next line, and --trend skips the damaged one";
    }
  }
  append_line(path, dump_json(entry));
  return note;
}

History load_history(const std::string& path) {
  return parse_history(read_input_file(path, "history file"), path);
}

History parse_history(const std::string& text, const std::string& path) {
  History h;
  std::map<std::string, std::size_t> index;
  std::size_t n = 0;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string origin = path + ":" + std::to_string(n);
    std::string scenario;
    HistoryPoint p;
    try {
      p = parse_history_line(line, origin, &scenario);
    } catch (const InvalidResults& e) {
      h.skipped.push_back(e.what());
      continue;
    }
    if (!index.count(scenario)) {
      index[scenario] = h.trends.size();
      h.trends.push_back({scenario, {}});
    }
    h.trends[index[scenario]].points.push_back(std::move(p));
  }
  if (h.trends.empty()) {
    throw InvalidResults(path + ": no history entries" +
                         (h.skipped.empty() ? std::string() : " (" + h.skipped.front() + ")"));
  }
  return h;
}

std::vector<std::uint64_t> trend_sizes(const Trend& t, std::size_t max_sizes) {
  std::set<std::uint64_t> all;
  for (const auto& p : t.points) {
    for (const auto& [size, bw] : p.busbw_gbps) all.insert(size);
  }
  std::vector<std::uint64_t> sizes(all.begin(), all.end());
  if (sizes.size() <= max_sizes || max_sizes < 2) return sizes;
  // Evenly spread over the sweep, always the smallest and the largest.
  std::vector<std::uint64_t> picked;
  for (std::size_t i = 0; i < max_sizes; ++i) {
    const std::size_t k = i * (sizes.size() - 1) / (max_sizes - 1);
    if (picked.empty() || picked.back() != sizes[k]) picked.push_back(sizes[k]);
  }
  return picked;
}

void print_trend(std::ostream& out, const std::vector<Trend>& trends, std::size_t max_sizes) {
  char buf[64];
  for (const Trend& t : trends) {
    const auto sizes = trend_sizes(t, max_sizes);
    out << "# " << t.scenario << ": " << t.points.size() << " runs, busbw in GB/s\n";
    std::string header = "#  run  revision      status  ";
    for (auto s : sizes) {
      std::snprintf(buf, sizeof buf, " %12s", format_bytes(Bytes(s)).c_str());
      header += buf;
    }
    out << header << "\n";
    for (std::size_t i = 0; i < t.points.size(); ++i) {
      const auto& p = t.points[i];
      std::snprintf(buf, sizeof buf, "%6zu  %-12s  %-8s", i + 1, p.revision.substr(0, 12).c_str(),
                    p.status.c_str());
      std::string row = buf;
      for (auto s : sizes) {
        const auto it = p.busbw_gbps.find(s);
        if (it == p.busbw_gbps.end()) {
          std::snprintf(buf, sizeof buf, " %12s", "-");
        } else {
          std::snprintf(buf, sizeof buf, " %12.3f", it->second);
        }
        row += buf;
      }
      out << row << "\n";
    }
  }
}

}  // namespace fabtwin::results
