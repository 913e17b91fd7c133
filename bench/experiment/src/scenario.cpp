#include <stdexcept>
#include <string>

#include "fabtwin/experiment/experiment.hpp"

namespace fabtwin::experiment {

const char* to_string(BackendKind b) {
  switch (b) {
    case BackendKind::packet:
      return "packet";
    case BackendKind::flow:
      return "flow";
    case BackendKind::analytic:
      break;
  }
  return "analytic";
}

BackendKind backend_from_string(const std::string& name) {
  if (name == "analytic") return BackendKind::analytic;
  if (name == "packet") return BackendKind::packet;
  if (name == "flow") return BackendKind::flow;
  throw std::invalid_argument("unknown backend \"" + name + "\" (known: analytic, packet, flow)");
}

std::int32_t resolve_ranks(std::int32_t requested, const topo::Topology* topology, std::int32_t fallback) {
  if (topology == nullptr) return requested > 0 ? requested : fallback;
  if (requested > topology->rank_count()) {
    throw std::invalid_argument("--ranks " + std::to_string(requested) + " is more than the " +
                                std::to_string(topology->rank_count()) + " ranks topology " + topology->name +
                                " places (use a larger topology or fewer ranks)");
  }
  return requested > 0 ? requested : topology->rank_count();
}

coll::Group make_group(std::int32_t ranks, const topo::Topology* topology, std::int32_t ranks_per_host) {
  if (topology != nullptr) {
    coll::Group g = coll::Group::from_topology(*topology);
    g.ranks = ranks;
    g.host_of_rank.resize(ranks);
    g.nic_of_rank.resize(ranks);
    return g;
  }
  return ranks_per_host > 0 ? coll::Group::uniform(ranks, ranks_per_host) : coll::Group::flat(ranks);
}

}  // namespace fabtwin::experiment
