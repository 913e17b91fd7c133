// Plan-construction helpers shared by every algorithm: steps, tags, scratch and phase boundaries.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "fabtwin/coll/plan.hpp"

namespace fabtwin::coll::detail {

using Deps = std::vector<StepIndex>;

// A contiguous run of elements, in bytes, inside some buffer.
struct Span {
  std::uint64_t offset = 0;
  std::uint64_t bytes = 0;
};

// `count` elements cut into `parts` runs whose sizes differ by at most one element, so sizes that do
// not divide evenly still cover every element exactly once.
std::vector<Span> split_elements(std::uint64_t first_byte, std::uint64_t count, std::uint64_t parts,
                                 std::uint64_t elem);

class PlanBuilder {
 public:
  explicit PlanBuilder(Plan& plan);

  std::size_t elem() const { return elem_; }
  Plan& plan() { return plan_; }

  StepIndex copy(std::int32_t rank, Region from, Region to, Deps deps);
  StepIndex reduce(std::int32_t rank, Region acc, Region operand, Deps deps);
  struct Transfer {
    StepIndex send;
    StepIndex recv;
  };
  Transfer transfer(std::int32_t src, Region from, Deps send_deps, std::int32_t dst, Region to,
                    Deps recv_deps);

  // A new in-network reducer on `host`'s NVSwitch: its participant index.
  std::int32_t add_reducer(std::int32_t host);

  // A fresh scratch region of `bytes` on `rank` (bump allocation, never reused implicitly).
  Region scratch(std::int32_t rank, std::uint64_t bytes);

  // Phase boundaries: steps added to `rank` since `mark` that nothing depends on yet. Depending on
  // all of them orders a new phase after everything the previous one did on that rank.
  std::size_t mark(std::int32_t rank) const { return plan_.ranks[rank].steps.size(); }
  Deps sinks_since(std::int32_t rank, std::size_t mark) const;

 private:
  StepIndex add(std::int32_t rank, Step s);
  Plan& plan_;
  std::size_t elem_;
  std::vector<std::vector<bool>> has_dependent_;
  std::unordered_map<std::uint64_t, std::uint32_t> next_tag_;
};

Deps join(Deps a, const Deps& b);

// Ring primitives over `group` (global ranks in ring order). `segs` cut the work region (in `buf`,
// same offsets on every member) into group.size() segments. entry[i] gates every step of member i.
// Reduce-scatter leaves member i owning the fully reduced segment i; all-gather starts from that
// state. Both return, per member, the steps that end the phase on it. `window` is how many rounds a
// member may receive ahead on one chunk (1: each receive waits for the previous one).
std::vector<Deps> ring_reduce_scatter(PlanBuilder& b, const std::vector<std::int32_t>& group, BufferKind buf,
                                      const std::vector<Span>& segs, std::int32_t chunks,
                                      const std::vector<Deps>& entry, std::size_t window = 1);
std::vector<Deps> ring_all_gather(PlanBuilder& b, const std::vector<std::int32_t>& group, BufferKind buf,
                                  const std::vector<Span>& segs, std::int32_t chunks,
                                  const std::vector<Deps>& entry, std::size_t window = 1);

}  // namespace fabtwin::coll::detail
