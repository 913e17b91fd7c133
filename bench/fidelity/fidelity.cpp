// The fidelity benchmark: every published nccl-tests table of a manifest (bench/fidelity/tables.json),
// imported as pasted, its cluster described with hardware facts only, simulated with what NCCL would
// run (or what the run forced), and scored as nccl-tests users read it: |busbw error| per size, median
// and worst for large (>= 16 MiB) and small (<= 1 MiB) messages, per table and pooled.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "fabtwin/experiment/experiment.hpp"
#include "fabtwin/experiment/strategy.hpp"
#include "fabtwin/results/nccl_tests.hpp"
#include "fabtwin/topo/generators.hpp"

using namespace fabtwin;
using nlohmann::json;

namespace {

constexpr std::uint64_t kLarge = 16ull << 20;
constexpr std::uint64_t kSmall = 1ull << 20;
constexpr const char* kHeader =
    "#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   "
    "busbw #wrong\n";

// The lines of `file` from the one containing `from` up to (not including) the next section marker or
// the line containing `until`. A section without nccl-tests' column header gets one.
std::string section(const std::string& path, const std::string& from, const std::string& until) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot open " + path);
  std::string line, out;
  bool inside = false, header = false;
  while (std::getline(in, line)) {
    if (!inside) {
      inside = line.find(from) != std::string::npos;
      continue;
    }
    if ((!until.empty() && line.find(until) != std::string::npos) ||
        (until.empty() && (line.rfind("# ----", 0) == 0 || line.rfind("# ====", 0) == 0))) {
      break;
    }
    if (line.find("size") != std::string::npos && line.find("count") != std::string::npos) header = true;
    out += line + "\n";
  }
  if (!inside) throw std::invalid_argument(path + ": no line contains \"" + from + "\"");
  return header ? out : kHeader + out;
}

struct Errors {
  std::vector<double> large, small;
  std::string skipped;
  void add(std::uint64_t size, double err) {
    if (size >= kLarge) large.push_back(err);
    if (size <= kSmall) small.push_back(err);
  }
  void add(const Errors& o) {
    large.insert(large.end(), o.large.begin(), o.large.end());
    small.insert(small.end(), o.small.begin(), o.small.end());
  }
};

std::string median_worst(std::vector<double> v) {
  if (v.empty()) return "        -        -";
  std::sort(v.begin(), v.end());
  const double median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%8.1f%% %7.1f%%", 100 * median, 100 * v.back());
  return buf;
}

// Simulated busbw per size of `measured` on `spec` with `algo`, for the sizes `keep` admits.
Errors score(const results::ResultFile& measured, const json& t, experiment::BackendKind backend,
             std::uint64_t max_size, std::ostream& detail) {
  experiment::Scenario s;
  s.topology = topo::topology_from_spec(t.at("topology").get<std::string>());
  s.algorithm = experiment::canonical_algorithm(t.at("algo").get<std::string>());
  s.ranks = t.at("ranks").get<std::int32_t>();
  s.backend = backend;
  for (const auto& r : measured.rows) {
    if (r.size_bytes <= max_size) s.sizes.push_back(r.size_bytes);
  }
  Errors e;
  if (s.sizes.empty()) return e;
  experiment::Outcome sim;
  try {
    sim = experiment::run(s);
  } catch (const std::invalid_argument& why) {
    // A backend that cannot run what NCCL would (the packet model has no reducing switch) is not
    // scored on the table, and says why.
    detail << "#   " << experiment::to_string(backend) << ": not run: " << why.what() << "\n";
    e.skipped = why.what();
    return e;
  }
  for (std::size_t i = 0; i < sim.results.rows.size(); ++i) {
    const auto& m = measured.rows[i];
    const auto& r = sim.results.rows[i];
    if (!(m.timing.busbw_gbps > 0)) continue;
    const double err = std::abs(r.timing.busbw_gbps - m.timing.busbw_gbps) / m.timing.busbw_gbps;
    e.add(m.size_bytes, err);
    const std::string proto = r.extra.contains("protocol") ? r.extra["protocol"].get<std::string>() : "";
    detail << "#   " << experiment::to_string(backend) << " " << m.size_bytes << " B: measured "
           << m.timing.busbw_gbps << ", " << r.algorithm << (proto.empty() ? "" : "/" + proto) << " "
           << r.timing.busbw_gbps << " GB/s\n";
  }
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr
        << "usage: fidelity MANIFEST.json FIDELITY_DIR [PACKET_MAX_BYTES (default 256 MiB, 0: no packet)] "
           "[--detail]\n";
    return 2;
  }
  const std::uint64_t packet_max = argc > 3 ? std::stoull(argv[3]) : 256ull << 20;
  const bool show_detail = argc > 4 && std::string(argv[4]) == "--detail";
  try {
    std::ifstream in(argv[1]);
    const json manifest = json::parse(in);
    Errors pooled_a, pooled_p;
    std::printf("# %-52s %5s | %-35s | %-35s\n", "", "", "analytic |busbw error| median worst",
                "packet |busbw error| median worst");
    std::printf("# %-52s %5s | %17s %17s | %17s %17s\n", "table", "rows", ">= 16 MiB", "<= 1 MiB",
                ">= 16 MiB", "<= 1 MiB");
    for (const json& t : manifest.at("tables")) {
      const std::string path = std::string(argv[2]) + "/" + t.at("file").get<std::string>();
      std::istringstream log(section(path, t.at("from"), t.value("until", std::string())));
      results::NcclImportOptions opt;
      opt.collective = "all_reduce";
      opt.ranks = t.at("ranks").get<std::int32_t>();
      opt.allow_partial = true;
      const results::ResultFile measured = results::import_nccl_tests(log, path, opt, json::object());
      std::ostringstream detail;
      const Errors a = score(measured, t, experiment::BackendKind::analytic, UINT64_MAX, detail);
      const Errors p =
          packet_max > 0 ? score(measured, t, experiment::BackendKind::packet, packet_max, detail) : Errors{};
      const bool scored = t.value("score", true);
      if (scored) {
        pooled_a.add(a);
        pooled_p.add(p);
      }
      std::printf("%s %-52s %5zu | %s %s | %s %s\n", scored ? " " : "#",
                  t.at("name").get<std::string>().c_str(), measured.rows.size(),
                  median_worst(a.large).c_str(), median_worst(a.small).c_str(), median_worst(p.large).c_str(),
                  median_worst(p.small).c_str());
      if (!scored) std::printf("#   not pooled: %s\n", t.value("why", std::string()).c_str());
      if (!p.skipped.empty()) std::printf("#   packet not run: %s\n", p.skipped.c_str());
      if (show_detail) std::cout << detail.str();
    }
    std::printf("  %-52s %5s | %s %s | %s %s\n", "pooled (scored tables)", "",
                median_worst(pooled_a.large).c_str(), median_worst(pooled_a.small).c_str(),
                median_worst(pooled_p.large).c_str(), median_worst(pooled_p.small).c_str());
  } catch (const std::exception& e) {
    std::cerr << "fidelity: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
