// Option values shared by the subcommands, parsed with messages that name the option.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/experiment/report.hpp"
#include "fabtwin/results/results.hpp"
#include "fabtwin/topo/topology.hpp"
#include "fabtwin/units.hpp"

namespace CLI {
class App;
}

namespace fabtwin::cli {

Bytes parse_bytes_option(const std::string& option, const std::string& text);
BitsPerSecond parse_rate_option(const std::string& option, const std::string& text);
Seconds parse_duration_option(const std::string& option, const std::string& text);

// nccl-tests' sweep: begin, begin*factor, ... up to end inclusive; with `stepbytes` (-i) given,
// begin, begin+step, ... instead. Bounded: a sweep of over kMaxSizes rows is refused.
inline constexpr std::uint64_t kMaxSizes = 100000;
std::vector<std::uint64_t> size_sweep(Bytes begin, Bytes end, std::uint64_t factor,
                                      const std::string& stepbytes = "");

// The letters nccl-tests defines that mean nothing in this subcommand, each taken (so that a pasted
// nccl-tests command line is not silently misread) and refused with what fabtwin offers instead.
struct RefusedLetter {
  const char* letter;  // "-t"
  const char* why;     // "threads per process: ..."
};
void refuse_nccl_tests_letters(CLI::App& cmd, const std::vector<RefusedLetter>& letters);

struct CollectiveOptions {
  std::string collective = "all_reduce";
  std::string dtype = "float";
  std::string op = "sum";
  std::int32_t root = 0;
  std::int32_t chunks = 0;
  std::string proto = "auto";
  std::int32_t channels = 0;
};

void add_collective_options(CLI::App& cmd, CollectiveOptions& o);
// `-d all` and `-o all` as nccl-tests sweeps them: every type, then within it every reduction, in
// nccl-tests' order (of the types and operations fabtwin models). A collective without a reduction
// runs once per type. Without "all", `o` alone.
std::vector<CollectiveOptions> expand_all(const CollectiveOptions& o);
coll::Collective parse_collective(const std::string& text);
coll::AlgoOptions to_algo_options(const CollectiveOptions& o);

// Writes `j` to FILE, or to standard output for "-".
void write_json_output(const std::string& path, const nlohmann::json& j, std::ostream& out);
// --csv FILE: `csv` (results::to_csv) there, nothing when empty, standard output for "-".
void write_csv_output(const std::string& path, const std::string& csv, std::ostream& out);

// Provenance every result carries: versions, revision, host and topology.
using experiment::provenance;

}  // namespace fabtwin::cli
