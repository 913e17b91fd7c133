// The project's topology file format (JSON) and a Graphviz view.
#pragma once

#include <iosfwd>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "fabtwin/topo/topology.hpp"

namespace fabtwin::topo {

inline constexpr const char* kTopologyFormat = "fabtwin-topology";
inline constexpr int kTopologyFormatVersion = 1;

// Nodes are referenced by name in links and ranks so that hand-written files stay readable.
// Rates and durations accept numbers (bits/s, seconds) or strings ("400Gbps", "1us").
nlohmann::json to_json(const Topology& t);
// `origin` (usually the file name) prefixes every error, with the JSON path of the bad field.
Topology topology_from_json(const nlohmann::json& j, const std::string& origin);
Topology read_topology_file(const std::string& path);
void write_topology_file(const Topology& t, const std::string& path);
void write_dot(const Topology& t, std::ostream& out);

}  // namespace fabtwin::topo
