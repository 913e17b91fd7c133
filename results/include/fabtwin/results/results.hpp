// The results file every backend writes and every consumer reads (schema "fabtwin-results",
// documented in results/README.md). Loading is strict: a file that would give a wrong table is
// rejected with a message naming the file and the JSON path of the offending field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fabtwin/units.hpp"

namespace fabtwin::results {

inline constexpr const char* kSchemaName = "fabtwin-results";
inline constexpr int kSchemaVersion = 1;

// Unusable input: the message starts with the file and names the field ("run.json: /rows/3/time_s: ...").
// Derives from std::invalid_argument so the command line maps it to exit code 2.
class InvalidResults : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Whether the run checked its output. Simulators move no data and say not_checked; nccl-tests says
// pass or fail from its #wrong column (N/A when run with -c 0).
enum class Correctness { pass, fail, not_checked };
const char* to_string(Correctness c);
std::optional<Correctness> correctness_from_string(const std::string& s);

// One timing of one size.
struct Timing {
  Seconds time;
  double algbw_gbps = 0.0;  // GB/s, 10^9 bytes per second
  double busbw_gbps = 0.0;
  Correctness correctness = Correctness::not_checked;
  std::optional<std::uint64_t> wrong;  // elements nccl-tests found wrong, when it checked
};

struct Row {
  std::uint64_t size_bytes = 0;  // nccl-tests' size for the collective
  std::uint64_t count = 0;       // elements per rank's call, as nccl-tests prints it
  std::string dtype;
  std::string op;  // "none" for collectives without a reduction
  std::int32_t root = -1;
  std::string algorithm;  // may differ per row (sim --algo auto picks per size)
  std::string backend;
  Timing timing;                   // out-of-place for nccl-tests
  std::optional<Timing> in_place;  // nccl-tests' in-place columns
  // Every other key of the row (the packet model's fabric report, ...), kept as written.
  nlohmann::json extra = nlohmann::json::object();
};

struct Run {
  std::string backend;     // analytic, packet, verbs, nccl-tests, ...
  std::string collective;  // all_reduce, ..., or p2p_write for a point-to-point sweep
  std::string algorithm;
  std::int32_t ranks = 0;
  std::string dtype;
  std::string op;
  std::optional<std::uint64_t> seed;
  // Every other key of "run": the backend's options (per-message cost, iterations, ...), kept as
  // written so a rewritten file loses nothing.
  nlohmann::json options = nlohmann::json::object();
};

struct ResultFile {
  std::string origin;  // the file it was read from, for messages
  int schema_version = kSchemaVersion;
  nlohmann::json provenance = nlohmann::json::object();
  Run run;
  std::vector<Row> rows;  // sizes strictly increasing

  // Provenance fields as strings ("" when absent): device, topology, topology_hash, git_revision.
  std::string provenance_string(const char* key) const;
};

// Strict: the envelope, every required field with its type, sizes strictly increasing, times
// positive, bandwidths finite and non-negative. Throws InvalidResults naming `origin` and the path.
ResultFile parse_results(const nlohmann::json& j, const std::string& origin);
ResultFile load_results(const std::string& path);
nlohmann::json to_json(const ResultFile& f);
void write_results(const std::string& path, const ResultFile& f);

// True when every row carries nccl-tests' in-place columns.
bool has_in_place(const ResultFile& f);
// The same run with the in-place measurements as the rows' timings (for comparing in-place numbers).
// Throws InvalidResults when a row has none.
ResultFile with_in_place_timings(ResultFile f);

// A file's JSON, or InvalidResults naming the file: missing, unreadable, truncated, not JSON.
nlohmann::json read_json_file(const std::string& path);

// Checks the envelope (schema, version, provenance, run) and returns the run, for readers of other
// row layouts such as the point-to-point sweep.
Run parse_envelope(const nlohmann::json& j, const std::string& origin, int* schema_version);

}  // namespace fabtwin::results
