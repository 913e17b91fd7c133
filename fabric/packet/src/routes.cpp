#include "routes.hpp"

#include <algorithm>

#include "fabtwin/hash.hpp"

namespace fabtwin::packet {

Routes::Routes(const topo::Topology& topology, const PacketConfig& config,
               const std::vector<ns3::Ptr<FabricDevice>>& devices)
    : topology_(topology), config_(config), devices_(devices) {
  failed_links_.assign(topology_.links.size(), false);
  spray_turn_.assign(topology_.nodes.size(), 0);
  rebuild_router();
}

void Routes::rebuild_router() {
  current_ = topology_;
  current_.links.clear();
  to_full_.clear();
  for (const auto& l : topology_.links) {
    if (failed_links_[l.id]) continue;
    topo::Link copy = l;
    copy.id = static_cast<topo::LinkId>(current_.links.size());
    to_full_.push_back(l.id);
    current_.links.push_back(copy);
  }
  router_ = std::make_unique<topo::Router>(current_);
}

void Routes::fail_link(topo::LinkId link) {
  failed_links_[link] = true;
  rebuild_router();
}

std::uint32_t Routes::add(std::int32_t src, std::int32_t dst) {
  Route r;
  try {
    r.hops = router_->rank_path(src, dst, topo::rank_pair_flow(src, dst), config_.seed);
  } catch (const std::exception& e) {
    throw SimulationFailed("no path from rank " + std::to_string(src) + " to rank " + std::to_string(dst) +
                           " over the links still up: " + e.what());
  }
  topo::NodeId at = topology_.ranks[src].gpu;
  for (auto& hop : r.hops) {
    hop.link = to_full_[hop.link];
    r.from.push_back(at);
    const auto& l = topology_.links[hop.link];
    at = hop.forward ? l.b : l.a;
    if (topology_.nodes[at].kind == topo::NodeKind::nic) r.exit_nic = at;
  }
  routes_.push_back(std::move(r));
  return static_cast<std::uint32_t>(routes_.size() - 1);
}

std::uint32_t Routes::reverse(std::uint32_t forward) {
  const Route& f = routes_[forward];
  Route r;
  for (auto it = f.hops.rbegin(); it != f.hops.rend(); ++it) {
    r.hops.push_back({it->link, !it->forward});
    const auto& l = topology_.links[it->link];
    r.from.push_back(it->forward ? l.b : l.a);
  }
  routes_.push_back(std::move(r));
  return static_cast<std::uint32_t>(routes_.size() - 1);
}

bool Routes::crosses(std::uint32_t route, topo::LinkId link) const {
  const auto& hops = routes_[route].hops;
  return std::any_of(hops.begin(), hops.end(), [&](const topo::Hop& h) { return h.link == link; });
}

std::string Routes::path_names(std::uint32_t route) const {
  std::string names;
  for (const auto& hop : routes_[route].hops) {
    const auto& l = topology_.links[hop.link];
    names += " " + topology_.nodes[hop.forward ? l.a : l.b].name;
  }
  return names;
}

FabricDevice* Routes::next_device(topo::NodeId at, const Frame& h) {
  const Route& r = routes_[h.route];
  if (h.type == FrameType::data && config_.routing != Routing::ecmp &&
      topology_.nodes[at].kind == topo::NodeKind::network_switch && r.exit_nic != UINT32_MAX) {
    return choose_port(at, h, router_->next_hops(at, r.exit_nic));
  }
  for (std::size_t i = 0; i < r.hops.size(); ++i) {
    if (r.from[i] == at) return device_for(r.hops[i]);
  }
  return nullptr;
}

FabricDevice* Routes::choose_port(topo::NodeId at, const Frame& h,
                                  const std::vector<topo::Adjacency::Edge>& candidates) {
  if (candidates.empty()) return nullptr;
  auto device = [&](const topo::Adjacency::Edge& e) {
    const topo::LinkId full = to_full_[e.link];
    return device_for({full, topology_.links[full].a == at});
  };
  if (candidates.size() == 1) return device(candidates.front());
  const std::uint64_t hash =
      splitmix64(config_.seed ^ splitmix64(h.qp * 0x100000001b3ull ^ h.psn) ^ (std::uint64_t(at) << 40));
  // Spraying deals a switch's packets to its equal-cost ports in turn, which evens their load exactly
  // where a random choice would leave binomial imbalance.
  if (config_.routing == Routing::spray) return device(candidates[spray_turn_[at]++ % candidates.size()]);
  // Adaptive: the least-occupied egress among the shortest-path ports; ties spread by the hash.
  FabricDevice* best = nullptr;
  std::uint64_t best_q = 0;
  for (std::size_t k = 0; k < candidates.size(); ++k) {
    FabricDevice* d = device(candidates[(hash + k) % candidates.size()]);
    const std::uint64_t q = d->queued_total();
    if (best == nullptr || q < best_q) {
      best = d;
      best_q = q;
    }
  }
  return best;
}

}  // namespace fabtwin::packet
