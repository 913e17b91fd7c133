#include "nccl_layout.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>

namespace fabtwin::coll::detail {

HostLayout host_layout(const Group& group, const char* algorithm) {
  HostLayout layout;
  std::map<std::int32_t, std::size_t> index_of_host;
  std::vector<std::vector<std::int32_t>> nic_of_local;
  for (std::int32_t r = 0; r < group.ranks; ++r) {
    const auto [it, fresh] = index_of_host.emplace(group.host_of(r), layout.hosts.size());
    if (fresh) {
      layout.hosts.emplace_back();
      nic_of_local.emplace_back();
    }
    const std::int32_t local = static_cast<std::int32_t>(layout.hosts[it->second].size());
    layout.hosts[it->second].push_back(r);
    nic_of_local[it->second].push_back(group.nic_of_rank.empty() ? local : group.nic_of_rank[r]);
  }
  for (std::size_t h = 1; h < layout.hosts.size(); ++h) {
    if (nic_of_local[h] != nic_of_local[0]) {
      throw std::invalid_argument(
          std::string(algorithm) + " needs every host alike: host of rank " +
          std::to_string(layout.hosts[h].front()) + " has " + std::to_string(layout.hosts[h].size()) +
          " ranks or NICs placed unlike the " + std::to_string(layout.hosts[0].size()) +
          " of rank 0's host " + "(use the same ranks per host, or a textbook algorithm)");
    }
  }
  // NIC indices as the host numbers them, renumbered densely in order of first use.
  std::map<std::int32_t, std::int32_t> dense;
  for (std::int32_t nic : nic_of_local[0]) dense.emplace(nic, static_cast<std::int32_t>(dense.size()));
  layout.nics = static_cast<std::int32_t>(dense.size());
  layout.locals_of_nic.assign(layout.nics, {});
  for (std::size_t local = 0; local < nic_of_local[0].size(); ++local) {
    layout.locals_of_nic[dense[nic_of_local[0][local]]].push_back(static_cast<std::int32_t>(local));
  }
  return layout;
}

namespace {

// Local GPUs from `entry` to `exit`, each once, downwards around the host as NCCL's rings run
// (entry 2, exit 3: 2 1 0 7 6 5 4 3), upwards when the exit is the entry's lower neighbour.
std::vector<std::int32_t> local_order(std::int32_t g, std::int32_t entry, std::int32_t exit) {
  std::vector<std::int32_t> order{entry};
  const std::int32_t step = (entry - 1 + g) % g == exit && g > 2 ? 1 : g - 1;
  for (std::int32_t i = (entry + step) % g; i != entry; i = (i + step) % g) {
    if (i != exit) order.push_back(i);
  }
  if (exit != entry) order.push_back(exit);
  return order;
}

}  // namespace

std::vector<std::vector<std::int32_t>> nccl_ring_orders(const HostLayout& layout, std::int32_t channels) {
  const std::int32_t g = layout.ranks_per_host();
  const std::int32_t k = layout.nics;
  // ncclTopoPostset duplicates the search channels: channel c runs search channel c % search.
  const std::int32_t search = channels >= 2 ? channels / 2 : 1;
  std::vector<std::vector<std::int32_t>> orders;
  for (std::int32_t c = 0; c < channels; ++c) {
    const std::int32_t s = c % search;
    // Search channels come in pairs over two NICs, n -> m then m -> n (NCCL_CROSS_NIC=2).
    const std::int32_t n = (2 * (s / 2)) % k;
    const std::int32_t m = (2 * (s / 2) + 1) % k;
    const std::int32_t in_nic = s % 2 == 0 ? n : m;
    const std::int32_t out_nic = s % 2 == 0 ? m : n;
    std::vector<std::int32_t> ring;
    for (std::size_t h = 0; h < layout.hosts.size(); ++h) {
      // Odd hosts swap the pair, so the hop out of host h lands on the same NIC index (rail).
      const bool odd = h % 2 == 1;
      const auto& enter_gpus = layout.locals_of_nic[odd ? out_nic : in_nic];
      const auto& leave_gpus = layout.locals_of_nic[odd ? in_nic : out_nic];
      const std::int32_t entry = enter_gpus.front();
      const std::int32_t exit = leave_gpus.front() == entry ? leave_gpus.back() : leave_gpus.front();
      for (std::int32_t local : local_order(g, entry, exit)) ring.push_back(layout.hosts[h][local]);
    }
    orders.push_back(std::move(ring));
  }
  return orders;
}

nccl::Proto protocol_of(const AlgoOptions& opt) {
  if (opt.protocol.empty()) return nccl::Proto::simple;
  if (const auto p = nccl::proto_from_string(opt.protocol)) return *p;
  throw std::invalid_argument("unknown protocol \"" + opt.protocol + "\" (accepted: simple, ll, ll128)");
}

std::int32_t plan_channels(nccl::Algo algo, const AlgoOptions& opt, const HostLayout& layout,
                           std::int32_t ranks, std::uint64_t bytes, std::uint64_t elem) {
  std::int32_t c = opt.channels;
  // With the channels given (by the tuner, or --channels), NCCL still runs fewer for a small call.
  if (c > 0) c = nccl::channels_for_size(algo, protocol_of(opt), c, bytes, ranks);
  if (c <= 0) {
    const std::int32_t derived =
        nccl::bounded_channels(nccl::default_channels(layout.nics), opt.min_channels, opt.max_channels);
    c = nccl::channels_for_size(algo, protocol_of(opt), derived, bytes, ranks);
  }
  const std::uint64_t per_channel = std::max<std::uint64_t>(1, bytes / elem / std::max(1, ranks));
  return static_cast<std::int32_t>(std::min<std::uint64_t>(c, per_channel));
}

}  // namespace fabtwin::coll::detail
