// NCCL's NVLS and NVLSTree all-reduce. The NVSwitch reduces what every GPU of its host sends for a
// slice and hands the sum to the slice's head (multimem.ld_reduce), which multicasts it back through
// the switch (multimem.st). NVLSTree gives each NIC a head and joins the hosts' heads of a slice in
// NCCL's double binary tree (channel parity picks the tree). The switch is a reducer participant of
// the plan, one per host, channel and slice.
#include <algorithm>
#include <stdexcept>

#include "kit.hpp"
#include "nccl_layout.hpp"

namespace fabtwin::coll::detail {

namespace {

// transport/nvls.cc: NVLS moves 128 KiB chunks (NCCL_NVLS_CHUNKSIZE), 16 channels on Hopper.
constexpr std::uint64_t kNvlsChunk = 128 * 1024;
constexpr std::int32_t kNvlsChannels = 16;
constexpr std::size_t kWindow = 2;

struct Nvls {
  Context& cx;
  const HostLayout& layout;
  std::vector<std::int32_t> head_local;  // per slice: the local index of its head
  bool across_hosts;

  std::int32_t rank(std::size_t host, std::int32_t local) const { return layout.hosts[host][local]; }

  // One piece of one slice on every host: reduce in the switches, join the heads, multicast back.
  // `gate[h][i]` holds back what local rank i of host h sends; returns, per rank, the step after which
  // it has the piece's result.
  std::vector<std::vector<StepIndex>> piece(const Span& p, std::size_t slice,
                                            const std::vector<std::int32_t>& reducers, const TreeShape* tree,
                                            const std::vector<std::vector<Deps>>& gate) {
    const std::size_t hosts = layout.hosts.size();
    const std::int32_t g = layout.ranks_per_host();
    std::vector<Deps> ready(hosts);
    std::vector<std::vector<StepIndex>> sent(hosts, std::vector<StepIndex>(g));
    for (std::size_t h = 0; h < hosts; ++h) {
      const std::int32_t sw = reducers[h];
      const Region acc = cx.b.scratch(sw, p.bytes);
      StepIndex last = 0;
      for (std::int32_t i = 0; i < g; ++i) {
        const Region landing = i == 0 ? acc : cx.b.scratch(sw, p.bytes);
        const auto t = cx.b.transfer(rank(h, i), in_region(p), gate[h][i], sw, landing, {});
        sent[h][i] = t.send;
        last = i == 0 ? t.recv : cx.b.reduce(sw, acc, landing, {t.recv, last});
      }
      const std::int32_t head = head_local[slice];
      // In place the head's output is its input: the sum lands once its own contribution has left.
      const auto t = cx.b.transfer(sw, acc, {last}, rank(h, head), out_region(p), {sent[h][head]});
      ready[h] = {t.recv};
    }
    if (tree != nullptr) ready = join_heads(p, slice, *tree, ready);
    std::vector<std::vector<StepIndex>> done(hosts, std::vector<StepIndex>(g));
    for (std::size_t h = 0; h < hosts; ++h) {
      const std::int32_t sw = reducers[h];
      const std::int32_t head = head_local[slice];
      const Region landing = cx.b.scratch(sw, p.bytes);
      const auto up = cx.b.transfer(rank(h, head), out_region(p), ready[h], sw, landing, {});
      done[h][head] = up.send;
      for (std::int32_t i = 0; i < g; ++i) {
        if (i != head)
          done[h][i] = cx.b.transfer(sw, landing, {up.recv}, rank(h, i), out_region(p), {sent[h][i]}).recv;
      }
    }
    return done;
  }

