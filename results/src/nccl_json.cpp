#include "nccl_json.hpp"

#include <cmath>

#include "json_reader.hpp"
#include "nccl_tests_words.hpp"

namespace fabtwin::results::nccl_words {

namespace {

// nccl-tests writes its booleans as the strings "true" and "false".
nlohmann::json setting_value(const nlohmann::json& v) {
  if (v.is_string() && (v == "true" || v == "false")) return v == "true";
  return v;
}

// 22903 is NCCL 2.29.3 (the code is major * 10000 + minor * 100 + patch since NCCL 2.9).
std::string nccl_version(std::int64_t code) {
  if (code < 20900) return std::to_string(code);
  return std::to_string(code / 10000) + "." + std::to_string(code % 10000 / 100) + "." +
         std::to_string(code % 100);
}

class JsonReader {
 public:
  JsonReader(const nlohmann::json& j, const std::string& origin, const NcclImportOptions& options)
      : root_(j, origin), origin_(origin), options_(options) {}

  ParsedLog read();

 private:
  void header();
  void config(const Field& c);
  void row(const Field& r, std::size_t index);
  ParsedTiming half(const Field& r, const char* key, std::uint64_t size) const;

  Field root_;
  std::string origin_;
  const NcclImportOptions& options_;
  ParsedLog log_;
};

void JsonReader::header() {
  const std::int64_t version = root_.at("version").integer();
  if (version < 1 || version > 3) {
    root_.at("version").fail("nccl-tests JSON version " + std::to_string(version) +
                             " is not one fabtwin reads (versions 1 to 3, nccl-tests 2.17.3 to 2.19)");
  }
  log_.tests_version = "2.17.3 or later (JSON version " + std::to_string(version) + ")";
  if (const auto args = root_.find("args"); args && args->array_size() > 0) {
    const std::string program = args->at(std::size_t{0}).string();
    const auto slash = program.find_last_of("/\\");
    log_.binary = slash == std::string::npos ? program : program.substr(slash + 1);
    if (!collective_of_binary(log_.binary)) {
      args->at(std::size_t{0})
          .fail("\"" + log_.binary +
                "\" is not a test fabtwin imports (all_reduce_perf, all_gather_perf, "
                "reduce_scatter_perf, broadcast_perf, reduce_perf, alltoall_perf)");
    }
  }
  if (const auto env = root_.find("env")) {
    for (std::size_t i = 0; i < env->array_size(); ++i) {
      const std::string e = env->at(i).string();
      const auto eq = e.find('=');
      if (e.rfind("NCCL_", 0) == 0 && eq != std::string::npos)
        log_.facts.env[e.substr(0, eq)] = e.substr(eq + 1);
    }
  }
  if (const auto v = root_.find("nccl_version")) {
    log_.facts.library = "NCCL";
    log_.facts.version = nccl_version(v->integer());
  }
}

void JsonReader::config(const Field& c) {
  c.expect_object();
  for (const auto& [key, value] : c.json().items()) {
    if (key != "devices") log_.settings[key] = setting_value(value);
  }
  const std::uint64_t threads = c.at("nthreads").unsigned_integer();
  const std::uint64_t gpus = c.at("ngpus").unsigned_integer();
  const Field devices = c.at("devices");
  const std::size_t processes = devices.array_size();
  // One entry per process: nccl-tests parses the first "# Rank" line of each process's block.
  for (std::size_t i = 0; i < processes; ++i) {
    const Field d = devices.at(i);
    const std::int64_t rank = d.at("rank").integer();
    if (rank < 0 || log_.ranks.count(static_cast<int>(rank)))
      d.at("rank").fail("a rank listed twice, or below 0");
    log_.ranks[static_cast<int>(rank)] = {d.at("hostname").string(), d.at("device_info").string()};
  }
  const std::uint64_t ranks = processes * threads * gpus;
  if (processes > 0 && (threads == 0 || gpus == 0 || ranks > (1u << 24))) {
    c.fail("nthreads x ngpus x processes is not a rank count (" + std::to_string(threads) + " x " +
           std::to_string(gpus) + " x " + std::to_string(processes) + ")");
  }
  log_.listed_ranks = static_cast<std::int32_t>(ranks);
  log_.listed_from = "the -J file's config: " + std::to_string(processes) + " processes x nthreads " +
                     std::to_string(threads) + " x ngpus " + std::to_string(gpus);
}

ParsedTiming JsonReader::half(const Field& r, const char* key, std::uint64_t size) const {
  ParsedTiming h;
  const auto f = r.find(key);
  if (!f || f->json().is_null()) {
    h.present = false;
    return h;
  }
  f->expect_object();
  const auto cpu = f->find("cpu_time");
  const double time = cpu ? cpu->number() : f->at("time").number();
  h.algbw = f->at("alg_bw").number();
  h.busbw = f->at("bus_bw").number();
  if (time < 0 || h.algbw < 0 || h.busbw < 0) f->fail("a negative time or bandwidth");
  // Printed with "%lf": six decimals.
  h.time_us = time;
  h.time_precision = 0.5e-6 / std::max(time, 1e-300);
  if (cpu) {
    h.cputime_us = time;
    h.time_us = h.algbw > 0 ? static_cast<double>(size) / (h.algbw * 1e3) : 0;
    h.time_precision = 0.5e-6 / std::max(h.algbw, 1e-300);
  }
  const Field wrong = f->at("nwrong");
  if (wrong.json().is_null()) {
    h.wrong = "N/A";
  } else {
    const double w = wrong.number();
    if (w < 0 || w >= 1e19 || w != std::floor(w)) wrong.fail("#wrong is not a count of elements");
    h.wrong = std::to_string(static_cast<std::uint64_t>(w));
  }
  if (const auto it = r.find(std::string(key) + "_per_iter"); it && !it->json().is_null()) {
    for (const char* k : {"min_us", "max_us", "p99_us", "cv_pct"})
      h.per_iteration.push_back(it->at(k).number());
  }
  return h;
}

void JsonReader::row(const Field& f, std::size_t index) {
  f.expect_object();
  ParsedRow r;
  r.line = static_cast<int>(index) + 1;
  r.json_path = f.path();
  r.size = f.at("size").unsigned_integer();
  r.count = f.at("count").unsigned_integer();
  r.type = f.at("type").string();
  r.redop = f.at("redop").string();
  // The root is written as the row's "%6i" text ("    -1").
  const Field root = f.at("root");
  const std::string text = root.json().is_string() ? trim(root.string()) : std::to_string(root.integer());
  try {
    std::size_t used = 0;
    r.root = std::stoi(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
  } catch (const std::exception&) {
    root.fail("root \"" + text + "\" is not a rank");
  }
  r.out_of_place = half(f, "out_of_place", r.size);
  r.in_place = half(f, "in_place", r.size);
  if (!r.out_of_place.present && !r.in_place.present) f.fail("neither out_of_place nor in_place");
  if ((!options_.dtype.empty() && r.type != options_.dtype) ||
      (!options_.op.empty() && r.redop != options_.op)) {
    return;
  }
  if (gpu_time_too_coarse(r)) {
    log_.dropped.push_back(
        {{"at", r.json_path}, {"why", "cpu_time, and alg_bw too small to give the GPU time"}});
    return;
  }
  log_.rows.push_back(std::move(r));
}

ParsedLog JsonReader::read() {
  log_.format = "json";
  header();
  config(root_.at("config"));
  const Field results = root_.at("results");
  for (std::size_t i = 0; i < results.array_size(); ++i) row(results.at(i), i);
  // The footer's keys, misspelled "average_bus_bandwidith" in 2.17.3 to 2.17.8.
  log_.finished =
      root_.find("average_bus_bandwidth") || root_.find("average_bus_bandwidith") || root_.find("end_time");
  if (const auto errors = root_.find("errors")) {
    for (std::size_t i = 0; i < errors->array_size(); ++i) {
      const std::string e = errors->at(i).string();
      if (!e.empty()) log_.run_error += (log_.run_error.empty() ? "" : "; ") + e;
    }
  }
  if (!log_.finished && !options_.allow_partial) {
    root_.fail(
        "the file ends before nccl-tests' footer (no \"average_bus_bandwidth\" or \"end_time\"): the run "
        "stopped early (--allow-partial imports the rows it has)");
  }
  return std::move(log_);
}

}  // namespace

bool is_nccl_tests_json(const nlohmann::json& j) {
  return j.is_object() && j.contains("config") && j.contains("results") && !j.contains("schema");
}

ParsedLog read_nccl_tests_json(const nlohmann::json& j, const std::string& origin,
                               const NcclImportOptions& options) {
  return JsonReader(j, origin, options).read();
}

}  // namespace fabtwin::results::nccl_words
