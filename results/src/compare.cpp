#include "fabtwin/results/compare.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <ostream>
#include <set>

namespace fabtwin::results {

namespace {

std::vector<std::string> make_labels(const std::vector<const ResultFile*>& sources) {
  auto unique = [](const std::vector<std::string>& v) {
    return std::set<std::string>(v.begin(), v.end()).size() == v.size();
  };
  std::vector<std::string> backend, backend_algo, file;
  for (const ResultFile* f : sources) {
    backend.push_back(f->run.backend);
    backend_algo.push_back(f->run.backend + "/" + f->run.algorithm);
    file.push_back(std::filesystem::path(f->origin).stem().string());
  }
  if (unique(backend)) return backend;
  if (unique(backend_algo)) return backend_algo;
  if (unique(file)) return file;
  std::vector<std::string> numbered;
  for (std::size_t i = 0; i < sources.size(); ++i) numbered.push_back(file[i] + "#" + std::to_string(i));
  return numbered;
}

std::string size_text(std::uint64_t b) {
  return format_bytes(Bytes(b));
}

std::optional<ErrorSummary> summarise(const std::vector<std::pair<std::uint64_t, double>>& errors) {
  if (errors.empty()) return std::nullopt;
  ErrorSummary s;
  s.sizes = errors.size();
  std::vector<double> abs;
  for (const auto& [size, e] : errors) {
    abs.push_back(std::abs(e));
    if (std::abs(e) >= s.worst_abs) {
      s.worst_abs = std::abs(e);
      s.worst_signed = e;
      s.worst_size = size;
    }
  }
  std::sort(abs.begin(), abs.end());
  const std::size_t n = abs.size();
  s.median_abs = n % 2 ? abs[n / 2] : (abs[n / 2 - 1] + abs[n / 2]) / 2.0;
  return s;
}

std::string describe_run(const ResultFile& f) {
  std::string s = f.run.backend + ", " + f.run.algorithm + ", " + std::to_string(f.run.ranks) + " ranks, " +
                  f.run.dtype + (f.run.op == "none" || f.run.op.empty() ? "" : " " + f.run.op);
  const std::string device = f.provenance_string("device");
  const std::string topology = f.provenance_string("topology");
  if (!device.empty()) s += ", " + device;
  if (!topology.empty()) s += ", on " + topology;
  return s;
}

}  // namespace

Comparison compare(const std::vector<const ResultFile*>& sources) {
  if (sources.size() < 2) throw InvalidResults("compare needs at least two result files");
  Comparison c;
  c.sources = sources;
  c.collective = sources[0]->run.collective;
  c.labels = make_labels(sources);
  for (const ResultFile* f : sources) {
    c.files.push_back(f->origin);
    if (f->run.collective != c.collective) {
      throw InvalidResults(f->origin + ": is a " + f->run.collective + " result but " + sources[0]->origin +
                           " is " + c.collective + ": compare results of the same collective");
    }
  }
  const ResultFile& ref = *sources[0];
  for (std::size_t i = 1; i < sources.size(); ++i) {
    const ResultFile& f = *sources[i];
    if (f.run.ranks != ref.run.ranks) {
      c.notes.push_back(c.labels[i] + " ran " + std::to_string(f.run.ranks) + " ranks, " + c.labels[0] + " " +
                        std::to_string(ref.run.ranks) + ": busbw is comparable, time is not");
    }
    if (f.run.dtype != ref.run.dtype) {
      c.notes.push_back(c.labels[i] + " used " + f.run.dtype + ", " + c.labels[0] + " " + ref.run.dtype);
    }
  }

  std::vector<std::map<std::uint64_t, double>> busbw(sources.size());
  for (std::size_t i = 0; i < sources.size(); ++i) {
    for (const Row& r : sources[i]->rows) busbw[i][r.size_bytes] = r.timing.busbw_gbps;
  }
  std::set<std::uint64_t> common;
  for (const auto& entry : busbw[0]) {
    const std::uint64_t size = entry.first;
    if (std::all_of(busbw.begin(), busbw.end(), [&](const auto& m) { return m.count(size) != 0; })) {
      common.insert(size);
    }
  }
  if (common.empty()) {
    std::string ranges;
    for (const ResultFile* f : sources) {
      ranges += "\n  " + f->origin + ": " + size_text(f->rows.front().size_bytes) + " .. " +
                size_text(f->rows.back().size_bytes) + " (" + std::to_string(f->rows.size()) + " sizes)";
    }
    throw InvalidResults("no size appears in every result, so there is nothing to compare:" + ranges);
  }
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const std::size_t skipped = busbw[i].size() - common.size();
    if (skipped > 0) {
      c.notes.push_back(std::to_string(skipped) + " size(s) of " + c.labels[i] +
                        " are not in every source and are left out");
    }
  }

  std::vector<std::vector<std::pair<std::uint64_t, double>>> small(sources.size()), large(sources.size()),
      all(sources.size());
  for (std::uint64_t size : common) {
    ComparedRow row;
    row.size_bytes = size;
    const double base = busbw[0].at(size);
    for (std::size_t i = 0; i < sources.size(); ++i) {
      const double v = busbw[i].at(size);
      row.busbw_gbps.push_back(v);
      std::optional<double> err;
      if (base > 0) err = (v - base) / base;
      row.rel_error.push_back(i == 0 ? std::optional<double>(0.0) : err);
      if (i == 0 || !err) continue;
      all[i].push_back({size, *err});
      if (size <= kSmallMessageMax) small[i].push_back({size, *err});
      if (size >= kLargeMessageMin) large[i].push_back({size, *err});
    }
    c.rows.push_back(std::move(row));
  }
  c.summary.resize(sources.size());
  for (std::size_t i = 1; i < sources.size(); ++i) {
    c.summary[i] = {summarise(small[i]), summarise(large[i]), summarise(all[i])};
  }
  return c;
}