  // The heads of one slice across hosts: partial sums up the tree, the total back down.
  std::vector<Deps> join_heads(const Span& p, std::size_t slice, const TreeShape& tree,
                               std::vector<Deps> up) {
    const std::int32_t head = head_local[slice];
    std::vector<StepIndex> up_send(layout.hosts.size(), 0);
    for (auto it = tree.order.rbegin(); it != tree.order.rend(); ++it) {
      const std::int32_t h = *it, parent = tree.parent[h];
      if (parent < 0) continue;
      const std::int32_t to = rank(parent, head);
      const Region landing = cx.b.scratch(to, p.bytes);
      const auto t = cx.b.transfer(rank(h, head), out_region(p), up[h], to, landing, {});
      up_send[h] = t.send;
      up[parent] = {cx.b.reduce(to, out_region(p), landing, join({t.recv}, up[parent]))};
    }
    std::vector<Deps> total(layout.hosts.size());
    for (std::int32_t h : tree.order) {
      if (tree.parent[h] < 0) total[h] = up[h];
      for (std::int32_t c : tree.children[h]) {
        const auto t = cx.b.transfer(rank(h, head), out_region(p), total[h], rank(c, head), out_region(p),
                                     join({up_send[c]}, up[c]));
        total[c] = {t.recv};
      }
    }
    return total;
  }
};

void build_nvls(Context& cx, bool across_hosts) {
  const char* name = across_hosts ? "nvls-tree" : "nvls";
  const HostLayout layout = host_layout(cx.group, name);
  const auto hosts = static_cast<std::int32_t>(layout.hosts.size());
  if (!across_hosts && hosts > 1) {
    throw std::invalid_argument("nvls reduces in one host's NVSwitch; across " + std::to_string(hosts) +
                                " hosts use nvls-tree");
  }
  if (across_hosts && hosts < 2)
    throw std::invalid_argument("nvls-tree joins hosts; inside one host use nvls");
  if (protocol_of(cx.opt) != nccl::Proto::simple) {
    throw std::invalid_argument(std::string(name) +
                                " runs NCCL's Simple protocol only (--proto simple or auto)");
  }
  Nvls nv{cx, layout, {}, across_hosts};
  if (across_hosts) {
    for (const auto& locals : layout.locals_of_nic) nv.head_local.push_back(locals.front());
  } else {
    for (std::int32_t i = 0; i < layout.ranks_per_host(); ++i) nv.head_local.push_back(i);
  }
  const std::uint64_t count = total_bytes(cx) / cx.elem;
  const std::uint64_t heads = nv.head_local.size();
  const auto channels = static_cast<std::int32_t>(std::clamp<std::uint64_t>(
      cx.opt.channels > 0 ? cx.opt.channels : kNvlsChannels, 1, std::max<std::uint64_t>(1, count / heads)));
  Plan& plan = cx.b.plan();
  plan.protocol = nccl::protocol_costs(across_hosts ? nccl::Algo::nvls_tree : nccl::Algo::nvls,
                                       nccl::Proto::simple, hosts);
  plan.channels = channels;
  const auto slices = split_elements(0, count, static_cast<std::uint64_t>(channels), cx.elem);
  for (std::int32_t c = 0; c < channels; ++c) {
    const TreeShape tree = across_hosts ? tree_shape(btree_parents(hosts, c % 2)) : TreeShape{};
    const auto per_head = split_elements(slices[c].offset, slices[c].bytes / cx.elem, heads, cx.elem);
    for (std::size_t j = 0; j < heads; ++j) {
      if (per_head[j].bytes == 0) continue;
      // The switch's work on one slice of one channel is a reducer of its own, so that no participant
      // holds more steps than the validator orders.
      std::vector<std::int32_t> reducers;
      for (const auto& ranks : layout.hosts)
        reducers.push_back(cx.b.add_reducer(cx.group.host_of(ranks.front())));
      const std::uint64_t chunks = cx.opt.chunks > 0 ? static_cast<std::uint64_t>(cx.opt.chunks)
                                                     : (per_head[j].bytes + kNvlsChunk - 1) / kNvlsChunk;
      const std::uint64_t n = std::clamp<std::uint64_t>(
          chunks, 1, std::min<std::uint64_t>(kMaxChunks, per_head[j].bytes / cx.elem));
      // NCCL's warps load-reduce and store one chunk after another: a rank starts a piece once it has
      // the result of the one kWindow pieces earlier.
      std::vector<std::vector<std::vector<StepIndex>>> done;
      const std::vector<std::vector<Deps>> open(layout.hosts.size(),
                                                std::vector<Deps>(layout.ranks_per_host()));
      for (const Span& p : split_elements(per_head[j].offset, per_head[j].bytes / cx.elem, n, cx.elem)) {
        std::vector<std::vector<Deps>> gate = open;
        if (done.size() >= kWindow) {
          for (std::size_t h = 0; h < gate.size(); ++h) {
            for (std::size_t i = 0; i < gate[h].size(); ++i) gate[h][i] = {done[done.size() - kWindow][h][i]};
          }
        }
        done.push_back(nv.piece(p, j, reducers, across_hosts ? &tree : nullptr, gate));
      }
    }
  }
}

// NVLS in rounds: one reducer per host; every GPU's whole buffer up to it and the sums back (the
// pipeline's steady state, all at once), the heads' slices up and multicast, the heads' trees across
// hosts with half of each slice on either tree; then a piece across the tree's depth.
RoundPlan nvls_rounds(const RoundContext& rc, bool across_hosts) {
  const HostLayout layout = host_layout(rc.group, across_hosts ? "nvls-tree" : "nvls");
  const auto hosts = static_cast<std::int32_t>(layout.hosts.size());
  if (across_hosts != (hosts > 1)) {
    throw std::invalid_argument(across_hosts
                                    ? "nvls-tree joins hosts; inside one host use nvls"
                                    : "nvls reduces in one host's NVSwitch; across hosts use nvls-tree");
  }
  const std::uint64_t bytes = rc.count * rc.elem;
  const std::int32_t g = layout.ranks_per_host();
  std::vector<std::int32_t> head_local;
  if (across_hosts) {
    for (const auto& locals : layout.locals_of_nic) head_local.push_back(locals.front());
  } else {
    for (std::int32_t i = 0; i < g; ++i) head_local.push_back(i);
  }
  const std::uint64_t slice = bytes / head_local.size();
  RoundPlan rp;
  rp.protocol = nccl::protocol_costs(across_hosts ? nccl::Algo::nvls_tree : nccl::Algo::nvls,
                                     nccl::Proto::simple, hosts);
  rp.channels = rc.opt.channels > 0 ? rc.opt.channels : kNvlsChannels;
  std::vector<Flow> flows;
  for (std::int32_t h = 0; h < hosts; ++h) {
    const std::int32_t sw = rc.n + h;
    rp.reducers.push_back({rc.group.host_of(layout.hosts[h].front())});
    for (std::int32_t i = 0; i < g; ++i) {
      const bool head = std::find(head_local.begin(), head_local.end(), i) != head_local.end();
      flows.push_back({layout.hosts[h][i], sw, bytes + (head ? slice : 0)});
      flows.push_back({sw, layout.hosts[h][i], bytes});
    }
  }
  if (across_hosts) {
    for (int which = 0; which < 2; ++which) {
      const auto parent = btree_parents(hosts, which);
      for (std::int32_t h = 0; h < hosts; ++h) {
        if (parent[h] < 0) continue;
        for (std::int32_t local : head_local) {
          flows.push_back({layout.hosts[h][local], layout.hosts[parent[h]][local], slice / 2});
          flows.push_back({layout.hosts[parent[h]][local], layout.hosts[h][local], slice / 2});
        }
      }
    }
  }
  rp.phases.push_back({std::move(flows), across_hosts ? slice : 0, 0, 1});
  if (across_hosts) {
    const int depth = nccl::log2_floor(static_cast<std::uint64_t>(hosts));
    const std::uint64_t piece = std::min<std::uint64_t>(kNvlsChunk, std::max<std::uint64_t>(rc.elem, slice));
    rp.phases.push_back({{{layout.hosts[1][head_local[0]], layout.hosts[0][head_local[0]], piece}},
                         0,
                         0,
                         2u * static_cast<std::uint64_t>(depth)});
  }
  return rp;
}

}  // namespace

RoundPlan all_reduce_nvls_rounds(const RoundContext& rc) {
  return nvls_rounds(rc, false);
}

RoundPlan all_reduce_nvls_tree_rounds(const RoundContext& rc) {
  return nvls_rounds(rc, true);
}

void allreduce_nvls(Context& cx) {
  build_nvls(cx, false);
}

void allreduce_nvls_tree(Context& cx) {
  build_nvls(cx, true);
}

}  // namespace fabtwin::coll::detail
