// Turning command-line choices into the group and rank count a plan is built for.
#pragma once

#include <cstdint>

#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/topo/topology.hpp"

namespace fabtwin::cli {

// `requested` 0 means every rank the topology places (or `fallback` without one). More ranks than
// the topology places is an error naming both numbers.
std::int32_t resolve_ranks(std::int32_t requested, const topo::Topology* topology, std::int32_t fallback);
// The first `ranks` ranks of the topology, or a synthetic group when there is none.
coll::Group make_group(std::int32_t ranks, const topo::Topology* topology, std::int32_t ranks_per_host);

}  // namespace fabtwin::cli
