// One dependency-counting runner for every backend. A backend only posts ready steps and reports
// completions; the runner owns ordering and the trace, so every backend's trace means the same.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fabtwin/coll/plan.hpp"
#include "fabtwin/units.hpp"

namespace fabtwin::coll {

struct StepRef {
  std::int32_t rank = 0;
  StepIndex step = 0;
};

struct Completion {
  StepRef ref;
  Seconds start;  // when the backend began the work (for transfers: both sides ready)
  Seconds end;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // The step's dependencies completed at `ready`; the backend may start it at or after that time.
  virtual void post(StepRef ref, Seconds ready) = 0;
  // Wait until at least one posted step completes and return those completions. Returning none
  // means no posted step can complete (a stall); the runner then reports what is stuck.
  virtual std::vector<Completion> progress() = 0;
};

struct TraceRecord {
  std::int32_t rank = 0;
  StepIndex step = 0;
  StepKind kind = StepKind::copy;
  std::int32_t peer = -1;
  std::uint64_t bytes = 0;
  Seconds ready;
  Seconds start;
  Seconds end;
};

struct RunResult {
  Seconds makespan;
  std::vector<TraceRecord> trace;  // in completion order
};

// Throws std::runtime_error when the backend stalls, naming the first steps still waiting.
RunResult run_plan(const Plan& plan, Backend& backend);

// The same runner for one process of a distributed backend (verbs): posts and awaits only `rank`'s
// steps; its partners' steps run in their own processes. Throws std::invalid_argument for a rank
// outside the plan.
RunResult run_rank_plan(const Plan& plan, std::int32_t rank, Backend& backend);

}  // namespace fabtwin::coll
