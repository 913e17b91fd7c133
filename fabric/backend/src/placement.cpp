#include "fabtwin/backend/placement.hpp"

#include <stdexcept>
#include <string>

#include "fabtwin/backend/rendezvous.hpp"
#include "fabtwin/topo/node.hpp"

namespace fabtwin::backend {

Placement::Placement(const coll::Plan& plan, const topo::Router& router) : plan_(&plan), router_(&router) {
  const topo::Topology& t = router.topology();
  check_plan_fits(plan, t);
  if (plan.reducers.empty()) return;
  for (const topo::Node& n : t.nodes) {
    if (n.kind == topo::NodeKind::nvswitch) nvswitch_of_host_[n.host] = n.id;
  }
  for (const topo::Link& l : t.links) {
    if (t.nodes[l.a].kind == topo::NodeKind::gpu && t.nodes[l.b].kind == topo::NodeKind::nvswitch) {
      nvlink_of_gpu_[l.a] = l.id;
    } else if (t.nodes[l.b].kind == topo::NodeKind::gpu && t.nodes[l.a].kind == topo::NodeKind::nvswitch) {
      nvlink_of_gpu_[l.b] = l.id;
    }
  }
  const topo::GpuModel* gpu = topo::gpu_model_of(t);
  if (gpu == nullptr || !gpu->nvls) {
    throw std::invalid_argument(
        "the plan reduces in the NVSwitch (NVLS), but topology " + t.name + "'s GPUs (" +
        (t.gpu.empty() ? std::string("not said") : t.gpu) +
        ") have no NVSwitch that reduces: give a Hopper or later node (gpu=h100, node=dgx-h100) or use an "
        "algorithm without in-network reduction");
  }
  nvls_efficiency_ = gpu->nvls_efficiency;
  for (const auto& r : plan.reducers) {
    if (!nvswitch_of_host_.count(r.host)) {
      throw std::invalid_argument("the plan reduces in host " + std::to_string(r.host) +
                                  "'s NVSwitch, but topology " + t.name + " has none on that host");
    }
  }
}

std::int32_t Placement::host(std::int32_t participant) const {
  if (const coll::InNetworkReducer* r = plan_->reducer(participant)) return r->host;
  return router_->topology().host_of_rank(participant);
}

topo::Path Placement::path(std::int32_t from, std::int32_t to, std::uint64_t flow, std::uint64_t seed) const {
  const bool from_reducer = is_reducer(from), to_reducer = is_reducer(to);
  if (!from_reducer && !to_reducer) return router_->rank_path(from, to, flow, seed);
  if (from_reducer && to_reducer) throw std::invalid_argument("a transfer between two in-network reducers");
  const std::int32_t rank = from_reducer ? to : from;
  const topo::Topology& t = router_->topology();
  const topo::NodeId gpu = t.ranks.at(rank).gpu;
  const auto link = nvlink_of_gpu_.find(gpu);
  if (link == nvlink_of_gpu_.end() || t.nodes[gpu].host != host(from_reducer ? from : to)) {
    throw std::invalid_argument("rank " + std::to_string(rank) + " has no NVLink to the NVSwitch of host " +
                                std::to_string(host(from_reducer ? from : to)) + " in topology " + t.name);
  }
  // Forward is from the link's end a; the GPU end goes up to the switch.
  const bool gpu_is_a = t.links[link->second].a == gpu;
  return {{link->second, from_reducer ? !gpu_is_a : gpu_is_a}};
}

}  // namespace fabtwin::backend
