// Reduce-scatter, all-gather, broadcast, reduce and all-to-all as plans.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <stdexcept>

#include "kit.hpp"

namespace fabtwin::coll::detail {

// ---------------------------------------------------------------- other collectives

std::vector<Span> blocks(const Context& cx, std::uint64_t block_bytes) {
  std::vector<Span> v;
  for (std::int32_t i = 0; i < cx.n; ++i) v.push_back({i * block_bytes, block_bytes});
  return v;
}

void reduce_scatter_ring(Context& cx) {
  const std::uint64_t block = cx.b.plan().ranks[0].output_bytes;
  const std::uint64_t whole = block * cx.n;
  std::vector<Deps> entry(cx.n);
  std::vector<Region> work(cx.n);
  for (std::int32_t r = 0; r < cx.n; ++r) {
    work[r] = cx.b.scratch(r, whole);
    entry[r] = {cx.b.copy(r, {BufferKind::input, 0, whole}, work[r], {})};
  }
  auto segs = blocks(cx, block);
  for (auto& s : segs) s.offset += work[0].offset;
  const auto exit = detail::ring_reduce_scatter(cx.b, all_ranks(cx.n), BufferKind::scratch, segs,
                                                chunks_for(cx, block), entry);
  for (std::int32_t r = 0; r < cx.n; ++r) {
    cx.b.copy(r, {BufferKind::scratch, segs[r].offset, block}, {BufferKind::output, 0, block}, exit[r]);
  }
}

void reduce_scatter_direct(Context& cx) {
  const std::uint64_t block = cx.b.plan().ranks[0].output_bytes;
  const auto segs = blocks(cx, block);
  std::vector<Deps> owned(cx.n);
  for (std::int32_t j = 0; j < cx.n; ++j) {
    owned[j] = {cx.b.copy(j, in_region(segs[j]), {BufferKind::output, 0, block}, {})};
  }
  for (std::int32_t j = 0; j < cx.n; ++j) {
    for (std::int32_t i = 0; i < cx.n; ++i) {
      if (i == j) continue;
      const Region landing = cx.b.scratch(j, block);
      const auto t = cx.b.transfer(i, in_region(segs[j]), {}, j, landing, {});
      owned[j] = {cx.b.reduce(j, {BufferKind::output, 0, block}, landing, join({t.recv}, owned[j]))};
    }
  }
}

std::vector<Deps> place_own_block(Context& cx, const std::vector<Span>& segs) {
  std::vector<Deps> entry(cx.n);
  for (std::int32_t r = 0; r < cx.n; ++r) {
    entry[r] = {cx.b.copy(r, {BufferKind::input, 0, segs[r].bytes}, out_region(segs[r]), {})};
  }
  return entry;
}

void all_gather_ring(Context& cx) {
  const std::uint64_t block = cx.b.plan().ranks[0].input_bytes;
  const auto segs = blocks(cx, block);
  const auto entry = place_own_block(cx, segs);
  detail::ring_all_gather(cx.b, all_ranks(cx.n), BufferKind::output, segs, chunks_for(cx, block), entry);
}

void all_gather_direct(Context& cx) {
  const std::uint64_t block = cx.b.plan().ranks[0].input_bytes;
  const auto segs = blocks(cx, block);
  place_own_block(cx, segs);
  for (std::int32_t i = 0; i < cx.n; ++i) {
    for (std::int32_t j = 0; j < cx.n; ++j) {
      if (i != j) cx.b.transfer(i, {BufferKind::input, 0, block}, {}, j, out_region(segs[i]), {});
    }
  }
}

// Ranks in chain order starting at the root (broadcast) or ending at it (reduce).
std::vector<std::int32_t> chain_from(const Context& cx, std::int32_t first) {
  std::vector<std::int32_t> v;
  for (std::int32_t i = 0; i < cx.n; ++i) v.push_back((first + i) % cx.n);
  return v;
}

void broadcast_ring(Context& cx) {
  const std::uint64_t bytes = total_bytes(cx);
  const std::int32_t root = cx.opt.root;
  cx.b.copy(root, {BufferKind::input, 0, bytes}, {BufferKind::output, 0, bytes}, {});
  const auto chain = chain_from(cx, root);
  const auto pieces = split_elements(0, bytes / cx.elem, chunks_for(cx, bytes), cx.elem);
  for (const Span& piece : pieces) {
    Deps ready;
    for (std::size_t p = 0; p + 1 < chain.size(); ++p) {
      const Region from = p == 0 ? in_region(piece) : out_region(piece);
      ready = {cx.b.transfer(chain[p], from, ready, chain[p + 1], out_region(piece), {}).recv};
    }
  }
}

void broadcast_direct(Context& cx) {
  const std::uint64_t bytes = total_bytes(cx);
  const std::int32_t root = cx.opt.root;
  const Region whole_in{BufferKind::input, 0, bytes};
  const Region whole_out{BufferKind::output, 0, bytes};
  cx.b.copy(root, whole_in, whole_out, {});
  for (std::int32_t r = 0; r < cx.n; ++r) {
    if (r != root) cx.b.transfer(root, whole_in, {}, r, whole_out, {});
  }
}

void reduce_ring(Context& cx) {
  const std::uint64_t bytes = total_bytes(cx);
  const std::int32_t root = cx.opt.root;
  const auto chain = chain_from(cx, root + 1);  // ends at the root
  const Region whole_in{BufferKind::input, 0, bytes};
  // Each rank accumulates in its own copy: the output at the root, scratch elsewhere.
  std::vector<Region> acc(cx.n);
  std::vector<Deps> entry(cx.n);
  for (std::int32_t r = 0; r < cx.n; ++r) {
    acc[r] = r == root ? Region{BufferKind::output, 0, bytes} : cx.b.scratch(r, bytes);
    entry[r] = {cx.b.copy(r, whole_in, acc[r], {})};
  }
  const auto pieces = split_elements(0, bytes / cx.elem, chunks_for(cx, bytes), cx.elem);
  for (const Span& piece : pieces) {
    Deps ready = entry[chain[0]];
    for (std::size_t p = 0; p + 1 < chain.size(); ++p) {
      const std::int32_t from = chain[p];
      const std::int32_t to = chain[p + 1];
      const Region src{acc[from].buffer, acc[from].offset + piece.offset, piece.bytes};
      const Region dst{acc[to].buffer, acc[to].offset + piece.offset, piece.bytes};
      const Region landing = cx.b.scratch(to, piece.bytes);
      const auto t = cx.b.transfer(from, src, ready, to, landing, {});
      ready = {cx.b.reduce(to, dst, landing, join({t.recv}, entry[to]))};
    }
  }
}

void reduce_direct(Context& cx) {
  const std::uint64_t bytes = total_bytes(cx);
  const std::int32_t root = cx.opt.root;
  const Region whole_in{BufferKind::input, 0, bytes};
  const Region whole_out{BufferKind::output, 0, bytes};
  Deps acc = {cx.b.copy(root, whole_in, whole_out, {})};
  for (std::int32_t r = 0; r < cx.n; ++r) {
    if (r == root) continue;
    const Region landing = cx.b.scratch(root, bytes);
    const auto t = cx.b.transfer(r, whole_in, {}, root, landing, {});
    acc = {cx.b.reduce(root, whole_out, landing, join({t.recv}, acc))};
  }
}

void all_to_all_direct(Context& cx) {
  const std::uint64_t block = cx.b.plan().ranks[0].input_bytes / cx.n;
  const auto segs = blocks(cx, block);
  for (std::int32_t r = 0; r < cx.n; ++r) cx.b.copy(r, in_region(segs[r]), out_region(segs[r]), {});
  for (std::int32_t i = 0; i < cx.n; ++i) {
    for (std::int32_t j = 0; j < cx.n; ++j) {
      if (i != j) cx.b.transfer(i, in_region(segs[j]), {}, j, out_region(segs[i]), {});
    }
  }
}

// Pairwise exchange: in round k every rank sends to rank+k and receives from rank-k, one round at a
// time, so each NIC carries one message each way per round.
void all_to_all_ring(Context& cx) {
  const std::uint64_t block = cx.b.plan().ranks[0].input_bytes / cx.n;
  const auto segs = blocks(cx, block);
  std::vector<Deps> ready(cx.n);
  for (std::int32_t r = 0; r < cx.n; ++r) {
    ready[r] = {cx.b.copy(r, in_region(segs[r]), out_region(segs[r]), {})};
  }
  for (std::int32_t k = 1; k < cx.n; ++k) {
    std::vector<Deps> next(cx.n);
    for (std::int32_t i = 0; i < cx.n; ++i) {
      const std::int32_t j = (i + k) % cx.n;
      const auto t = cx.b.transfer(i, in_region(segs[j]), ready[i], j, out_region(segs[i]), ready[j]);
      next[i].push_back(t.send);
      next[j].push_back(t.recv);
    }
    ready = std::move(next);
  }
}

}  // namespace fabtwin::coll::detail
