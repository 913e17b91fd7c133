#include "flow_routes.hpp"

#include <stdexcept>
#include <string>

#include "fabtwin/backend/errors.hpp"

namespace fabtwin::flow {

FlowRoutes::FlowRoutes(const coll::Plan& plan, const topo::Topology& topology, std::uint64_t seed)
    : plan_(plan), full_(topology), seed_(seed), failed_(topology.links.size(), false) {
  rebuild();
}

void FlowRoutes::rebuild() {
  current_ = full_;
  current_.links.clear();
  to_full_.clear();
  for (const auto& l : full_.links) {
    if (failed_[l.id]) continue;
    topo::Link copy = l;
    copy.id = static_cast<topo::LinkId>(current_.links.size());
    to_full_.push_back(l.id);
    current_.links.push_back(copy);
  }
  placement_.reset();
  router_ = std::make_unique<topo::Router>(current_);
  placement_ = std::make_unique<backend::Placement>(plan_, *router_);
}

void FlowRoutes::fail(topo::LinkId link) {
  failed_.at(link) = true;
  rebuild();
}

topo::Path FlowRoutes::current_path(std::int32_t from, std::int32_t to) const {
  try {
    return placement_->path(from, to, topo::rank_pair_flow(from, to), seed_);
  } catch (const std::exception& e) {
    throw backend::SimulationFailed("no path from participant " + std::to_string(from) + " to " +
                                    std::to_string(to) + " over the links still up: " + e.what());
  }
}

topo::Path FlowRoutes::path(std::int32_t from, std::int32_t to) const {
  topo::Path p = current_path(from, to);
  for (auto& hop : p) hop.link = to_full_[hop.link];
  return p;
}

topo::NodeId FlowRoutes::far_end(const topo::Hop& h) const {
  const topo::Link& l = current_.links[h.link];
  return h.forward ? l.b : l.a;
}

std::vector<SharedPath> FlowRoutes::variants(std::int32_t from, std::int32_t to) const {
  const topo::Path ecmp = current_path(from, to);
  // The stretch a switch may re-route: from the first network switch to the last NIC of the path.
  std::size_t first = ecmp.size(), exit = ecmp.size();
  topo::NodeId exit_nic = 0;
  for (std::size_t i = 0; i < ecmp.size(); ++i) {
    const topo::NodeId n = far_end(ecmp[i]);
    if (first == ecmp.size() && current_.nodes[n].kind == topo::NodeKind::network_switch) first = i;
    if (current_.nodes[n].kind == topo::NodeKind::nic && first != ecmp.size()) {
      exit = i;
      exit_nic = n;
    }
  }
  std::vector<SharedPath> out;
  if (exit == ecmp.size()) {
    out.push_back({ecmp, 1.0});
  } else {
    out.push_back({topo::Path(ecmp.begin(), ecmp.begin() + static_cast<std::ptrdiff_t>(first + 1)), 1.0});
    // Breadth-first over the switches: every open variant takes one more hop toward the exit NIC.
    for (bool open = true; open;) {
      open = false;
      std::vector<SharedPath> next;
      for (auto& v : out) {
        const topo::NodeId at = far_end(v.path.back());
        if (at == exit_nic) {
          next.push_back(std::move(v));
          continue;
        }
        open = true;
        const auto& hops = router_->next_hops(at, exit_nic);
        if (hops.empty()) throw backend::SimulationFailed("no equal-cost hop toward the exit NIC");
        const bool split = out.size() + next.size() + hops.size() <= kMaxVariants;
        for (std::size_t k = 0; k < (split ? hops.size() : 1); ++k) {
          const auto& e = split ? hops[k] : hops[(seed_ + at) % hops.size()];
          SharedPath w = v;
          w.path.push_back({e.link, current_.links[e.link].a == at});
          w.share = v.share / static_cast<double>(split ? hops.size() : 1);
          next.push_back(std::move(w));
        }
      }
      out = std::move(next);
    }
    for (auto& v : out)
      v.path.insert(v.path.end(), ecmp.begin() + static_cast<std::ptrdiff_t>(exit + 1), ecmp.end());
  }
  for (auto& v : out) {
    for (auto& hop : v.path) hop.link = to_full_[hop.link];
  }
  return out;
}

}  // namespace fabtwin::flow
