// The flow-level backend: the plan's transfers become flows that share every link direction they
// cross max-min fairly, solved by SimGrid's LMM solver (its CM02 model with its TCP corrections turned
// off, see flow_backend.cpp). Between the analytic model (no sharing) and the packet model (every
// packet), it answers for thousands of GPUs. This header keeps SimGrid out of its users.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "fabtwin/backend/endpoint.hpp"
#include "fabtwin/backend/errors.hpp"
#include "fabtwin/backend/whatif.hpp"
#include "fabtwin/coll/rounds.hpp"
#include "fabtwin/coll/runner.hpp"
#include "fabtwin/topo/topology.hpp"
#include "fabtwin/units.hpp"

namespace fabtwin::flow {

struct FlowConfig {
  // ecmp: one path per rank pair (the same hash as every backend); spray: each transfer split evenly
  // at every switch over its equal-cost next hops, the fluid limit of per-packet spraying; adaptive:
  // each transfer takes, when it starts, the equal-cost path whose busiest link carries fewest flows.
  backend::Routing routing = backend::Routing::ecmp;
  std::uint64_t seed = 0;
  backend::EndpointCosts endpoint;
  std::vector<backend::LinkEvent> link_events;
  // Called about once per second of wall time on long runs, from the model's process: simulated time,
  // wall time, flows so far.
  std::function<void(Seconds simulated, double wall_s, std::uint64_t flows)> on_progress;
};

struct LinkUse {
  topo::LinkId link = 0;
  bool forward = true;
  std::uint64_t bytes = 0;  // payload the flows carried over it
  Seconds busy;             // those bytes at the link's payload rate
};

struct FlowReport {
  std::vector<LinkUse> busiest;  // busiest link directions first, by busy time (up to 10)
  std::uint64_t flows = 0;       // flows the solver carried: sprayed parts and re-routed rests included
  std::uint64_t rerouted = 0;    // flows moved off a link that failed under them
  Seconds simulated;
  double wall_s = 0.0;
  std::uint64_t peak_memory_bytes = 0;  // resident set of the process that ran the model
};

struct FlowResult {
  Seconds time;
  coll::RunResult run;
  FlowReport fabric;
};

// What the model is, for a results file's provenance: the solver, its version and its settings.
const char* model_description();

// Runs the plan to completion on the flow model. SimGrid keeps one simulation per process, so each
// call runs in a child process of its own and returns its trace. Throws SimulationFailed when the
// fabric cannot deliver (a failure left a pair without a path), std::invalid_argument for a plan that
// does not fit the topology, std::runtime_error when the model's process fails.
FlowResult simulate(const coll::Plan& plan, const topo::Topology& topology, const FlowConfig& config);

// A round plan (coll/rounds.hpp), for scales past what a plan can hold: each phase's round runs once on
// the flow model and the rounds compose as in the analytic model's round form. Link events apply to
// every round as if it started at time zero. The report is the slowest round's, with every round's
// flows, wall time and peak memory. Throws as simulate() does.
struct FlowRoundEstimate {
  Seconds time;
  Seconds slowest_round;
  FlowReport fabric;
};
FlowRoundEstimate simulate_rounds(const coll::RoundPlan& plan, const topo::Topology& topology,
                                  const FlowConfig& config);

}  // namespace fabtwin::flow
