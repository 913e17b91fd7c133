#include "fabtwin/coll/algorithms.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>

#include "builder.hpp"
#include "fabtwin/topo/topology.hpp"

namespace fabtwin::coll {

using detail::Deps;
using detail::join;
using detail::PlanBuilder;
using detail::Span;
using detail::split_elements;

Group Group::flat(std::int32_t ranks) {
  return Group{ranks, {}};
}

Group Group::uniform(std::int32_t ranks, std::int32_t ranks_per_host) {
  if (ranks_per_host < 1) throw std::invalid_argument("ranks per host must be at least 1");
  Group g{ranks, {}};
  for (std::int32_t r = 0; r < ranks; ++r) g.host_of_rank.push_back(r / ranks_per_host);
  return g;
}

Group Group::from_topology(const topo::Topology& t) {
  Group g{t.rank_count(), {}};
  for (std::int32_t r = 0; r < t.rank_count(); ++r) g.host_of_rank.push_back(t.host_of_rank(r));
  return g;
}

std::int32_t Group::host_of(std::int32_t rank) const {
  return host_of_rank.empty() ? rank : host_of_rank.at(rank);
}

namespace {

struct Context {
  PlanBuilder& b;
  const Group& group;
  const AlgoOptions& opt;
  std::int32_t n;
  std::uint64_t elem;
};

Region out_region(const Span& s) {
  return {BufferKind::output, s.offset, s.bytes};
}
Region in_region(const Span& s) {
  return {BufferKind::input, s.offset, s.bytes};
}

// Whole-buffer span covering [first.offset, last.end) of a run of consecutive spans.
Span cover(const std::vector<Span>& segs, std::size_t lo, std::size_t hi) {
  if (lo >= hi) return {segs.empty() ? 0 : segs[std::min(lo, segs.size() - 1)].offset, 0};
  return {segs[lo].offset, segs[hi - 1].offset + segs[hi - 1].bytes - segs[lo].offset};
}

std::int32_t chunks_for(const Context& cx, std::uint64_t bytes) {
  const std::uint64_t elements = std::max<std::uint64_t>(1, bytes / cx.elem);
  std::uint64_t c = cx.opt.chunks > 0 ? static_cast<std::uint64_t>(cx.opt.chunks)
                                      : (bytes + kDefaultChunkBytes - 1) / kDefaultChunkBytes;
  c = std::clamp<std::uint64_t>(c, 1, cx.opt.chunks > 0 ? c : kMaxChunks);
  return static_cast<std::int32_t>(std::min(c, elements));
}

std::vector<std::int32_t> all_ranks(std::int32_t n) {
  std::vector<std::int32_t> v(n);
  for (std::int32_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

// Every rank copies its input into its output so the algorithm can work in place there.
std::vector<Deps> copy_input_to_output(Context& cx, std::uint64_t bytes) {
  std::vector<Deps> entry(cx.n);
  for (std::int32_t r = 0; r < cx.n; ++r) {
    entry[r] = {cx.b.copy(r, {BufferKind::input, 0, bytes}, {BufferKind::output, 0, bytes}, {})};
  }
  return entry;
}

std::uint64_t total_bytes(const Context& cx) {
  return cx.b.plan().count * cx.elem;
}

// ---------------------------------------------------------------- all-reduce

void allreduce_ring(Context& cx) {
  const std::uint64_t bytes = total_bytes(cx);
  auto entry = copy_input_to_output(cx, bytes);
  const auto segs = split_elements(0, bytes / cx.elem, cx.n, cx.elem);
  const std::int32_t chunks = chunks_for(cx, segs.front().bytes);
  const auto ring = all_ranks(cx.n);
  const auto rs = detail::ring_reduce_scatter(cx.b, ring, BufferKind::output, segs, chunks, entry);
  detail::ring_all_gather(cx.b, ring, BufferKind::output, segs, chunks, rs);
}

// Ranks that sit out the power-of-two core (MPICH's scheme): even ranks below 2*rem hand their data
// to the odd neighbour first and get the result back at the end.
struct PowerOfTwoCore {
  std::int32_t p = 1;
  std::int32_t rem = 0;
  std::int32_t real(std::int32_t v) const { return v < rem ? 2 * v + 1 : v + rem; }
};

PowerOfTwoCore core_of(std::int32_t n) {
  PowerOfTwoCore c;
  while (c.p * 2 <= n) c.p *= 2;
  c.rem = n - c.p;
  return c;
}

// Folds the extra ranks in; returns per-rank readiness and the folded ranks' sends (their output
// must not be overwritten before those sends finish).
std::vector<Deps> fold_extra_ranks(Context& cx, const PowerOfTwoCore& core, const std::vector<Deps>& entry,
                                   std::vector<StepIndex>& fold_sends) {
  const std::uint64_t bytes = total_bytes(cx);
  std::vector<Deps> ready = entry;
  fold_sends.assign(cx.n, 0);
  for (std::int32_t j = 0; j < core.rem; ++j) {
    const std::int32_t from = 2 * j;
    const std::int32_t to = 2 * j + 1;
    const Region landing = cx.b.scratch(to, bytes);
    const auto t = cx.b.transfer(from, {BufferKind::output, 0, bytes}, entry[from], to, landing, {});
    fold_sends[from] = t.send;
    ready[to] = {cx.b.reduce(to, {BufferKind::output, 0, bytes}, landing, join({t.recv}, entry[to]))};
  }
  return ready;
}

void unfold_extra_ranks(Context& cx, const PowerOfTwoCore& core, const std::vector<Deps>& ready,
                        const std::vector<StepIndex>& fold_sends, const std::vector<Deps>& entry) {
  const std::uint64_t bytes = total_bytes(cx);
  for (std::int32_t j = 0; j < core.rem; ++j) {
    const Region whole{BufferKind::output, 0, bytes};
    cx.b.transfer(2 * j + 1, whole, ready[2 * j + 1], 2 * j, whole, join({fold_sends[2 * j]}, entry[2 * j]));
  }
}

void allreduce_recursive_doubling(Context& cx) {
  const std::uint64_t bytes = total_bytes(cx);
  const auto entry = copy_input_to_output(cx, bytes);
  const auto core = core_of(cx.n);
  std::vector<StepIndex> fold_sends;
  auto ready = fold_extra_ranks(cx, core, entry, fold_sends);
  const Region whole{BufferKind::output, 0, bytes};
  // One landing slot per rank, reused each round: the next receive waits for the reduce that
  // consumed it, which `ready` already carries.
  std::vector<Region> slot(cx.n);
  for (std::int32_t v = 0; v < core.p; ++v) slot[core.real(v)] = cx.b.scratch(core.real(v), bytes);
  for (std::int32_t d = 1; d < core.p; d *= 2) {
    std::vector<PlanBuilder::Transfer> sent(core.p);
    for (std::int32_t v = 0; v < core.p; ++v) {
      const std::int32_t me = core.real(v);
      const std::int32_t peer = core.real(v ^ d);
      sent[v] = cx.b.transfer(me, whole, ready[me], peer, slot[peer], ready[peer]);
    }
    std::vector<Deps> next = ready;
    for (std::int32_t v = 0; v < core.p; ++v) {
      const std::int32_t me = core.real(v);
      const StepIndex got = sent[v ^ d].recv;
      next[me] = {cx.b.reduce(me, whole, slot[me], {got, sent[v].send})};
    }
    ready = std::move(next);
  }
  unfold_extra_ranks(cx, core, ready, fold_sends, entry);
}

void allreduce_halving_doubling(Context& cx) {
  const std::uint64_t bytes = total_bytes(cx);
  const auto entry = copy_input_to_output(cx, bytes);
  const auto core = core_of(cx.n);
  std::vector<StepIndex> fold_sends;
  auto ready = fold_extra_ranks(cx, core, entry, fold_sends);
  const auto segs = split_elements(0, bytes / cx.elem, core.p, cx.elem);

  std::vector<std::size_t> lo(core.p, 0), hi(core.p, core.p);
  std::vector<std::size_t> marks(cx.n);
  for (std::int32_t r = 0; r < cx.n; ++r) marks[r] = cx.b.mark(r);
  // Reduce-scatter by recursive halving: each round keeps half the range and ships the other half.
  for (std::int32_t d = core.p / 2; d >= 1; d /= 2) {
    std::vector<Deps> next = ready;
    for (std::int32_t v = 0; v < core.p; ++v) {
      const std::int32_t u = v ^ d;
      const std::size_t mid = (lo[v] + hi[v]) / 2;
      const bool upper = (v & d) != 0;
      const Span give = upper ? cover(segs, lo[v], mid) : cover(segs, mid, hi[v]);
      const std::int32_t me = core.real(v);
      const std::int32_t peer = core.real(u);
      const Region landing = cx.b.scratch(peer, give.bytes);
      const auto t = cx.b.transfer(me, out_region(give), ready[me], peer, landing, ready[peer]);
      next[peer] = {cx.b.reduce(peer, out_region(give), landing, join({t.recv}, ready[peer]))};
    }
    for (std::int32_t v = 0; v < core.p; ++v) {
      const std::size_t mid = (lo[v] + hi[v]) / 2;
      if ((v & d) != 0) {
        lo[v] = mid;
      } else {
        hi[v] = mid;
      }
    }
    ready = std::move(next);
  }
  // All-gather by recursive doubling, the mirror image; the reduce-scatter's sends still read parts
  // of the output, so the first round waits for everything that phase did on the rank.
  for (std::int32_t v = 0; v < core.p; ++v) {
    const std::int32_t me = core.real(v);
    ready[me] = cx.b.sinks_since(me, marks[me]);
    if (ready[me].empty()) ready[me] = entry[me];
  }
  for (std::int32_t d = 1; d < core.p; d *= 2) {
    std::vector<Deps> next = ready;
    for (std::int32_t v = 0; v < core.p; ++v) {
      const std::int32_t me = core.real(v);
      const std::int32_t peer = core.real(v ^ d);
      const Span mine = cover(segs, lo[v], hi[v]);
      const auto t = cx.b.transfer(me, out_region(mine), ready[me], peer, out_region(mine), ready[peer]);
      next[peer].push_back(t.recv);
    }
    for (std::int32_t v = 0; v < core.p; ++v) {
      const std::int32_t u = v ^ d;
      const std::size_t new_lo = std::min(lo[v], lo[u]);
      const std::size_t new_hi = std::max(hi[v], hi[u]);
      lo[v] = new_lo;
      hi[v] = new_hi;
    }
    ready = std::move(next);
  }
  unfold_extra_ranks(cx, core, ready, fold_sends, entry);
}

void allreduce_tree(Context& cx) {
  const std::uint64_t bytes = total_bytes(cx);
  const auto entry = copy_input_to_output(cx, bytes);
  if (cx.n == 1) return;
  const auto halves = split_elements(0, bytes / cx.elem, 2, cx.elem);
  for (int t = 0; t < 2; ++t) {
    const auto parent = btree_parents(cx.n, t);
    std::vector<std::vector<std::int32_t>> children(cx.n);
    std::int32_t root = 0;
    for (std::int32_t r = 0; r < cx.n; ++r) {
      if (parent[r] < 0) {
        root = r;
      } else {
        children[parent[r]].push_back(r);
      }
    }
    // Breadth-first order from the root: reverse it to reduce upward, walk it to broadcast down.
    std::vector<std::int32_t> order{root};
    for (std::size_t i = 0; i < order.size(); ++i) {
      for (std::int32_t c : children[order[i]]) order.push_back(c);
    }
    const auto pieces =
        split_elements(halves[t].offset, halves[t].bytes / cx.elem, chunks_for(cx, halves[t].bytes), cx.elem);
    for (const Span& piece : pieces) {
      const Region region = out_region(piece);
      std::vector<Deps> up_ready = entry;
      std::vector<StepIndex> up_send(cx.n, 0);
      for (auto it = order.rbegin(); it != order.rend(); ++it) {
        const std::int32_t r = *it;
        if (parent[r] < 0) continue;
        const std::int32_t p = parent[r];
        const Region landing = cx.b.scratch(p, piece.bytes);
        const auto tr = cx.b.transfer(r, region, up_ready[r], p, landing, entry[p]);
        up_send[r] = tr.send;
        // Children reduce into the parent one after another: both write the same region.
        up_ready[p] = {cx.b.reduce(p, region, landing, join({tr.recv}, up_ready[p]))};
      }
      std::vector<Deps> final_ready(cx.n);
      final_ready[root] = up_ready[root];
      for (std::int32_t r : order) {
        for (std::int32_t c : children[r]) {
          final_ready[c] = {cx.b.transfer(r, region, final_ready[r], c, region, {up_send[c]}).recv};
        }
      }
    }
  }
}

void allreduce_direct(Context& cx) {
  const std::uint64_t bytes = total_bytes(cx);
  const auto entry = copy_input_to_output(cx, bytes);
  const auto segs = split_elements(0, bytes / cx.elem, cx.n, cx.elem);
  std::vector<std::vector<StepIndex>> sent(cx.n, std::vector<StepIndex>(cx.n));
  std::vector<Deps> owned = entry;
  for (std::int32_t j = 0; j < cx.n; ++j) {
    for (std::int32_t i = 0; i < cx.n; ++i) {
      if (i == j) continue;
      const Region landing = cx.b.scratch(j, segs[j].bytes);
      const auto t = cx.b.transfer(i, out_region(segs[j]), entry[i], j, landing, {});
      sent[i][j] = t.send;
      owned[j] = {cx.b.reduce(j, out_region(segs[j]), landing, join({t.recv}, owned[j]))};
    }
  }
  for (std::int32_t j = 0; j < cx.n; ++j) {
    for (std::int32_t i = 0; i < cx.n; ++i) {
      if (i == j) continue;
      cx.b.transfer(j, out_region(segs[j]), owned[j], i, out_region(segs[j]), {sent[i][j]});
    }
  }
}

void allreduce_hierarchical(Context& cx) {
  const std::uint64_t bytes = total_bytes(cx);
  auto entry = copy_input_to_output(cx, bytes);
  std::map<std::int32_t, std::vector<std::int32_t>> by_host;
  for (std::int32_t r = 0; r < cx.n; ++r) by_host[cx.group.host_of(r)].push_back(r);
  const std::size_t per_host = by_host.begin()->second.size();
  for (const auto& [host, ranks] : by_host) {
    if (ranks.size() != per_host) {
      std::ostringstream msg;
      msg << "hierarchical all-reduce needs the same number of ranks on every host: host " << host << " has "
          << ranks.size() << ", host " << by_host.begin()->first << " has " << per_host
          << " (use ring or tree for uneven placements)";
      throw std::invalid_argument(msg.str());
    }
  }
  std::vector<std::vector<std::int32_t>> hosts;
  for (auto& [host, ranks] : by_host) hosts.push_back(ranks);

  // Inside each host the G ranks reduce-scatter over NVLink, so local rank j owns slice j.
  const auto slices = split_elements(0, bytes / cx.elem, per_host, cx.elem);
  const std::int32_t local_chunks = chunks_for(cx, slices.front().bytes);
  std::vector<Deps> gate = entry;
  for (const auto& members : hosts) {
    std::vector<Deps> member_entry;
    for (std::int32_t r : members) member_entry.push_back(gate[r]);
    const auto exit =
        detail::ring_reduce_scatter(cx.b, members, BufferKind::output, slices, local_chunks, member_entry);
    for (std::size_t i = 0; i < members.size(); ++i) gate[members[i]] = exit[i];
  }
  // Across hosts, each rail all-reduces only its own slice: every NIC busy, no rail crossing.
  for (std::size_t j = 0; j < per_host; ++j) {
    std::vector<std::int32_t> rail;
    std::vector<Deps> rail_entry;
    for (const auto& members : hosts) {
      rail.push_back(members[j]);
      rail_entry.push_back(gate[members[j]]);
    }
    const auto parts = split_elements(slices[j].offset, slices[j].bytes / cx.elem, rail.size(), cx.elem);
    const std::int32_t chunks = chunks_for(cx, parts.front().bytes);
    const auto rs = detail::ring_reduce_scatter(cx.b, rail, BufferKind::output, parts, chunks, rail_entry);
    const auto ag = detail::ring_all_gather(cx.b, rail, BufferKind::output, parts, chunks, rs);
    for (std::size_t h = 0; h < rail.size(); ++h) gate[rail[h]] = ag[h];
  }
  for (const auto& members : hosts) {
    std::vector<Deps> member_entry;
    for (std::int32_t r : members) member_entry.push_back(gate[r]);
    detail::ring_all_gather(cx.b, members, BufferKind::output, slices, local_chunks, member_entry);
  }
}

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

// Steps cost about 120 bytes each; refuse plans that would not fit this machine rather than thrash.
constexpr double kMaxPlanSteps = 1e8;

void check_plan_size(Collective c, const std::string& algorithm, std::int32_t n, std::uint64_t size_bytes,
                     const AlgoOptions& options) {
  const double ranks = n;
  const double per_rank = std::max(1.0, static_cast<double>(size_bytes) / ranks);
  const double chunks = options.chunks > 0
                            ? options.chunks
                            : std::min<double>(kMaxChunks, std::ceil(per_rank / kDefaultChunkBytes));
  const bool quadratic = algorithm == "direct" || algorithm == "hierarchical" ||
                         (algorithm == "ring" && c != Collective::broadcast && c != Collective::reduce);
  const double estimate =
      quadratic ? 5.0 * ranks * ranks * chunks : 10.0 * ranks * std::max(1.0, std::log2(ranks)) * chunks;
  if (estimate > kMaxPlanSteps) {
    std::ostringstream msg;
    msg << to_string(c) << "/" << algorithm << " over " << n << " ranks would have about " << estimate
        << " steps, more than the " << kMaxPlanSteps << " a plan may hold (about 120 bytes each): use fewer "
        << "ranks or --chunks"
        << (c == Collective::all_reduce ? ", or the ring's closed-form model in fabtwin sim" : "");
    throw std::invalid_argument(msg.str());
  }
}

using Builder = std::function<void(Context&)>;

struct Entry {
  AlgorithmInfo info;
  Builder build;
};

const std::vector<Entry>& registry() {
  static const std::vector<Entry> entries = {
      {{Collective::all_reduce, "ring",
        "reduce-scatter then all-gather around a ring, chunked and pipelined"},
       allreduce_ring},
      {{Collective::all_reduce, "tree",
        "double binary tree (NCCL): each half of the data up and down its own tree"},
       allreduce_tree},
      {{Collective::all_reduce, "halving-doubling",
        "Rabenseifner: recursive-halving reduce-scatter, recursive-doubling all-gather"},
       allreduce_halving_doubling},
      {{Collective::all_reduce, "recursive-doubling",
        "log2(n) rounds exchanging the whole buffer: fewest messages"},
       allreduce_recursive_doubling},
      {{Collective::all_reduce, "hierarchical",
        "rail-aware: reduce-scatter in each host, all-reduce per rail across hosts, all-gather in each host"},
       allreduce_hierarchical},
      {{Collective::all_reduce, "direct",
        "every rank reduces its slice from all others, then sends it to all"},
       allreduce_direct},
      {{Collective::reduce_scatter, "ring", "ring reduce-scatter, chunked and pipelined"},
       reduce_scatter_ring},
      {{Collective::reduce_scatter, "direct", "every rank sends each block to its owner"},
       reduce_scatter_direct},
      {{Collective::all_gather, "ring", "ring all-gather, chunked and pipelined"}, all_gather_ring},
      {{Collective::all_gather, "direct", "every rank sends its block to all others"}, all_gather_direct},
      {{Collective::broadcast, "ring", "pipelined chain from the root"}, broadcast_ring},
      {{Collective::broadcast, "direct", "the root sends to every rank"}, broadcast_direct},
      {{Collective::reduce, "ring", "pipelined chain ending at the root"}, reduce_ring},
      {{Collective::reduce, "direct", "every rank sends to the root, which reduces"}, reduce_direct},
      {{Collective::all_to_all, "direct", "all pairs at once"}, all_to_all_direct},
      {{Collective::all_to_all, "ring", "pairwise exchange, one partner per round"}, all_to_all_ring},
  };
  return entries;
}

}  // namespace

std::vector<std::int32_t> btree_parents(std::int32_t ranks, int which_tree) {
  // Tree 0 is an in-order binary tree over 0..n-1 built from the lowest set bit of each rank.
  auto tree0 = [ranks](std::int32_t r) -> std::int32_t {
    if (r == 0) return -1;
    const std::int32_t bit = r & -r;
    std::int32_t up = (r ^ bit) | (bit << 1);
    if (up >= ranks) up = r ^ bit;
    return up;
  };
  // Tree 1 mirrors tree 0 (even n) or shifts it by one (odd n), so that most ranks that are leaves
  // in one tree are interior in the other and every rank sends and receives about equally.
  std::vector<std::int32_t> parent(ranks);
  for (std::int32_t r = 0; r < ranks; ++r) {
    if (which_tree == 0) {
      parent[r] = tree0(r);
    } else if (ranks % 2 == 0) {
      const std::int32_t p = tree0(ranks - 1 - r);
      parent[r] = p < 0 ? -1 : ranks - 1 - p;
    } else {
      const std::int32_t p = tree0((r + ranks - 1) % ranks);
      parent[r] = p < 0 ? -1 : (p + 1) % ranks;
    }
  }
  return parent;
}

const std::vector<AlgorithmInfo>& algorithm_catalog() {
  static const std::vector<AlgorithmInfo> infos = [] {
    std::vector<AlgorithmInfo> v;
    for (const auto& e : registry()) v.push_back(e.info);
    return v;
  }();
  return infos;
}

std::vector<std::string> algorithms_for(Collective c) {
  std::vector<std::string> v;
  for (const auto& e : registry()) {
    if (e.info.collective == c) v.push_back(e.info.name);
  }
  return v;
}

Plan make_plan(Collective c, const std::string& algorithm, const Group& group, std::uint64_t size_bytes,
               const AlgoOptions& options) {
  const std::int32_t n = group.ranks;
  if (n < 1) throw std::invalid_argument("a collective needs at least 1 rank, got " + std::to_string(n));
  if (!group.host_of_rank.empty() && static_cast<std::int32_t>(group.host_of_rank.size()) != n) {
    throw std::invalid_argument("group: host_of_rank has " + std::to_string(group.host_of_rank.size()) +
                                " entries for " + std::to_string(n) + " ranks");
  }
  if ((c == Collective::broadcast || c == Collective::reduce) && (options.root < 0 || options.root >= n)) {
    throw std::invalid_argument("root " + std::to_string(options.root) + " is not a rank of a " +
                                std::to_string(n) + "-rank group (use 0.." + std::to_string(n - 1) + ")");
  }
  const Entry* entry = nullptr;
  for (const auto& e : registry()) {
    if (e.info.collective == c && e.info.name == algorithm) entry = &e;
  }
  if (entry == nullptr) {
    std::string known;
    for (const auto& name : algorithms_for(c)) known += (known.empty() ? "" : ", ") + name;
    throw std::invalid_argument("unknown " + std::string(to_string(c)) + " algorithm \"" + algorithm +
                                "\" (known: " + known + ")");
  }

  Plan plan;
  plan.collective = c;
  plan.algorithm = algorithm;
  plan.dtype = options.dtype;
  plan.op = options.op;
  plan.root = (c == Collective::broadcast || c == Collective::reduce) ? options.root : -1;
  plan.ranks.resize(n);
  const std::uint64_t elem = element_size(options.dtype);
  std::uint64_t in = 0;
  std::uint64_t out = 0;
  switch (c) {
    case Collective::all_reduce:
    case Collective::broadcast:
    case Collective::reduce:
      plan.count = size_bytes / elem;
      in = out = plan.count * elem;
      break;
    case Collective::reduce_scatter:
      plan.count = size_bytes / (elem * n) * n;
      in = plan.count * elem;
      out = in / n;
      break;
    case Collective::all_gather:
      plan.count = size_bytes / (elem * n) * n;
      out = plan.count * elem;
      in = out / n;
      break;
    case Collective::all_to_all:
      plan.count = size_bytes / (elem * n) * n;
      in = out = plan.count * elem;
      break;
  }
  plan.size_bytes = plan.count * elem;
  check_plan_size(c, algorithm, n, plan.size_bytes, options);
  for (std::int32_t r = 0; r < n; ++r) {
    plan.ranks[r].input_bytes = in;
    plan.ranks[r].output_bytes = (c == Collective::reduce && r != plan.root) ? 0 : out;
  }
  PlanBuilder builder(plan);
  Context cx{builder, group, options, n, elem};
  entry->build(cx);
  return plan;
}

}  // namespace fabtwin::coll
