// The fabric as plain data. The ns-3 model, the verbs placement, the cost model and the
// topology-aware algorithms all read this one structure, so a what-if edited here is seen by all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fabtwin/units.hpp"

namespace fabtwin::topo {

using NodeId = std::uint32_t;
using LinkId = std::uint32_t;
inline constexpr std::int32_t kNone = -1;

enum class NodeKind { gpu, nic, nvswitch, network_switch };
enum class LinkLayer { infiniband, roce, nvlink, pcie };

struct Node {
  NodeId id = 0;
  NodeKind kind = NodeKind::gpu;
  std::string name;
  std::int32_t host = kNone;   // host index for GPUs, NICs and NVSwitches
  std::int32_t local = kNone;  // GPU or NIC index inside its host
  std::int32_t tier = kNone;   // network switches: 1 = leaf/edge, 2 = spine/aggregation, 3 = core
  std::int32_t rail = kNone;   // rail of a NIC or rail leaf (rail-optimized fabrics)
  std::int32_t plane = kNone;  // independent network plane a NIC or switch belongs to
};

// Full duplex: `bandwidth` is available in each direction independently.
struct Link {
  LinkId id = 0;
  NodeId a = 0;
  NodeId b = 0;
  BitsPerSecond bandwidth;
  Seconds latency;
  Bytes mtu{4096};
  LinkLayer layer = LinkLayer::roce;
};

// Where a rank lives: the GPU that holds its buffers and the NIC it sends through.
struct RankPlacement {
  std::int32_t rank = 0;
  NodeId gpu = 0;
  NodeId nic = 0;
};

struct Topology {
  std::string name;  // e.g. "fat-tree:k=8" or the file it came from
  std::string gpu;   // the GPU model of its hosts (topo/node.hpp), empty when not said
  std::vector<Node> nodes;
  std::vector<Link> links;
  std::vector<RankPlacement> ranks;

  std::int32_t host_count() const;
  std::int32_t rank_count() const { return static_cast<std::int32_t>(ranks.size()); }
  // Ranks sharing the host of `rank`, in rank order.
  std::vector<std::int32_t> ranks_on_host(std::int32_t host) const;
  std::int32_t host_of_rank(std::int32_t rank) const { return nodes.at(ranks.at(rank).gpu).host; }
  std::int32_t local_index_of_rank(std::int32_t rank) const { return nodes.at(ranks.at(rank).gpu).local; }
};

// "a -> b" for one direction of a link (forward: from its end a), as reports name link directions.
std::string link_direction_name(const Topology& t, LinkId link, bool forward);
// "a/b" for a link, as --fail and --degrade name it.
std::string link_label(const Topology& t, LinkId link);

// Adjacency built once per topology: for each node, (neighbour, link) pairs.
struct Adjacency {
  struct Edge {
    NodeId peer;
    LinkId link;
  };
  std::vector<std::vector<Edge>> out;
  explicit Adjacency(const Topology& t);
};

// Throws std::invalid_argument naming the node or link at fault: ids out of range or not dense,
// self-loops, non-positive bandwidth, ranks pointing at nodes of the wrong kind, duplicate ranks, and a
// disconnected fabric (a rank's GPU that cannot reach another rank's GPU over links of any layer).
void validate(const Topology& t, const std::string& origin);

const char* to_string(NodeKind k);
const char* to_string(LinkLayer l);
std::optional<NodeKind> node_kind_from_string(const std::string& s);
std::optional<LinkLayer> link_layer_from_string(const std::string& s);

}  // namespace fabtwin::topo
