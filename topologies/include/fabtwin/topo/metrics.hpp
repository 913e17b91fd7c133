// Figures an architect reads off a fabric before buying it.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "fabtwin/topo/topology.hpp"

namespace fabtwin::topo {

struct TierOversubscription {
  std::int32_t tier = 0;
  double ratio = 1.0;  // bandwidth down / bandwidth up, summed over the tier's switches
};

struct Summary {
  std::string name;
  std::string gpu;  // GPU model of the hosts, empty when the topology does not say
  std::int32_t hosts = 0;
  std::int32_t gpus = 0;
  std::int32_t nics = 0;
  std::int32_t switches = 0;                    // network switches (NVSwitches counted apart)
  std::vector<std::int32_t> switches_per_tier;  // index 0 = tier 1 (leaf)
  std::int32_t nvswitches = 0;
  std::int32_t links = 0;
  std::map<std::string, std::int32_t> links_per_layer;
  std::vector<BitsPerSecond> link_speeds;  // distinct, ascending
  BitsPerSecond bisection_bandwidth;       // per direction, network links only
  std::vector<TierOversubscription> oversubscription;
  std::int32_t diameter_hops = 0;         // NIC to NIC, network links
  std::uint64_t farthest_pair_paths = 0;  // equal-cost shortest paths between a farthest NIC pair
  // NIC pairs with no network path (separate planes, rail-only rails); left out of the diameter.
  std::uint64_t unreachable_nic_pairs = 0;
  // Set when the three fields above were not computed: the searches they need would take about this long.
  std::optional<Seconds> paths_skipped;
};

// The path metrics need one breadth-first search per group of NICs with the same switches: quadratic
// in the fabric. Past `max_path_work` node visits (by default some 10 s) they are left out, and the
// summary says so.
inline constexpr double kPathSearchWork = 4e9;
Summary summarize(const Topology& t, double max_path_work = kPathSearchWork);
nlohmann::json to_json(const Summary& s);
std::string to_text(const Summary& s);

}  // namespace fabtwin::topo
