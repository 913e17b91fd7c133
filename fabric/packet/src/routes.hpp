// Source routes of the queue pairs over the links still up, and the per-hop choice among equal-cost
// ports that spraying and adaptive routing make instead of following the source route.
#pragma once

#include <ns3/ptr.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fabric_device.hpp"
#include "fabtwin/packet/packet.hpp"
#include "fabtwin/topo/routing.hpp"

namespace fabtwin::packet {

struct Route {
  topo::Path hops;                 // link ids of the full topology
  std::vector<topo::NodeId> from;  // node each hop leaves
  topo::NodeId exit_nic = UINT32_MAX;
};

class Routes {
 public:
  // `devices` is indexed [2*link + (forward ? 0 : 1)] by the transmitting port; it may fill after this.
  Routes(const topo::Topology& topology, const PacketConfig& config,
         const std::vector<ns3::Ptr<FabricDevice>>& devices);

  // Throws SimulationFailed when the failed links leave no path.
  std::uint32_t add(std::int32_t src, std::int32_t dst);
  std::uint32_t reverse(std::uint32_t forward);
  const Route& route(std::uint32_t id) const { return routes_[id]; }
  bool crosses(std::uint32_t route, topo::LinkId link) const;
  // The names of the nodes the route leaves, each after a space.
  std::string path_names(std::uint32_t route) const;
  const topo::Topology& topology() const { return topology_; }

  FabricDevice* device_for(const topo::Hop& h) const {
    return PeekPointer(devices_[2 * h.link + (h.forward ? 0 : 1)]);
  }
  // The port a frame at `at` leaves through, or null when none leads on.
  FabricDevice* next_device(topo::NodeId at, const Frame& h);
  void fail_link(topo::LinkId link);

 private:
  void rebuild_router();
  FabricDevice* choose_port(topo::NodeId at, const Frame& h,
                            const std::vector<topo::Adjacency::Edge>& candidates);

  const topo::Topology& topology_;
  const PacketConfig& config_;
  const std::vector<ns3::Ptr<FabricDevice>>& devices_;
  std::vector<bool> failed_links_;
  // Routing over the links still up; link ids of `current_` map back to topology_ through to_full_.
  topo::Topology current_;
  std::vector<topo::LinkId> to_full_;
  std::unique_ptr<topo::Router> router_;
  std::vector<Route> routes_;
  std::vector<std::uint64_t> spray_turn_;
};

}  // namespace fabtwin::packet
