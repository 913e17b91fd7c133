// NCCL's ring all-reduce: the buffer split across channels, each a rail-aligned ring (nccl_layout),
// pipelined in the protocol's steps.
#include <algorithm>

#include "kit.hpp"
#include "nccl_layout.hpp"

namespace fabtwin::coll::detail {

namespace {

// Ring all-reduce moves ALLREDUCE_CHUNKSTEPS (NCCL_STEPS / 2) steps per chunk with Simple, one with
// LL and LL128 (src/device/all_reduce.h).
std::uint64_t chunk_bytes(nccl::Proto p) {
  const std::uint64_t step = nccl::info(p).step_bytes;
  return p == nccl::Proto::simple ? 4 * step : step;
}

std::int32_t ring_chunks(const AlgoOptions& opt, nccl::Proto p, std::uint64_t segment, std::uint64_t elem) {
  if (opt.chunks > 0) {
    return static_cast<std::int32_t>(
        std::clamp<std::uint64_t>(segment / elem, 1, static_cast<std::uint64_t>(opt.chunks)));
  }
  const std::uint64_t c = (segment + chunk_bytes(p) - 1) / chunk_bytes(p);
  return static_cast<std::int32_t>(std::clamp<std::uint64_t>(
      c, 1, std::max<std::uint64_t>(1, std::min<std::uint64_t>(kMaxChunks, segment / elem))));
}

// How many rounds a connection holds ahead: NCCL_STEPS slots of one protocol step each, a round of
// `piece` bytes taking as many slots as it has steps.
std::size_t slots_ahead(nccl::Proto p, std::uint64_t piece) {
  const std::uint64_t step = nccl::info(p).step_bytes;
  const std::uint64_t steps = std::clamp<std::uint64_t>((piece + step - 1) / step, 1, nccl::kSteps);
  return static_cast<std::size_t>(nccl::kSteps / steps);
}

struct RingSetup {
  nccl::Proto proto;
  std::vector<std::vector<std::int32_t>> orders;
  std::vector<Span> slices;  // one per channel
};

RingSetup ring_setup(const Group& group, const AlgoOptions& opt, std::int32_t n, std::uint64_t count,
                     std::uint64_t elem) {
  const HostLayout layout = host_layout(group, "nccl-ring");
  RingSetup s;
  s.proto = protocol_of(opt);
  const std::int32_t channels = plan_channels(nccl::Algo::ring, opt, layout, n, count * elem, elem);
  s.orders = nccl_ring_orders(layout, channels);
  s.slices = split_elements(0, count, channels, elem);
  return s;
}

Protocol ring_protocol(nccl::Proto p, const Group& group, const AlgoOptions& opt) {
  Protocol out = nccl::protocol_costs(
      nccl::Algo::ring, p, static_cast<std::int32_t>(host_layout(group, "nccl-ring").hosts.size()));
  out.channel_rate = opt.channel_rate;
  return out;
}

}  // namespace

void allreduce_nccl_ring(Context& cx) {
  const std::uint64_t bytes = total_bytes(cx);
  const RingSetup s = ring_setup(cx.group, cx.opt, cx.n, bytes / cx.elem, cx.elem);
  Plan& plan = cx.b.plan();
  plan.protocol = ring_protocol(s.proto, cx.group, cx.opt);
  plan.channels = static_cast<std::int32_t>(s.orders.size());
  for (std::size_t c = 0; c < s.orders.size(); ++c) {
    // NCCL reads the input in its first step; each channel copying its own slice is the nearest a plan
    // that reduces in place comes, without a whole-buffer copy before any transfer starts.
    std::vector<Deps> entry(cx.n);
    for (std::int32_t r = 0; r < cx.n; ++r) {
      entry[r] = {cx.b.copy(r, in_region(s.slices[c]), out_region(s.slices[c]), {})};
    }
    const auto segs = split_elements(s.slices[c].offset, s.slices[c].bytes / cx.elem, cx.n, cx.elem);
    const std::int32_t chunks = ring_chunks(cx.opt, s.proto, segs.front().bytes, cx.elem);
    const std::size_t window = slots_ahead(s.proto, segs.front().bytes / static_cast<std::uint64_t>(chunks));
    // The ring primitives index entry by position in the ring.
    std::vector<Deps> by_position(cx.n);
    for (std::int32_t i = 0; i < cx.n; ++i) by_position[i] = entry[s.orders[c][i]];
    const auto rs =
        ring_reduce_scatter(cx.b, s.orders[c], BufferKind::output, segs, chunks, by_position, window);
    ring_all_gather(cx.b, s.orders[c], BufferKind::output, segs, chunks, rs, window);
  }
}

// Every channel's ring in lock-step: n-1 reduce-scatter rounds and n-1 all-gather rounds, each with
// every channel's flows at once.
RoundPlan all_reduce_nccl_ring_rounds(const RoundContext& rc) {
  const RingSetup s = ring_setup(rc.group, rc.opt, rc.n, rc.count, rc.elem);
  RoundPlan rp;
  rp.protocol = ring_protocol(s.proto, rc.group, rc.opt);
  rp.channels = static_cast<std::int32_t>(s.orders.size());
  // Each channel copies its own slice, all at once (as the plan does).
  rp.phases.push_back({{}, 0, s.slices.empty() ? 0 : s.slices.front().bytes, 1});
  if (rc.n == 1) return rp;
  const auto n = static_cast<std::uint64_t>(rc.n);
  std::vector<Flow> flows;
  std::uint64_t reduced = 0;
  for (std::size_t c = 0; c < s.orders.size(); ++c) {
    const std::uint64_t segment = ((s.slices[c].bytes / rc.elem + n - 1) / n) * rc.elem;
    reduced += segment;
    for (std::int32_t i = 0; i < rc.n; ++i)
      flows.push_back({s.orders[c][i], s.orders[c][(i + 1) % rc.n], segment});
  }
  // A round moves one segment per channel, chunk by chunk, so its reductions overlap its transfers;
  // the connection's slots hold as many rounds as fit (at least two: the next round's first chunk
  // starts as this round's last one lands).
  const std::size_t window =
      std::max<std::size_t>(2, slots_ahead(s.proto, flows.empty() ? 0 : flows.front().bytes));
  rp.phases.push_back({flows, reduced, 0, n - 1, window});
  rp.phases.push_back({std::move(flows), 0, 0, n - 1, window});
  return rp;
}

}  // namespace fabtwin::coll::detail
