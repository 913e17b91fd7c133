#include "sweep_merge.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>

#include "fabtwin/files.hpp"
#include "fabtwin/results/compare.hpp"
#include "fabtwin/results/gnuplot.hpp"
#include "fabtwin/results/results.hpp"
#include "options.hpp"

namespace fabtwin::cli {

namespace {

struct Entry {
  const experiment::SweepRun* run;
  double busbw_gbps;
  double time_s;
};

}  // namespace

void merge_sweep(const std::string& sweep_file, const experiment::Sweep& sweep, const std::string& dir,
                 const std::string& plot, const std::string& json, std::ostream& out, int& exit_code) {
  if (!plot.empty()) results::gnuplot_terminal(plot, 1, 1);  // a bad extension, before any work
  std::vector<results::ResultFile> files;
  std::vector<const experiment::SweepRun*> found, missing;
  files.reserve(sweep.runs.size());
  for (const auto& r : sweep.runs) {
    const std::string path = dir + "/" + r.file_stem() + ".json";
    try {
      files.push_back(results::load_results(path));
      found.push_back(&r);
    } catch (const std::invalid_argument&) {
      missing.push_back(&r);
    }
  }
  if (found.empty()) {
    throw std::invalid_argument("sweep --merge: no run of the sweep has results in " + dir +
                                " (run `fabtwin sweep FILE -o " + dir + "` first)");
  }
  std::map<std::uint64_t, std::vector<Entry>> by_size;
  for (std::size_t i = 0; i < files.size(); ++i) {
    for (const auto& row : files[i].rows) {
      by_size[row.size_bytes].push_back({found[i], row.timing.busbw_gbps, row.timing.time.count()});
    }
  }
  out << "# sweep ranking per size (busbw, best first): " << found.size() << " of " << sweep.runs.size()
      << " runs have results\n";
  out << "#        size  rank  design                                          busbw (GB/s)     time (us)\n";
  nlohmann::json ranking = nlohmann::json::array();
  char line[256];
  for (auto& [size, entries] : by_size) {
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry& a, const Entry& b) { return a.busbw_gbps > b.busbw_gbps; });
    nlohmann::json designs = nlohmann::json::array();
    for (std::size_t k = 0; k < entries.size(); ++k) {
      const Entry& e = entries[k];
      std::snprintf(line, sizeof line, "%13llu  %4zu  %-46s  %12.2f  %12.2f\n",
                    static_cast<unsigned long long>(size), k + 1, e.run->name.c_str(), e.busbw_gbps,
                    e.time_s * 1e6);
      out << line;
      designs.push_back(
          {{"name", e.run->name}, {"hash", e.run->hash}, {"busbw_gbps", e.busbw_gbps}, {"time_s", e.time_s}});
    }
    ranking.push_back({{"size_bytes", size}, {"designs", designs}});
  }
  nlohmann::json absent = nlohmann::json::array();
  for (const auto* r : missing) {
    out << "# missing " << r->name << " (" << r->hash << "): not run yet, or it failed\n";
    absent.push_back(r->name);
  }
  if (!json.empty()) {
    write_json_output(json,
                      {{"schema", "fabtwin-sweep-ranking"},
                       {"schema_version", 1},
                       {"sweep", sweep_file},
                       {"collective", sweep.collective},
                       {"ranking", ranking},
                       {"missing", absent}},
                      out);
  }
  if (!plot.empty()) {
    if (files.size() < 2) throw std::invalid_argument("--plot: one run has results, a plot needs two");
    std::vector<const results::ResultFile*> sources;
    for (const auto& f : files) sources.push_back(&f);
    results::Comparison c = results::compare(sources);
    for (std::size_t i = 0; i < found.size(); ++i) c.labels[i] = found[i]->name;
    results::plot_comparison(c, plot);
    out << "# plot: " << plot << "\n";
  }
  if (!missing.empty()) exit_code = 1;
}

}  // namespace fabtwin::cli
