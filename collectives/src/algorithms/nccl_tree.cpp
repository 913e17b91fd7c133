// NCCL's Tree all-reduce (graph/trees.cc, graph/connect.cc): per channel a chain through each host's
// GPUs, starting at the GPU of the channel's NIC, and NCCL's double binary tree across hosts (the
// first half of the channels on one tree, the duplicated half on the other). A child host's chain
// hangs off its parent's second GPU (first child) or first GPU (second child), as the balanced tree
// pattern wires them. Each piece is reduced up to the root and broadcast back down.
#include <algorithm>

#include "kit.hpp"
#include "nccl_layout.hpp"

namespace fabtwin::coll::detail {

namespace {

// Tree moves one protocol step per chunk with Simple (enqueue.cc calcCollChunking). LL and LL128 flag
// every 8 or 120 bytes, so a receiver forwards each line as it lands: they pipeline at line grain,
// which a plan approaches with pieces as small as 4 KiB.
std::uint64_t tree_chunk(nccl::Proto p) {
  return p == nccl::Proto::simple ? nccl::info(p).step_bytes : 4096;
}

// Every rank's parent in channel `c`'s tree.
std::vector<std::int32_t> rank_tree(const HostLayout& layout, std::int32_t c, std::int32_t channels) {
  const auto hosts = static_cast<std::int32_t>(layout.hosts.size());
  const std::int32_t g = layout.ranks_per_host();
  const std::int32_t half = std::max(1, channels / 2);
  const auto host_parent = btree_parents(hosts, channels >= 2 && c >= half ? 1 : 0);
  const std::int32_t start = layout.locals_of_nic[static_cast<std::size_t>((c % half) % layout.nics)].front();
  std::vector<std::int32_t> chain;
  for (std::int32_t i = 0; i < g; ++i) chain.push_back((start + i) % g);
  const TreeShape host_tree = tree_shape(host_parent);
  std::vector<std::int32_t> parent(static_cast<std::size_t>(hosts) * g, -1);
  for (std::int32_t h = 0; h < hosts; ++h) {
    const auto& ranks = layout.hosts[h];
    for (std::int32_t p = 1; p < g; ++p) parent[ranks[chain[p]]] = ranks[chain[p - 1]];
    const std::int32_t ph = host_parent[h];
    if (ph < 0) continue;
    const auto& siblings = host_tree.children[ph];
    const bool first_child = siblings.front() == h;
    parent[ranks[chain[0]]] = layout.hosts[ph][chain[first_child && g > 1 ? 1 : 0]];
  }
  return parent;
}

}  // namespace

void allreduce_nccl_tree(Context& cx) {
  const std::uint64_t bytes = total_bytes(cx);
  const HostLayout layout = host_layout(cx.group, "nccl-tree");
  const nccl::Proto proto = protocol_of(cx.opt);
  const std::int32_t channels = plan_channels(nccl::Algo::tree, cx.opt, layout, cx.n, bytes, cx.elem);
  Plan& plan = cx.b.plan();
  plan.protocol =
      nccl::protocol_costs(nccl::Algo::tree, proto, static_cast<std::int32_t>(layout.hosts.size()));
  plan.protocol.channel_rate = cx.opt.channel_rate;
  plan.channels = channels;
  const auto slices = split_elements(0, bytes / cx.elem, static_cast<std::uint64_t>(channels), cx.elem);
  for (std::int32_t c = 0; c < channels; ++c) {
    std::vector<Deps> entry(cx.n);
    for (std::int32_t r = 0; r < cx.n; ++r) {
      entry[r] = {cx.b.copy(r, in_region(slices[c]), out_region(slices[c]), {})};
    }
    if (cx.n == 1 || slices[c].bytes == 0) continue;
    const std::uint64_t chunk = tree_chunk(proto);
    const std::uint64_t want =
        cx.opt.chunks > 0 ? static_cast<std::uint64_t>(cx.opt.chunks) : (slices[c].bytes + chunk - 1) / chunk;
    const std::uint64_t pieces =
        std::clamp<std::uint64_t>(want, 1, std::min<std::uint64_t>(kMaxChunks, slices[c].bytes / cx.elem));
    tree_reduce_broadcast(cx, rank_tree(layout, c, channels),
                          split_elements(slices[c].offset, slices[c].bytes / cx.elem, pieces, cx.elem),
                          entry);
  }
}

// The tree in rounds: every edge of every channel's tree carries its channel's slice up and down at
// once (the pipeline's steady state), then the pipeline's fill: a piece up and down the deepest path,
// 2 (local ranks - 1) hops inside hosts and 2 log2(hosts) across.
RoundPlan all_reduce_nccl_tree_rounds(const RoundContext& rc) {
  const HostLayout layout = host_layout(rc.group, "nccl-tree");
  const nccl::Proto proto = protocol_of(rc.opt);
  const std::uint64_t bytes = rc.count * rc.elem;
  const std::int32_t channels = plan_channels(nccl::Algo::tree, rc.opt, layout, rc.n, bytes, rc.elem);
  const auto hosts = static_cast<std::int32_t>(layout.hosts.size());
  RoundPlan rp;
  rp.protocol = nccl::protocol_costs(nccl::Algo::tree, proto, hosts);
  rp.protocol.channel_rate = rc.opt.channel_rate;
  rp.channels = channels;
  // Each channel copies its own slice, all at once (as the plan does).
  rp.phases.push_back({{}, 0, bytes / static_cast<std::uint64_t>(channels), 1});
  if (rc.n == 1) return rp;
  const auto slices = split_elements(0, rc.count, static_cast<std::uint64_t>(channels), rc.elem);
  std::vector<Flow> flows;
  for (std::int32_t c = 0; c < channels; ++c) {
    const auto parent = rank_tree(layout, c, channels);
    for (std::int32_t r = 0; r < rc.n; ++r) {
      if (parent[r] < 0) continue;
      flows.push_back({r, parent[r], slices[c].bytes});
      flows.push_back({parent[r], r, slices[c].bytes});
    }
  }
  rp.phases.push_back({std::move(flows), bytes, 0, 1});
  const std::uint64_t piece =
      std::min<std::uint64_t>(tree_chunk(proto), std::max<std::uint64_t>(rc.elem, slices[0].bytes));
  const std::int32_t g = layout.ranks_per_host();
  if (g > 1)
    rp.phases.push_back(
        {{{layout.hosts[0][1], layout.hosts[0][0], piece}}, 0, 0, 2u * static_cast<std::uint64_t>(g - 1)});
  const int depth = nccl::log2_floor(static_cast<std::uint64_t>(hosts));
  if (hosts > 1) {
    rp.phases.push_back(
        {{{layout.hosts[1][0], layout.hosts[0][0], piece}}, 0, 0, 2u * static_cast<std::uint64_t>(depth)});
  }
  return rp;
}

}  // namespace fabtwin::coll::detail
