// The in-memory reference executor: runs a plan on real buffers with real reductions. It is the
// oracle every algorithm is proven against before any fabric runs it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fabtwin/coll/runner.hpp"

namespace fabtwin::coll {

// In NCCL's in-place mode one allocation holds both buffers; these are the byte offsets of the input
// and output inside it for rank `r` (the verbs transport lays its registered memory out the same way).
std::pair<std::uint64_t, std::uint64_t> in_place_offsets(const Plan& plan, std::int32_t r);

// The one definition of what a correct collective produces: where rank `rank`'s output element
// `out_index` comes from. Either the reduction (plan.op) over every rank's input element `index`, or a
// copy of rank `rank`'s input element `index`. verify_plan and the verbs transport's check both ask it.
struct OutputSource {
  bool reduced = false;   // true: reduction over all ranks of input element `index`
  std::int32_t rank = 0;  // when not reduced: the rank whose input is copied
  std::uint64_t index = 0;
};
OutputSource output_source(const Plan& plan, std::int32_t rank, std::uint64_t out_index);

// One step of a reduction in double: `acc` combined with `x` under `op`.
double reduce_values(ReduceOp op, double acc, double x);

struct RankBuffers {
  std::vector<std::byte> input;
  std::vector<std::byte> output;
  std::vector<std::byte> scratch;
};

// Executes data movement at post time; has no notion of time (every timestamp is zero).
class ReferenceBackend final : public Backend {
 public:
  // `in_place` makes each rank's output the same memory as its input, as NCCL's in-place mode does.
  ReferenceBackend(const Plan& plan, std::vector<RankBuffers>& buffers, bool in_place = false);
  void post(StepRef ref, Seconds ready) override;
  std::vector<Completion> progress() override;

 private:
  std::byte* address(std::int32_t rank, const Region& r);
  const Plan& plan_;
  std::vector<RankBuffers>& buffers_;
  bool in_place_;
  // Per rank, where input and output start in their allocation (non-zero only in place).
  std::vector<std::pair<std::uint64_t, std::uint64_t>> offsets_;
  std::vector<Completion> done_;
  // Posted transfer halves waiting for their partner, keyed by (sender, receiver, tag).
  std::unordered_map<TransferKey, StepRef, TransferKeyHash> waiting_sends_;
  std::unordered_map<TransferKey, StepRef, TransferKeyHash> waiting_recvs_;
};

struct VerifyResult {
  bool ok = true;
  std::string message;  // the first wrong element: rank, index, expected, got
  std::size_t checked_elements = 0;
};

// Fills inputs with seeded random data, runs the plan on the reference executor and compares every
// rank's output with a naive reduction: exact for integers, within the accumulated rounding bound
// for floating point.
VerifyResult verify_plan(const Plan& plan, std::uint64_t seed, bool in_place = false);

}  // namespace fabtwin::coll
