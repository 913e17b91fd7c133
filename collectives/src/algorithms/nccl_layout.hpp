// How NCCL lays its rings over hosts and NICs (graph/search.cc, graph/connect.cc): shared by the ring
// plan, its round form and the tree. Internal to the algorithm library.
#pragma once

#include <cstdint>
#include <vector>

#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/coll/nccl.hpp"

namespace fabtwin::coll::detail {

// The group seen as NCCL sees it: hosts in order of their first rank, each host's ranks in rank
// order, and which local ranks send through each of the host's NICs.
struct HostLayout {
  std::vector<std::vector<std::int32_t>> hosts;  // global ranks per host, in local order
  std::int32_t nics = 1;                         // NICs per host
  std::vector<std::vector<std::int32_t>> locals_of_nic;  // [nic] -> local indices using it
  std::int32_t ranks_per_host() const { return static_cast<std::int32_t>(hosts.front().size()); }
};

// Throws std::invalid_argument when hosts hold different numbers of ranks or use NICs differently
// (NCCL's rings assume every host alike).
HostLayout host_layout(const Group& group, const char* algorithm);

// The ring order (global ranks) of every channel: through every local GPU over NVLink, entering each
// host at the GPU of one NIC and leaving at another's, channel pairs swapped on odd hosts so that every
// host-to-host hop stays on one rail.
std::vector<std::vector<std::int32_t>> nccl_ring_orders(const HostLayout& layout, std::int32_t channels);

// The protocol named in the options (Simple when empty); throws std::invalid_argument otherwise.
nccl::Proto protocol_of(const AlgoOptions& opt);

// The channels a plan of `bytes` runs: the options' count, or NCCL's for the host's NICs and the size;
// never more than there are elements for every rank of every channel to hold one.
std::int32_t plan_channels(nccl::Algo algo, const AlgoOptions& opt, const HostLayout& layout,
                           std::int32_t ranks, std::uint64_t bytes, std::uint64_t elem);

}  // namespace fabtwin::coll::detail
