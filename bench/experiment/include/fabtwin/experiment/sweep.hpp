// A what-if sweep: a matrix of scenarios (topologies, algorithms, backends, routing, what-ifs, seeds
// over one size sweep) expanded into runs of `fabtwin sim`, each named by the hash of what it runs, so
// that tasks on many machines each take their share and an interrupted sweep resumes where it stopped.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fabtwin::experiment {

struct SweepRun {
  std::size_t index = 0;          // in the expansion's order
  std::string name;               // the labels of its matrix values, e.g. "rail-ring-packet"
  std::vector<std::string> args;  // of `fabtwin sim`, without the output options
  std::string hash;               // 16 hex digits over `args`
  std::string file_stem() const { return name + "." + hash; }
};

struct Sweep {
  std::string collective;
  std::vector<SweepRun> runs;
  std::vector<std::string> skipped;  // combinations that cannot run, with why
};

// Most runs a sweep file may expand into: past it the matrix is refused with its size.
inline constexpr std::size_t kMaxSweepRuns = 100000;

// The sweep file's JSON (documented in README, "What-if sweeps"). Throws std::invalid_argument naming
// `origin` and the field at fault: an unknown key, a wrong type, an empty list, a label used twice, a
// matrix over kMaxSweepRuns. Combinations a backend cannot run (the analytic model with spraying or a
// failed link) are left out and listed in `skipped`.
Sweep expand_sweep(const std::string& json_text, const std::string& origin);

// This task's share of a sweep: task `task` of `tasks` takes every run whose index is task modulo tasks.
struct Shard {
  std::size_t task = 0;
  std::size_t tasks = 1;
  std::string source;  // where it came from: "--shard", "SLURM_ARRAY_TASK_ID", ...
  bool takes(const SweepRun& r) const { return r.index % tasks == task; }
};

// `--shard I/N` when given ("" otherwise), else a Slurm array task (SLURM_ARRAY_TASK_ID, counted from
// SLURM_ARRAY_TASK_MIN over SLURM_ARRAY_TASK_COUNT), else a task of srun (SLURM_PROCID of SLURM_NTASKS)
// or mpirun (OMPI_COMM_WORLD_RANK of OMPI_COMM_WORLD_SIZE, PMIX_RANK of PMIX_SIZE), else the whole
// sweep. `env` looks a variable up (getenv in the command). Throws std::invalid_argument naming the
// option or variable that is malformed or out of range.
Shard shard_of(const std::string& option, const std::function<const char*(const char*)>& env);

}  // namespace fabtwin::experiment
