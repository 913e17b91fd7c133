// What a fabric model is asked to do beside the plan: how switches route among equal-cost paths and the
// link failures and slowdowns of a what-if. The packet and flow models read the same settings.
#pragma once

#include <string>

#include "fabtwin/topo/topology.hpp"
#include "fabtwin/units.hpp"

namespace fabtwin::backend {

enum class Routing { ecmp, spray, adaptive };
const char* to_string(Routing r);
// Throws std::invalid_argument naming the known modes.
Routing routing_from_string(const std::string& name);

// A what-if applied at a moment of simulated time: the link fails (factor 0) or runs at factor x its
// rate. Failed links are routed around from that moment on, as a fabric's routing would reconverge.
struct LinkEvent {
  topo::LinkId link = 0;
  Seconds at{0};
  double factor = 0.0;
};

// Parses "NODE_A/NODE_B@TIME" (fail) or "NODE_A/NODE_B@TIME=FACTOR" (degrade) against a topology,
// e.g. "leaf0/spine1@20us" or "leaf0/spine1@0s=0.5". Throws std::invalid_argument naming the part at fault.
LinkEvent parse_link_event(const std::string& text, const topo::Topology& topology);

}  // namespace fabtwin::backend
