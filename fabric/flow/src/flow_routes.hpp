// The paths the flow model puts a transfer on, over the links still up: the rank pair's ECMP path, or
// every equal-cost variant with the share of the traffic that per-packet spraying would give it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "fabtwin/backend/placement.hpp"
#include "fabtwin/coll/plan.hpp"
#include "fabtwin/topo/routing.hpp"

namespace fabtwin::flow {

struct SharedPath {
  topo::Path path;  // link ids of the full topology
  double share = 1.0;
};

class FlowRoutes {
 public:
  // Throws std::invalid_argument when the topology cannot hold the plan (backend::Placement).
  FlowRoutes(const coll::Plan& plan, const topo::Topology& topology, std::uint64_t seed);
  // Its router points into its own topology copy: it stays where it was built.
  FlowRoutes(const FlowRoutes&) = delete;
  FlowRoutes& operator=(const FlowRoutes&) = delete;

  // The pair's ECMP path. Throws backend::SimulationFailed when failures left it without one.
  topo::Path path(std::int32_t from, std::int32_t to) const;
  // The equal-cost variants of that path, splitting evenly at every network switch over its next hops
  // toward the exit NIC, as a switch spraying packets in turn does; shares sum to 1. At most
  // kMaxVariants: past that, deeper switches keep the ECMP choice.
  std::vector<SharedPath> variants(std::int32_t from, std::int32_t to) const;
  static constexpr std::size_t kMaxVariants = 256;

  const backend::Placement& placement() const { return *placement_; }
  void fail(topo::LinkId link);
  bool failed(topo::LinkId link) const { return failed_[link]; }

 private:
  void rebuild();
  topo::Path current_path(std::int32_t from, std::int32_t to) const;  // ids of current_
  topo::NodeId far_end(const topo::Hop& h) const;

  const coll::Plan& plan_;
  const topo::Topology& full_;
  std::uint64_t seed_;
  std::vector<bool> failed_;
  // The topology without its failed links; its link ids map back to full_ through to_full_.
  topo::Topology current_;
  std::vector<topo::LinkId> to_full_;
  std::unique_ptr<topo::Router> router_;
  std::unique_ptr<backend::Placement> placement_;
};

}  // namespace fabtwin::flow
