// Runs a plan on SimGrid in this process. SimGrid's engine can be made once per process, so only
// simulate() (flow_process.cpp) calls this, in a child process of its own.
#pragma once

#include "fabtwin/flow/flow.hpp"

namespace fabtwin::flow {

FlowResult run_in_this_process(const coll::Plan& plan, const topo::Topology& topology,
                               const FlowConfig& config);

}  // namespace fabtwin::flow
