// What every algorithm builder shares: the context it builds in and the span helpers. Internal to
// the algorithm library.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "../builder.hpp"
#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/coll/rounds.hpp"

namespace fabtwin::coll::detail {

struct Context {
  PlanBuilder& b;
  const Group& group;
  const AlgoOptions& opt;
  std::int32_t n;
  std::uint64_t elem;
};

inline Region out_region(const Span& s) {
  return {BufferKind::output, s.offset, s.bytes};
}
inline Region in_region(const Span& s) {
  return {BufferKind::input, s.offset, s.bytes};
}

// Whole-buffer span covering [first.offset, last.end) of a run of consecutive spans.
inline Span cover(const std::vector<Span>& segs, std::size_t lo, std::size_t hi) {
  if (lo >= hi) return {segs.empty() ? 0 : segs[std::min(lo, segs.size() - 1)].offset, 0};
  return {segs[lo].offset, segs[hi - 1].offset + segs[hi - 1].bytes - segs[lo].offset};
}

inline std::int32_t chunks_for(const Context& cx, std::uint64_t bytes) {
  const std::uint64_t elements = std::max<std::uint64_t>(1, bytes / cx.elem);
  std::uint64_t c = cx.opt.chunks > 0 ? static_cast<std::uint64_t>(cx.opt.chunks)
                                      : (bytes + kDefaultChunkBytes - 1) / kDefaultChunkBytes;
  c = std::clamp<std::uint64_t>(c, 1, cx.opt.chunks > 0 ? c : kMaxChunks);
  return static_cast<std::int32_t>(std::min(c, elements));
}

inline std::vector<std::int32_t> all_ranks(std::int32_t n) {
  std::vector<std::int32_t> v(n);
  for (std::int32_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

// Every rank copies its input into its output so the algorithm can work in place there.
inline std::vector<Deps> copy_input_to_output(Context& cx, std::uint64_t bytes) {
  std::vector<Deps> entry(cx.n);
  for (std::int32_t r = 0; r < cx.n; ++r) {
    entry[r] = {cx.b.copy(r, {BufferKind::input, 0, bytes}, {BufferKind::output, 0, bytes}, {})};
  }
  return entry;
}

inline std::uint64_t total_bytes(const Context& cx) {
  return cx.b.plan().count * cx.elem;
}

// What a round-form builder needs: the group, the options and the rounded element count.
struct RoundContext {
  const Group& group;
  const AlgoOptions& opt;
  std::int32_t n;
  std::uint64_t elem;
  std::uint64_t count;
};

// A tree given by parent links (-1 at the root): each member's children, and every member breadth
// first from the root (reverse it to reduce upward, walk it to broadcast down).
struct TreeShape {
  std::vector<std::int32_t> parent;
  std::vector<std::vector<std::int32_t>> children;
  std::vector<std::int32_t> order;
};

inline TreeShape tree_shape(std::vector<std::int32_t> parent) {
  const auto n = static_cast<std::int32_t>(parent.size());
  TreeShape t{std::move(parent), std::vector<std::vector<std::int32_t>>(static_cast<std::size_t>(n)), {}};
  for (std::int32_t r = 0; r < n; ++r) {
    if (t.parent[r] < 0) {
      t.order.push_back(r);
    } else {
      t.children[t.parent[r]].push_back(r);
    }
  }
  for (std::size_t i = 0; i < t.order.size(); ++i) {
    for (std::int32_t c : t.children[t.order[i]]) t.order.push_back(c);
  }
  return t;
}

// All-reduce of each piece up the tree `parent` (-1 at the root) and back down, every piece on its
// own; entry[r] gates rank r's first steps.
void tree_reduce_broadcast(Context& cx, const std::vector<std::int32_t>& parent,
                           const std::vector<Span>& pieces, const std::vector<Deps>& entry);

// The builders the registry names, one per (collective, algorithm).
void allreduce_ring(Context& cx);
RoundPlan all_reduce_ring_rounds(const RoundContext& rc);
void allreduce_tree(Context& cx);
void allreduce_halving_doubling(Context& cx);
void allreduce_recursive_doubling(Context& cx);
void allreduce_hierarchical(Context& cx);
void allreduce_direct(Context& cx);
void allreduce_nccl_ring(Context& cx);
RoundPlan all_reduce_nccl_ring_rounds(const RoundContext& rc);
void allreduce_nccl_tree(Context& cx);
RoundPlan all_reduce_nccl_tree_rounds(const RoundContext& rc);
void allreduce_nvls(Context& cx);
RoundPlan all_reduce_nvls_rounds(const RoundContext& rc);
void allreduce_nvls_tree(Context& cx);
RoundPlan all_reduce_nvls_tree_rounds(const RoundContext& rc);
void reduce_scatter_ring(Context& cx);
void reduce_scatter_direct(Context& cx);
void all_gather_ring(Context& cx);
void all_gather_direct(Context& cx);
void broadcast_ring(Context& cx);
void broadcast_direct(Context& cx);
void reduce_ring(Context& cx);
void reduce_direct(Context& cx);
void all_to_all_direct(Context& cx);
void all_to_all_ring(Context& cx);

}  // namespace fabtwin::coll::detail
