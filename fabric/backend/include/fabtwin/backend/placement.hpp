// Where a plan's participants sit on the topology: ranks at their GPU as the topology places them,
// in-network reducers at the NVSwitch of their host. Every timed backend routes and charges by this.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "fabtwin/coll/plan.hpp"
#include "fabtwin/topo/routing.hpp"

namespace fabtwin::backend {

class Placement {
 public:
  // Throws std::invalid_argument when the topology cannot hold the plan: more ranks than it places,
  // or a reducer on a host whose NVSwitch does not reduce (or that has none).
  Placement(const coll::Plan& plan, const topo::Router& router);

  std::int32_t host(std::int32_t participant) const;
  bool is_reducer(std::int32_t participant) const { return plan_->reducer(participant) != nullptr; }
  // The links from one participant to another: the router's rank path between ranks, the GPU's NVLink
  // to or from its host's NVSwitch for a reducer.
  topo::Path path(std::int32_t from, std::int32_t to, std::uint64_t flow, std::uint64_t seed) const;
  // The fraction of a link's rate a transfer reaches: the NVSwitch's for transfers to or from a
  // reducer (its GPUs' NVLS efficiency), 1 otherwise.
  double efficiency(std::int32_t from, std::int32_t to) const {
    return is_reducer(from) || is_reducer(to) ? nvls_efficiency_ : 1.0;
  }
  const topo::Topology& topology() const { return router_->topology(); }
  // Whether a transfer leaves its host (the protocol's network latency applies).
  bool crosses_hosts(std::int32_t from, std::int32_t to) const { return host(from) != host(to); }

 private:
  const coll::Plan* plan_;
  const topo::Router* router_;
  std::unordered_map<std::int32_t, topo::NodeId> nvswitch_of_host_;
  std::unordered_map<topo::NodeId, topo::LinkId> nvlink_of_gpu_;  // GPU -> its link to the NVSwitch
  double nvls_efficiency_ = 1.0;
};

}  // namespace fabtwin::backend