void print_comparison(std::ostream& out, const Comparison& c) {
  char line[512];
  out << "# fabtwin compare: " << c.collective << ", busbw in GB/s (10^9 bytes/s); error relative to ["
      << c.labels[0] << "]\n";
  for (std::size_t i = 0; i < c.sources.size(); ++i) {
    out << "#   " << (i > 0 ? std::to_string(i) : std::string("ref")) << " " << c.labels[i] << ": "
        << c.files[i] << " (" << describe_run(*c.sources[i]) << ")\n";
  }
  for (const auto& n : c.notes) out << "# note: " << n << "\n";
  out << "#\n";
  // Columns: size, every source's busbw, then per other source its difference and error; each as wide
  // as its label so nothing is cut.
  auto col = [](const std::string& text, std::size_t w) {
    return std::string(w + 1 - std::min(w, text.size()), ' ') + text;
  };
  std::vector<std::size_t> width;
  for (const auto& l : c.labels) width.push_back(std::max<std::size_t>(10, l.size()));
  std::string h1 = "#        size", h2 = "#         (B)";
  for (std::size_t i = 0; i < c.labels.size(); ++i) {
    h1 += col(c.labels[i], width[i]);
    h2 += col("busbw", width[i]);
  }
  for (std::size_t i = 1; i < c.labels.size(); ++i) {
    h1 += col("diff " + std::to_string(i), 10) + col("err " + std::to_string(i), 8);
    h2 += col("(GB/s)", 10) + col("(%)", 8);
  }
  out << h1 << "\n" << h2 << "\n";
  for (const auto& r : c.rows) {
    std::snprintf(line, sizeof line, "%13llu", static_cast<unsigned long long>(r.size_bytes));
    std::string s = line;
    for (std::size_t i = 0; i < r.busbw_gbps.size(); ++i) {
      std::snprintf(line, sizeof line, "%.2f", r.busbw_gbps[i]);
      s += col(line, width[i]);
    }
    for (std::size_t i = 1; i < r.busbw_gbps.size(); ++i) {
      std::snprintf(line, sizeof line, " %+10.2f", r.busbw_gbps[i] - r.busbw_gbps[0]);
      s += line;
      if (r.rel_error[i]) {
        std::snprintf(line, sizeof line, " %+8.1f", *r.rel_error[i] * 100.0);
      } else {
        std::snprintf(line, sizeof line, " %8s", "n/a");
      }
      s += line;
    }
    out << s << "\n";
  }
  out << "#\n# |error| against " << c.labels[0] << ": median / worst (at size)\n";
  std::snprintf(line, sizeof line, "#   %-24s %-34s %-34s\n", "", "small (<= 1MiB)", "large (>= 16MiB)");
  out << line;
  auto cell = [](const std::optional<ErrorSummary>& s) {
    char buf[128];
    if (!s) return std::string("no sizes");
    std::snprintf(buf, sizeof buf, "%5.1f%% / %5.1f%% (at %s), %zu size%s", s->median_abs * 100.0,
                  s->worst_abs * 100.0, format_bytes(Bytes(s->worst_size)).c_str(), s->sizes,
                  s->sizes == 1 ? "" : "s");
    return std::string(buf);
  };
  for (std::size_t i = 1; i < c.labels.size(); ++i) {
    std::snprintf(line, sizeof line, "#   %-24s %-34s %-34s\n", c.labels[i].c_str(),
                  cell(c.summary[i].small).c_str(), cell(c.summary[i].large).c_str());
    out << line;
  }
}

nlohmann::json to_json(const Comparison& c) {
  auto summary_json = [](const std::optional<ErrorSummary>& s) -> nlohmann::json {
    if (!s) return nullptr;
    return {{"sizes", s->sizes},
            {"median_abs_rel_error", s->median_abs},
            {"worst_abs_rel_error", s->worst_abs},
            {"worst_rel_error", s->worst_signed},
            {"worst_size_bytes", s->worst_size}};
  };
  nlohmann::json sources = nlohmann::json::array();
  for (std::size_t i = 0; i < c.sources.size(); ++i) {
    const ResultFile& f = *c.sources[i];
    nlohmann::json s = {{"label", c.labels[i]},         {"file", c.files[i]},   {"backend", f.run.backend},
                        {"algorithm", f.run.algorithm}, {"ranks", f.run.ranks}, {"dtype", f.run.dtype},
                        {"provenance", f.provenance}};
    if (i > 0) {
      s["error_small"] = summary_json(c.summary[i].small);
      s["error_large"] = summary_json(c.summary[i].large);
      s["error_all"] = summary_json(c.summary[i].all);
    }
    sources.push_back(std::move(s));
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : c.rows) {
    nlohmann::json err = nlohmann::json::array();
    nlohmann::json diff = nlohmann::json::array();
    for (std::size_t i = 0; i < r.busbw_gbps.size(); ++i) {
      err.push_back(r.rel_error[i] ? nlohmann::json(*r.rel_error[i]) : nlohmann::json(nullptr));
      diff.push_back(r.busbw_gbps[i] - r.busbw_gbps[0]);
    }
    rows.push_back({{"size_bytes", r.size_bytes},
                    {"busbw_gbps", r.busbw_gbps},
                    {"diff_gbps", diff},
                    {"rel_error", err}});
  }
  return {{"schema", "fabtwin-comparison"},
          {"schema_version", 1},
          {"collective", c.collective},
          {"small_max_bytes", kSmallMessageMax},
          {"large_min_bytes", kLargeMessageMin},
          {"sources", sources},
          {"notes", c.notes},
          {"rows", rows}};
}

}  // namespace fabtwin::results
