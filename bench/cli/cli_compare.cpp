#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>

#include "cli.hpp"
#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/coll/nccl.hpp"
#include "fabtwin/experiment/experiment.hpp"
#include "fabtwin/experiment/strategy.hpp"
#include "fabtwin/files.hpp"
#include "fabtwin/results/calibration.hpp"
#include "fabtwin/results/compare.hpp"
#include "fabtwin/results/gnuplot.hpp"
#include "fabtwin/topo/generators.hpp"
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

// The measured sizes as sim would sweep them: one -b/-e/-f sweep when they are a geometric series with
// a whole factor (every nccl-tests -f run), for the command line that reproduces the simulation.
std::optional<std::array<std::uint64_t, 3>> sweep_of(const std::vector<std::uint64_t>& sizes) {
  if (sizes.size() < 2 || sizes[1] % sizes[0] != 0 || sizes[1] / sizes[0] < 2) return std::nullopt;
  const std::uint64_t f = sizes[1] / sizes[0];
  for (std::size_t i = 1; i < sizes.size(); ++i) {
    if (sizes[i] != sizes[i - 1] * f) return std::nullopt;
  }
  return std::array<std::uint64_t, 3>{sizes.front(), sizes.back(), f};
}

// The algorithm to simulate: --algo, else the measured one where fabtwin has it, else the fastest.
std::string algorithm_for(const results::ResultFile& measured, const CompareArgs& a, std::ostream& out) {
  if (!a.algo.empty()) return experiment::canonical_algorithm(a.algo);
  if (measured.run.backend == "nccl-tests") {
    // What NCCL ran: its tuner's pick, or the algorithm NCCL_ALGO forced (the importer keeps its name).
    static const std::map<std::string, std::string> nccl = {{"nccl", "nccl"},
                                                            {"ring", "nccl-ring"},
                                                            {"tree", "nccl-tree"},
                                                            {"nvls", "nvls"},
                                                            {"nvlstree", "nvls-tree"}};
    if (const auto it = nccl.find(measured.run.algorithm); it != nccl.end()) {
      out << "# simulating what NCCL ran: "
          << (it->second == "nccl" ? "its tuner's pick per size (--algo nccl)"
                                   : "--algo " + it->second + " (NCCL_ALGO)")
          << "\n";
      return it->second;
    }
  }
  const auto known = coll::algorithms_for(parse_collective(measured.run.collective));
  if (std::find(known.begin(), known.end(), measured.run.algorithm) != known.end())
    return measured.run.algorithm;
  out << "# note: " << measured.origin << " ran algorithm \"" << measured.run.algorithm
      << "\", which fabtwin does not model: simulating --algo auto (the fastest per size); choose with "
         "--algo\n";
  return "auto";
}

experiment::Scenario scenario_for(const results::ResultFile& measured, const std::string& backend,
                                  const std::string& algo, const CompareArgs& a) {
  experiment::Scenario s;
  s.collective = parse_collective(measured.run.collective);
  s.algorithm = algo;
  s.ranks = measured.run.ranks;
  CollectiveOptions o;
  o.collective = measured.run.collective;
  o.dtype = measured.run.dtype;
  if (!measured.run.op.empty() && measured.run.op != "none") o.op = measured.run.op;
  if ((s.collective == coll::Collective::broadcast || s.collective == coll::Collective::reduce) &&
      measured.rows.front().root >= 0) {
    o.root = measured.rows.front().root;
  }
  s.options = to_algo_options(o);
  for (const auto& r : measured.rows) s.sizes.push_back(r.size_bytes);
  s.backend = experiment::backend_from_string(backend);
  s.seed = a.seed;
  s.topology = results::calibrated(a.calibration, topo::topology_from_spec(a.topology), s.endpoint);
  return s;
}

