// The parts of a results file a scenario contributes: provenance, the run's settings, the packet
// model's fabric report.
#pragma once

#include <nlohmann/json.hpp>

#include "fabtwin/experiment/experiment.hpp"

namespace fabtwin::experiment {

// Versions, revision, host, time and topology (with the hash of its canonical JSON). Every results
// file fabtwin writes carries it.
nlohmann::json provenance(const topo::Topology* topology);

// The run section for a scenario over `ranks` ranks: collective, algorithm, backend, costs, seed and,
// for the packet backend, every setting of the packet model.
results::Run run_header(const Scenario& s, std::int32_t ranks);

nlohmann::json fabric_json(const packet::FabricReport& f, const topo::Topology& t);
// The flow model's: busiest link directions with their utilisation, flows, wall time and memory.
nlohmann::json flow_fabric_json(const flow::FlowReport& f, const topo::Topology& t);

}  // namespace fabtwin::experiment
