// All-reduce algorithms as plans.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <stdexcept>

#include "kit.hpp"

namespace fabtwin::coll::detail {

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
// The ring in rounds: every rank copies its input to its output, then n-1 reduce-scatter rounds (each
// rank sends its largest segment to its successor and reduces what it received) and n-1 all-gather
// rounds of the same flows.
RoundPlan all_reduce_ring_rounds(const RoundContext& rc) {
  RoundPlan rp;
  rp.phases.push_back({{}, 0, rc.count * rc.elem, 1});
  if (rc.n == 1) return rp;
  const auto n = static_cast<std::uint64_t>(rc.n);
  const std::uint64_t segment = ((rc.count + n - 1) / n) * rc.elem;
  std::vector<Flow> ring;
  ring.reserve(n);
  for (std::int32_t r = 0; r < rc.n; ++r) ring.push_back({r, (r + 1) % rc.n, segment});
  rp.phases.push_back({ring, segment, 0, n - 1});
  rp.phases.push_back({std::move(ring), 0, 0, n - 1});
  return rp;
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

void tree_reduce_broadcast(Context& cx, const std::vector<std::int32_t>& parent,
                           const std::vector<Span>& pieces, const std::vector<Deps>& entry) {
  const TreeShape tree = tree_shape(parent);
  const auto& children = tree.children;
  const auto& order = tree.order;
  const std::int32_t root = order.front();
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

void allreduce_tree(Context& cx) {
  const std::uint64_t bytes = total_bytes(cx);
  const auto entry = copy_input_to_output(cx, bytes);
  if (cx.n == 1) return;
  const auto halves = split_elements(0, bytes / cx.elem, 2, cx.elem);
  for (int t = 0; t < 2; ++t) {
    const auto pieces =
        split_elements(halves[t].offset, halves[t].bytes / cx.elem, chunks_for(cx, halves[t].bytes), cx.elem);
    tree_reduce_broadcast(cx, btree_parents(cx.n, t), pieces, entry);
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

}  // namespace fabtwin::coll::detail