// The NCCL settings the measured log reported (NCCL_PROTO, NCCL_MIN/MAX_NCHANNELS), simulated alike;
// says which it used and which it could not.
void apply_nccl_settings(const results::ResultFile& measured, experiment::Scenario& s, std::ostream& out) {
  const auto& src = measured.provenance;
  if (!src.is_object() || !src.contains("source") || !src["source"].is_object() ||
      !src["source"].contains("nccl_env") || !src["source"]["nccl_env"].is_object()) {
    return;
  }
  std::string used, ignored;
  for (const auto& [name, value] : src["source"]["nccl_env"].items()) {
    if (!value.is_string()) continue;
    const std::string v = value.get<std::string>();
    auto number = [&]() -> std::int32_t {
      try {
        const int n = std::stoi(v);
        return n > 0 && n <= 64 ? n : 0;
      } catch (const std::exception&) {
        return 0;
      }
    };
    if (name == "NCCL_PROTO" && coll::nccl::proto_from_string(v)) {
      s.options.protocol = coll::nccl::to_string(*coll::nccl::proto_from_string(v));
    } else if (name == "NCCL_MIN_NCHANNELS" && number() > 0) {
      s.options.min_channels = number();
    } else if (name == "NCCL_MAX_NCHANNELS" && number() > 0) {
      s.options.max_channels = number();
    } else {
      if (name != "NCCL_ALGO") ignored += (ignored.empty() ? "" : ", ") + name + "=" + v;
      continue;
    }
    used += (used.empty() ? "" : ", ") + name + "=" + v;
  }
  if (!used.empty()) out << "# the log sets " << used << ": simulated alike\n";
  if (!ignored.empty()) out << "# the log also sets " << ignored << ", which the simulation does not model\n";
}

// The `fabtwin sim` command line that reproduces the simulation of `s`.
std::string sim_command(const experiment::Scenario& s, const CompareArgs& a) {
  std::string line = std::string("fabtwin sim --backend ") + experiment::to_string(s.backend) +
                     " --topology " + a.topology + " --algo " + s.algorithm + " --ranks " +
                     std::to_string(s.ranks) + " --collective " + coll::to_string(s.collective) +
                     " --dtype " + coll::to_string(s.options.dtype) + " --seed " + std::to_string(s.seed);
  const auto sweep = sweep_of(s.sizes);
  if (sweep) {
    line += " -b " + std::to_string((*sweep)[0]) + " -e " + std::to_string((*sweep)[1]) + " -f " +
            std::to_string((*sweep)[2]);
  }
  line += std::string(" --op ") + coll::to_string(s.options.op);
  if (!s.options.protocol.empty()) line += " --proto " + s.options.protocol;
  if (!a.calibration.empty()) line += " --calibration " + a.calibration;
  if (s.collective == coll::Collective::broadcast || s.collective == coll::Collective::reduce)
    line += " --root " + std::to_string(s.options.root);
  return line + (sweep ? "" : " (one run per measured size)");
}

// Simulates the measured run's scenario with one backend, in this process.
results::ResultFile simulate(const results::ResultFile& measured, const std::string& backend,
                             const CompareArgs& a, const SimulationDir& dir, std::ostream& out) {
  experiment::Scenario s = scenario_for(measured, backend, algorithm_for(measured, a, out), a);
  apply_nccl_settings(measured, s, out);
  out << "# simulating: " << sim_command(s, a) << "\n";
  try {
    results::ResultFile f = experiment::run(s).results;
    results::write_results(dir.file("sim-" + backend + "-0.json"), f);
    return f;
  } catch (const backend::SimulationFailed& e) {
    // The simulated fabric could not deliver the collective: a result, reported as one.
    throw backend::SimulationFailed("--simulate with backend " + backend + ": " + e.what());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("--simulate with backend " + backend +
                                ": the measured run's scenario cannot be "
                                "simulated: " +
                                e.what());
  }
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
    // Refuse a plot format or an output over an input before any table is printed.
    if (!args->plot.empty()) results::gnuplot_terminal(args->plot, 1, 1);
    std::vector<NamedPath> inputs{
        {"--simulate", args->simulate}, {"-t", args->topology}, {"--calibration", args->calibration}};
    for (const auto& f : args->files) inputs.push_back({"FILES", f});
    refuse_overwriting_inputs(inputs, {{"--json", args->json}, {"--plot", args->plot}});
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
      for (const auto& b : backends) experiment::backend_from_string(b);
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
