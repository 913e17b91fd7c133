#include "builder.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace fabtwin::coll::detail {

std::vector<Span> split_elements(std::uint64_t first_byte, std::uint64_t count, std::uint64_t parts,
                                 std::uint64_t elem) {
  std::vector<Span> out;
  out.reserve(parts);
  const std::uint64_t base = count / parts;
  const std::uint64_t extra = count % parts;
  std::uint64_t offset = first_byte;
  for (std::uint64_t p = 0; p < parts; ++p) {
    const std::uint64_t n = base + (p < extra ? 1 : 0);
    out.push_back({offset, n * elem});
    offset += n * elem;
  }
  return out;
}

PlanBuilder::PlanBuilder(Plan& plan)
    : plan_(plan), elem_(element_size(plan.dtype)), has_dependent_(plan.ranks.size()) {}

StepIndex PlanBuilder::add(std::int32_t rank, Step s) {
  auto& steps = plan_.ranks.at(rank).steps;
  auto& flags = has_dependent_.at(rank);
  std::sort(s.deps.begin(), s.deps.end());
  s.deps.erase(std::unique(s.deps.begin(), s.deps.end()), s.deps.end());
  if (steps.size() >= std::numeric_limits<StepIndex>::max()) {
    throw std::length_error("rank " + std::to_string(rank) + " would have more than 2^32 steps");
  }
  for (StepIndex d : s.deps) flags.at(d) = true;
  steps.push_back(std::move(s));
  flags.push_back(false);
  return static_cast<StepIndex>(steps.size() - 1);
}

std::int32_t PlanBuilder::add_reducer(std::int32_t host) {
  plan_.ranks.emplace_back();
  plan_.reducers.push_back({host});
  has_dependent_.emplace_back();
  return plan_.rank_count() - 1;
}

StepIndex PlanBuilder::copy(std::int32_t rank, Region from, Region to, Deps deps) {
  return add(rank, Step{StepKind::copy, -1, from, to, 0, std::move(deps)});
}

StepIndex PlanBuilder::reduce(std::int32_t rank, Region acc, Region operand, Deps deps) {
  return add(rank, Step{StepKind::reduce, -1, operand, acc, 0, std::move(deps)});
}

PlanBuilder::Transfer PlanBuilder::transfer(std::int32_t src, Region from, Deps send_deps, std::int32_t dst,
                                            Region to, Deps recv_deps) {
  if (from.bytes != to.bytes) throw std::logic_error("PlanBuilder::transfer: size mismatch");
  const std::uint64_t key = static_cast<std::uint64_t>(src) << 32 | static_cast<std::uint32_t>(dst);
  std::uint32_t& next = next_tag_[key];
  if (next == std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error("more than 2^32 transfers from rank " + std::to_string(src) + " to rank " +
                            std::to_string(dst));
  }
  const std::uint32_t tag = next++;
  Transfer t;
  t.send = add(src, Step{StepKind::send, dst, from, Region{}, tag, std::move(send_deps)});
  t.recv = add(dst, Step{StepKind::recv, src, Region{}, to, tag, std::move(recv_deps)});
  return t;
}

Region PlanBuilder::scratch(std::int32_t rank, std::uint64_t bytes) {
  auto& rp = plan_.ranks.at(rank);
  Region r{BufferKind::scratch, rp.scratch_bytes, bytes};
  rp.scratch_bytes += bytes;
  return r;
}

Deps PlanBuilder::sinks_since(std::int32_t rank, std::size_t mark) const {
  Deps out;
  const auto& flags = has_dependent_.at(rank);
  for (std::size_t i = mark; i < flags.size(); ++i) {
    if (!flags[i]) out.push_back(static_cast<StepIndex>(i));
  }
  return out;
}

