#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <sstream>

#include "cli.hpp"
#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/fabric/packet.hpp"
#include "fabtwin/results/compare.hpp"
#include "fabtwin/results/gnuplot.hpp"
#include "options.hpp"

namespace fabtwin::cli {

namespace {

namespace fs = std::filesystem;

struct CompareArgs {
  std::vector<std::string> files;
  std::string plot;
  std::string json;
  std::string simulate;
  std::string topology;
  std::string backends = "analytic,packet";
  std::string algo;
  std::uint64_t seed = 0;
  std::string keep;
  std::string calibration;
  bool in_place = false;
};

// Where the simulations write their results: a private folder removed afterwards, or --keep's.
class SimulationDir {
 public:
  explicit SimulationDir(const std::string& keep) {
    if (!keep.empty()) {
      std::error_code ec;
      fs::create_directories(keep, ec);
      if (ec) throw std::invalid_argument("--keep: cannot create " + keep + ": " + ec.message());
      path_ = keep;
      return;
    }
    std::string pattern = (fs::temp_directory_path() / "fabtwin-compare-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error(std::string("cannot create a temporary folder: ") + std::strerror(errno));
    }
    path_ = pattern;
    owned_ = true;
  }
  ~SimulationDir() {
    std::error_code ec;
    if (owned_) fs::remove_all(path_, ec);
  }
  SimulationDir(const SimulationDir&) = delete;
  SimulationDir& operator=(const SimulationDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
  bool owned_ = false;
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// The measured sizes as sim sweeps: one -b/-e/-f sweep when they are a geometric series with a whole
// factor (every nccl-tests -f run), otherwise one sweep per size.
std::vector<std::array<std::uint64_t, 3>> sweeps_for(const std::vector<std::uint64_t>& sizes) {
  if (sizes.size() >= 2 && sizes[1] % sizes[0] == 0 && sizes[1] / sizes[0] >= 2) {
    const std::uint64_t f = sizes[1] / sizes[0];
    bool geometric = true;
    for (std::size_t i = 1; i < sizes.size(); ++i) geometric = geometric && sizes[i] == sizes[i - 1] * f;
    if (geometric) return {{sizes.front(), sizes.back(), f}};
  }
  std::vector<std::array<std::uint64_t, 3>> out;
  for (auto s : sizes) out.push_back({s, s, 2});
  return out;
}

// Runs `fabtwin sim` in this process for the measured run's scenario with one backend, and returns
// the rows of every sweep as one results file.
results::ResultFile simulate(const results::ResultFile& measured, const std::string& backend,
                             const CompareArgs& a, const SimulationDir& dir, std::ostream& out) {
  const auto c = parse_collective(measured.run.collective);
  std::string algo = a.algo;
  if (algo.empty()) {
    const auto known = coll::algorithms_for(c);
    algo = std::find(known.begin(), known.end(), measured.run.algorithm) != known.end()
               ? measured.run.algorithm
               : "auto";
    if (algo == "auto") {
      out << "# note: " << measured.origin << " ran algorithm \"" << measured.run.algorithm
          << "\", which fabtwin does not model: simulating --algo auto (the fastest per size); choose with "
             "--algo\n";
    }
  }
  std::vector<std::uint64_t> sizes;
  for (const auto& r : measured.rows) sizes.push_back(r.size_bytes);
  results::ResultFile merged;
  int part = 0;
  for (const auto& [b, e, f] : sweeps_for(sizes)) {
    const std::string json = dir.file("sim-" + backend + "-" + std::to_string(part++) + ".json");
    std::vector<std::string> args = {"sim",
                                     "--backend",
                                     backend,
                                     "--topology",
                                     a.topology,
                                     "--algo",
                                     algo,
                                     "--ranks",
                                     std::to_string(measured.run.ranks),
                                     "--collective",
                                     measured.run.collective,
                                     "--dtype",
                                     measured.run.dtype,
                                     "--seed",
                                     std::to_string(a.seed),
                                     "-b",
                                     std::to_string(b),
                                     "-e",
                                     std::to_string(e),
                                     "-f",
                                     std::to_string(f),
                                     "--json",
                                     json};
    if (!measured.run.op.empty() && measured.run.op != "none") {
      args.push_back("--op");
      args.push_back(measured.run.op);
    }
    if (!a.calibration.empty()) {
      args.push_back("--calibration");
      args.push_back(a.calibration);
    }
    if ((c == coll::Collective::broadcast || c == coll::Collective::reduce) &&
        measured.rows.front().root >= 0) {
      args.push_back("--root");
      args.push_back(std::to_string(measured.rows.front().root));
    }
    if (part == 1) {
      std::string line;
      for (const auto& s : args) line += " " + s;
      out << "# simulating: fabtwin" << line
          << (sweeps_for(sizes).size() > 1 ? " (and one run per size)" : "") << "\n";
    }
    std::ostringstream sim_out, sim_err;
    const int code = run(args, sim_out, sim_err);
    // sim's first line is its message; drop its "fabtwin: error: " prefix and the help hint after it.
    std::string message = sim_err.str().substr(0, sim_err.str().find('\n'));
    for (const char* prefix : {"fabtwin: error: ", "fabtwin: "}) {
      if (message.rfind(prefix, 0) == 0) message = message.substr(std::strlen(prefix));
    }
    if (code == 2) {
      throw std::invalid_argument("--simulate with backend " + backend +
                                  ": fabtwin sim refused the measured run's "
                                  "scenario: " +
                                  sim_err.str());
    }
    // Exit 1 from sim: the simulated fabric could not deliver the collective (a result, reported as one).
    if (code == 1) throw fabric::SimulationFailed("--simulate with backend " + backend + ": " + message);
    if (code != 0) throw std::runtime_error("fabtwin sim --backend " + backend + " failed: " + message);
    results::ResultFile part_file = results::load_results(json);
    if (merged.rows.empty()) {
      merged = std::move(part_file);
    } else {
      for (auto& r : part_file.rows) merged.rows.push_back(std::move(r));
    }
  }
  merged.origin = "sim --backend " + backend;
  return merged;
}

}  // namespace

void add_compare_command(CLI::App& app, std::ostream& out, int& exit_code) {
  auto args = std::make_shared<CompareArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compare", "Compare results side by side: busbw per size, difference and error against the first");
  cmd->add_option("FILES", args->files, "results files; the first (the measured run) is the reference");
  cmd->add_option("--plot", args->plot, "draw busbw and the error against size to FILE.png or FILE.svg");
  cmd->add_option("--json", args->json, "write the comparison as JSON to FILE (- for standard output)");
  cmd->add_option("--simulate", args->simulate,
                  "simulate this measured run (its collective, algorithm, ranks, dtype, sizes) and compare");
  cmd->add_option("-t,--topology", args->topology, "with --simulate: the fabric to simulate on");
  cmd->add_option("--backends", args->backends, "with --simulate: comma-separated sim backends")
      ->capture_default_str();
  cmd->add_option("-a,--algo", args->algo,
                  "with --simulate: algorithm to simulate (default: the measured one)");
  cmd->add_option("--seed", args->seed, "with --simulate: ECMP hash seed")->capture_default_str();
  cmd->add_option(
      "--calibration", args->calibration,
      "with --simulate: simulate with this calib.json (fabtwin calibrate) instead of nominal links");
  cmd->add_flag(
      "--in-place", args->in_place,
      "compare nccl-tests' in-place columns instead of out-of-place (sources without them as they are)");
  cmd->add_option("--keep", args->keep, "with --simulate: keep the simulated results files in this folder");
  cmd->callback([args, &out, &exit_code] {
    // Refuse a plot format before any table is printed.
    if (!args->plot.empty()) results::gnuplot_terminal(args->plot, 1, 1);
    std::vector<results::ResultFile> files;
    std::ostringstream header;
    if (!args->simulate.empty()) {
      if (args->topology.empty()) {
        throw std::invalid_argument(
            "--simulate needs --topology: the fabric the measured run is simulated on");
      }
      const auto backends = split_list(args->backends);
      if (backends.empty())
        throw std::invalid_argument("--backends: name at least one backend (e.g. analytic)");
      files.push_back(results::load_results(args->simulate));
      SimulationDir dir(args->keep);
      for (const auto& b : backends) files.push_back(simulate(files.front(), b, *args, dir, header));
    } else {
      if (!args->topology.empty() || !args->algo.empty() || !args->keep.empty() ||
          !args->calibration.empty()) {
        throw std::invalid_argument(
            "--topology, --algo, --calibration and --keep go with --simulate MEASURED.json");
      }
      if (args->files.size() < 2) {
        throw std::invalid_argument("compare needs two or more results files (or --simulate MEASURED.json)");
      }
    }
    for (const auto& f : args->files) files.push_back(results::load_results(f));
    if (args->in_place) {
      bool any = false;
      for (auto& f : files) {
        if (!results::has_in_place(f)) continue;
        f = results::with_in_place_timings(std::move(f));
        header << "# in-place timings of " << f.origin << "\n";
        any = true;
      }
      if (!any)
        throw std::invalid_argument(
            "--in-place: no source has in-place measurements (nccl-tests imports do)");
    }
    std::vector<const results::ResultFile*> sources;
    for (const auto& f : files) sources.push_back(&f);
    const results::Comparison c = results::compare(sources);
    const bool table = args->json != "-";
    if (table) {
      out << header.str();
      results::print_comparison(out, c);
    }
    if (!args->json.empty()) write_json_output(args->json, results::to_json(c), out);
    if (!args->plot.empty()) {
      results::plot_comparison(c, args->plot);
      if (table) out << "# plot: " << args->plot << "\n";
    }
    exit_code = 0;
  });
}

}  // namespace fabtwin::cli
