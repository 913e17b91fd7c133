// The experiment library: a scenario (topology, collective, algorithm, sizes, dtype/op, backend and
// its settings, seed) goes in, a results file comes out. `fabtwin sim`, `compare --simulate`, the
// what-if and baseline scripts (through sim) and the benchmarks all run scenarios through here.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fabtwin/analytic/analytic.hpp"
#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/flow/flow.hpp"
#include "fabtwin/packet/packet.hpp"
#include "fabtwin/results/results.hpp"
#include "fabtwin/topo/topology.hpp"

namespace fabtwin::experiment {

enum class BackendKind { analytic, packet, flow };
const char* to_string(BackendKind b);
// Throws std::invalid_argument naming the known backends.
BackendKind backend_from_string(const std::string& name);

struct Scenario {
  topo::Topology topology;
  coll::Collective collective = coll::Collective::all_reduce;
  // An algorithm of the library, or a strategy that picks one per size (strategy.hpp: "auto").
  std::string algorithm = "ring";
  std::int32_t ranks = 0;  // 0: every rank the topology places
  std::vector<std::uint64_t> sizes;
  coll::AlgoOptions options;
  BackendKind backend = BackendKind::analytic;
  backend::EndpointCosts endpoint;
  std::uint64_t seed = 0;  // ECMP hash (and the packet model's random choices)
  // The packet model's settings; its endpoint costs and seed are the scenario's.
  packet::PacketConfig packet;
  // The flow model's routing and what-ifs; its endpoint costs and seed are the scenario's.
  flow::FlowConfig flow;
};

// What one size produced, beyond its results row.
struct SizeRun {
  results::Row row;
  std::string model;  // "plan", "packet", "flow", or "<algorithm>-rounds" for a plan too large to build
  std::optional<packet::FabricReport> fabric;
  std::optional<flow::FlowReport> flow;
  std::vector<analytic::LinkLoad> busiest;  // the analytic model's busiest links (plan model)
  coll::RunResult run;                      // the per-step trace (empty for the round model)
};

struct Outcome {
  results::ResultFile results;
  std::optional<SizeRun> last;  // the largest size
};

struct Hooks {
  std::function<void(const SizeRun&)> on_size;  // after each size, in order: tables stream
  // Before each size: its index (from 0), how many there are, and the size (progress lines).
  std::function<void(std::size_t index, std::size_t count, std::uint64_t size)> before_size;
};

// Throws std::invalid_argument for a scenario that cannot run (with what to change),
// backend::SimulationFailed when the simulated fabric cannot deliver.
Outcome run(const Scenario& scenario, const Hooks& hooks = {});

// Throws std::invalid_argument, before anything runs, when the scenario's algorithm is neither an
// algorithm of its collective nor a strategy (listing both), or when the packet backend is asked for a
// plan too large to build. run() checks this too.
void check_scenario(const Scenario& scenario);

// Whether `size` is past what a plan can hold for the scenario's algorithm, so that the round model
// answers (only the analytic backend has one). False for strategies, which decide per candidate.
bool needs_round_model(const Scenario& scenario, std::uint64_t size);

// `requested` 0 means every rank the topology places (or `fallback` without one). More ranks than the
// topology places is an error naming both numbers.
std::int32_t resolve_ranks(std::int32_t requested, const topo::Topology* topology, std::int32_t fallback);
// The first `ranks` ranks of the topology, or a synthetic group of `ranks_per_host` per host without one.
coll::Group make_group(std::int32_t ranks, const topo::Topology* topology, std::int32_t ranks_per_host);

}  // namespace fabtwin::experiment