Deps join(Deps a, const Deps& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

namespace {

std::vector<std::vector<Span>> chunk_segments(const std::vector<Span>& segs, std::int32_t chunks,
                                              std::uint64_t elem) {
  std::vector<std::vector<Span>> out;
  out.reserve(segs.size());
  for (const Span& s : segs) out.push_back(split_elements(s.offset, s.bytes / elem, chunks, elem));
  return out;
}

std::size_t mod(std::int64_t a, std::size_t m) {
  const auto sm = static_cast<std::int64_t>(m);
  return static_cast<std::size_t>(((a % sm) + sm) % sm);
}

// Per member: the steps a ring phase added, or the entry gate when it added none (one member).
std::vector<Deps> phase_exit(PlanBuilder& b, const std::vector<std::int32_t>& group,
                             const std::vector<std::size_t>& marks, const std::vector<Deps>& entry) {
  std::vector<Deps> exit(group.size());
  for (std::size_t i = 0; i < group.size(); ++i) {
    exit[i] = b.sinks_since(group[i], marks[i]);
    if (b.mark(group[i]) == marks[i]) exit[i] = entry[i];
  }
  return exit;
}

std::vector<std::size_t> marks_of(const PlanBuilder& b, const std::vector<std::int32_t>& group) {
  std::vector<std::size_t> marks;
  for (std::int32_t r : group) marks.push_back(b.mark(r));
  return marks;
}

// One ring phase. In round k member i forwards a chunk of segment i-k-1 (reduce-scatter, which then
// reduces what lands into its own copy) or i-k (all-gather, which receives in place) to member i+1.
// A member's receive of a chunk waits for its receive `window` rounds earlier (the connection's
// buffer slots); every round lands in a region of its own, so more than one slot is safe.
std::vector<Deps> ring_phase(PlanBuilder& b, const std::vector<std::int32_t>& group, BufferKind buf,
                             const std::vector<Span>& segs, std::int32_t chunks,
                             const std::vector<Deps>& entry, bool reduce, std::size_t window) {
  const std::size_t m = group.size();
  const auto marks = marks_of(b, group);
  const auto pieces = chunk_segments(segs, chunks, b.elem());
  // forwarded[i][c]: the step that finished the chunk c member i sends next (its last reduce, or its
  // last receive); received[i][c][k]: member i's receive of chunk c in round k. Only the first round
  // waits on `entry` directly; later rounds inherit it through these chains, which keeps dependency
  // lists short when `entry` is a whole previous phase.
  std::vector<std::vector<StepIndex>> forwarded(m, std::vector<StepIndex>(chunks));
  std::vector<std::vector<std::vector<StepIndex>>> received(m, std::vector<std::vector<StepIndex>>(chunks));
  const std::int64_t shift = reduce ? 1 : 0;
  for (std::size_t k = 0; k + 1 < m; ++k) {
    std::vector<std::vector<StepIndex>> next(m, std::vector<StepIndex>(chunks));
    for (std::size_t i = 0; i < m; ++i) {
      const std::size_t to = (i + 1) % m;
      const std::size_t seg = mod(static_cast<std::int64_t>(i) - static_cast<std::int64_t>(k) - shift, m);
      for (std::int32_t c = 0; c < chunks; ++c) {
        const Span& piece = pieces[seg][c];
        const Region region{buf, piece.offset, piece.bytes};
        const Region landing = reduce ? b.scratch(group[to], piece.bytes) : region;
        Deps send_deps = k == 0 ? entry[i] : Deps{forwarded[i][c]};
        auto& history = received[to][c];
        Deps recv_deps = k == 0 ? entry[to] : Deps{history[k >= window ? k - window : 0]};
        const auto t =
            b.transfer(group[i], region, std::move(send_deps), group[to], landing, std::move(recv_deps));
        history.push_back(t.recv);
        next[to][c] = reduce ? b.reduce(group[to], region, landing, {t.recv}) : t.recv;
      }
    }
    forwarded = std::move(next);
  }
  return phase_exit(b, group, marks, entry);
}

}  // namespace

std::vector<Deps> ring_reduce_scatter(PlanBuilder& b, const std::vector<std::int32_t>& group, BufferKind buf,
                                      const std::vector<Span>& segs, std::int32_t chunks,
                                      const std::vector<Deps>& entry, std::size_t window) {
  return ring_phase(b, group, buf, segs, chunks, entry, true, window);
}

std::vector<Deps> ring_all_gather(PlanBuilder& b, const std::vector<std::int32_t>& group, BufferKind buf,
                                  const std::vector<Span>& segs, std::int32_t chunks,
                                  const std::vector<Deps>& entry, std::size_t window) {
  return ring_phase(b, group, buf, segs, chunks, entry, false, window);
}

}  // namespace fabtwin::coll::detail
