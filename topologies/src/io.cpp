#include "fabtwin/topo/io.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <stdexcept>
#include <unordered_map>

#include "fabtwin/files.hpp"
#include "fabtwin/topo/node.hpp"

namespace fabtwin::topo {

using nlohmann::json;

json to_json(const Topology& t) {
  json nodes = json::array();
  for (const Node& n : t.nodes) {
    json j = {{"name", n.name}, {"kind", to_string(n.kind)}};
    if (n.host != kNone) j["host"] = n.host;
    if (n.local != kNone) j["local"] = n.local;
    if (n.tier != kNone) j["tier"] = n.tier;
    if (n.rail != kNone) j["rail"] = n.rail;
    if (n.plane != kNone) j["plane"] = n.plane;
    nodes.push_back(std::move(j));
  }
  json links = json::array();
  for (const Link& l : t.links) {
    links.push_back({{"a", t.nodes.at(l.a).name},
                     {"b", t.nodes.at(l.b).name},
                     {"bandwidth", l.bandwidth.count()},
                     {"latency", l.latency.count()},
                     {"mtu", l.mtu.count()},
                     {"layer", to_string(l.layer)}});
  }
  json ranks = json::array();
  for (const RankPlacement& r : t.ranks) {
    ranks.push_back({{"rank", r.rank}, {"gpu", t.nodes.at(r.gpu).name}, {"nic", t.nodes.at(r.nic).name}});
  }
  json out = {{"format", kTopologyFormat}, {"version", kTopologyFormatVersion}, {"name", t.name}};
  if (!t.gpu.empty()) out["gpu"] = t.gpu;
  out["nodes"] = std::move(nodes);
  out["links"] = std::move(links);
  out["ranks"] = std::move(ranks);
  return out;
}

namespace {

// Reads one JSON document into a Topology, keeping the JSON path of whatever it is looking at so that
// every error says exactly which field of which file to fix.
constexpr std::int32_t kMaxTier = 15;

class Reader {
 public:
  explicit Reader(const std::string& origin) : origin_(origin) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw std::invalid_argument(origin_ + ": " + path + ": " + what);
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  static std::string type_name(const json& j) {
    if (j.is_number_integer()) return "integer";
    if (j.is_number()) return "number";
    return j.type_name();
  }

  void expect_object(const json& j, const std::string& path,
                     std::initializer_list<const char*> allowed) const {
    if (!j.is_object()) fail(path.empty() ? "(document)" : path, "expected an object, found " + type_name(j));
    for (const auto& item : j.items()) {
      const std::string& key = item.key();
      // "comment" lets hand-written files explain themselves without a separate README.
      if (key == "comment") continue;
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
        std::string list;
        for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
        fail(join(path, key), "unknown field (accepted: " + list + ", comment)");
      }
    }
  }

  const json& required(const json& obj, const std::string& path, const char* key,
                       const char* hint = nullptr) const {
    const auto it = obj.find(key);
    if (it == obj.end()) fail(join(path, key), std::string("missing required field") + (hint ? hint : ""));
    return *it;
  }

  std::string string_field(const json& obj, const std::string& path, const char* key,
                           const char* hint = nullptr) const {
    const json& v = required(obj, path, key, hint);
    if (!v.is_string()) fail(join(path, key), "expected a string, found " + type_name(v));
    return v.get<std::string>();
  }

  std::int32_t optional_index(const json& obj, const std::string& path, const char* key) const {
    const auto it = obj.find(key);
    if (it == obj.end()) return kNone;
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0 ||
        it->get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
      fail(join(path, key), "expected a non-negative integer, found " + it->dump());
    }
    return static_cast<std::int32_t>(it->get<std::int64_t>());
  }

  std::int32_t bounded_index(const json& obj, const std::string& path, const char* key,
                             std::int32_t end) const {
    const std::int32_t v = optional_index(obj, path, key);
    if (v != kNone && v >= end) {
      fail(join(path, key), std::string(key) + " " + std::to_string(v) +
                                " is out of range: it must be below " + std::to_string(end) +
                                (std::string(key) == "tier" ? " (fabrics have a few switch tiers)"
                                                            : " (the number of nodes in the file)"));
    }
    return v;
  }

  template <class T, class Parse>
  T unit_field(const json& obj, const std::string& path, const char* key, T fallback, Parse parse,
               const char* number_meaning, double max) const {
    const auto it = obj.find(key);
    if (it == obj.end()) return fallback;
    const std::string p = join(path, key);
    if (it->is_string()) {
      try {
        return parse(it->get<std::string>());
      } catch (const std::invalid_argument& e) {
        fail(p, e.what());
      }
    }
    if (!it->is_number()) fail(p, std::string("expected a string or a number of ") + number_meaning);
    const double v = it->get<double>();
    if (!(v >= 0)) fail(p, "must not be negative, found " + it->dump());
    if (!(v <= max))
      fail(p, "must be at most " + std::to_string(max) + " " + number_meaning + ", found " + it->dump());
    return T(v);
  }

  // Unlike latency, zero is as wrong as negative here: a link that carries nothing is a typo, and it would
  // divide by zero in every cost model downstream.
  BitsPerSecond bandwidth_field(const json& obj, const std::string& path) const {
    constexpr const char* kExpected =
        "expected a positive rate such as \"400Gbps\" or a positive number of bits per second";
    const std::string p = join(path, "bandwidth");
    const auto it = obj.find("bandwidth");
    if (it == obj.end()) fail(p, std::string("missing required field (") + kExpected + ")");
    double bps = 0.0;
    if (it->is_string()) {
      const std::string text = it->get<std::string>();
      // parse_rate would call a negative rate merely "not non-negative"; say what a link needs instead.
      const std::size_t first = text.find_first_not_of(" \t");
      if (first != std::string::npos && text[first] == '-') {
        fail(p, std::string(kExpected) + ", found " + it->dump());
      }
      try {
        bps = parse_rate(text).count();
      } catch (const std::invalid_argument& e) {
        fail(p, e.what());
      }
    } else if (it->is_number()) {
      bps = it->get<double>();
    } else {
      fail(p, std::string(kExpected) + ", found " + type_name(*it));
    }
    if (!(bps >= kMinRateBps && bps <= kMaxRateBps)) {
      fail(p, std::string(kExpected) + " between 1 kbit/s and 1 Pbit/s, found " + it->dump());
    }
    return BitsPerSecond(bps);
  }

  Bytes mtu_field(const json& obj, const std::string& path) const {
    const auto it = obj.find("mtu");
    if (it == obj.end()) return Bytes(4096);
    if (it->is_string()) {
      Bytes mtu;
      try {
        mtu = parse_bytes(it->get<std::string>());
      } catch (const std::invalid_argument& e) {
        fail(join(path, "mtu"), e.what());
      }
      return checked_mtu(mtu, join(path, "mtu"));
    }
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() == 0) {
      fail(join(path, "mtu"),
           "expected a positive integer number of bytes or a size such as \"4KiB\", found " + it->dump());
    }
    return checked_mtu(Bytes(it->get<std::uint64_t>()), join(path, "mtu"));
  }

  // Past 1 MiB a "packet" is a message: the packet model would hold whole transfers in one frame.
  Bytes checked_mtu(Bytes mtu, const std::string& path) const {
    if (mtu.count() < 64 || mtu.count() > (1u << 20))
      fail(path, "an MTU must be 64 B to 1 MiB, found " + std::to_string(mtu.count()) + " B");
    return mtu;
  }

  NodeId node_ref(const json& obj, const std::string& path, const char* key, const char* hint) const {
    const std::string name = string_field(obj, path, key, hint);
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) {
      fail(join(path, key), "unknown node \"" + name + "\" (it must be the name of an entry in \"nodes\")");
    }
    return it->second;
  }

  Topology read(const json& j) {
    expect_object(j, "", {"format", "version", "name", "gpu", "nodes", "links", "ranks"});
    const std::string format = string_field(j, "", "format", " (add \"format\": \"fabtwin-topology\")");
    if (format != kTopologyFormat) {
      fail("format",
           "\"" + format + "\" is not a topology file (expected \"" + std::string(kTopologyFormat) + "\")");
    }
    const json& version = required(j, "", "version", " (add \"version\": 1)");
    if (!version.is_number_integer() || version.get<std::int64_t>() != kTopologyFormatVersion) {
      fail("version", "unsupported version " + version.dump() + " (this build reads version " +
                          std::to_string(kTopologyFormatVersion) + ")");
    }
    Topology t;
    t.name = j.contains("name") ? string_field(j, "", "name") : origin_;
    if (j.contains("gpu")) {
      t.gpu = string_field(j, "", "gpu");
      if (find_gpu_model(t.gpu) == nullptr)
        fail("gpu", "unknown GPU \"" + t.gpu + "\" (accepted: " + gpu_model_names() + ", or leave it out)");
    }
    read_nodes(required(j, "", "nodes", " (an array of {\"name\", \"kind\", ...})"), t);
    read_links(required(j, "", "links", " (an array of {\"a\", \"b\", \"bandwidth\", ...})"), t);
    if (j.contains("ranks")) {
      read_ranks(j["ranks"], t);
    } else {
      default_ranks(t);
    }
    validate(t, origin_);
    return t;
  }

 private:
  const std::string& origin_;
  std::unordered_map<std::string, NodeId> by_name_;

  void read_nodes(const json& nodes, Topology& t) {
    if (!nodes.is_array()) fail("nodes", "expected an array, found " + type_name(nodes));
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const std::string path = "nodes[" + std::to_string(i) + "]";
      const json& n = nodes[i];
      expect_object(n, path, {"name", "kind", "host", "local", "tier", "rail", "plane"});
      Node node;
      node.id = static_cast<NodeId>(i);
      node.name = string_field(n, path, "name", " (every node needs a unique name)");
      if (node.name.empty()) fail(join(path, "name"), "node names must not be empty");
      const std::string kind = string_field(n, path, "kind", " (one of gpu, nic, nvswitch, switch)");
      const auto k = node_kind_from_string(kind);
      if (!k)
        fail(join(path, "kind"), "unknown kind \"" + kind + "\" (accepted: gpu, nic, nvswitch, switch)");
      node.kind = *k;
      // Indexes number things among the nodes (hosts, rails, a host's GPUs), so none can reach the node
      // count; every later pass sizes tables by them, and an unbounded one would exhaust memory.
      const auto below_nodes = static_cast<std::int32_t>(nodes.size());
      node.host = bounded_index(n, path, "host", below_nodes);
      node.local = bounded_index(n, path, "local", below_nodes);
      node.tier = bounded_index(n, path, "tier", kMaxTier + 1);
      node.rail = bounded_index(n, path, "rail", below_nodes);
      node.plane = bounded_index(n, path, "plane", below_nodes);
      const auto [it, fresh] = by_name_.emplace(node.name, node.id);
      if (!fresh) {
        fail(join(path, "name"), "duplicate node name \"" + node.name + "\" (already used by nodes[" +
                                     std::to_string(it->second) + "]; names must be unique)");
      }
      t.nodes.push_back(std::move(node));
    }
  }

  void read_links(const json& links, Topology& t) const {
    if (!links.is_array()) fail("links", "expected an array, found " + type_name(links));
    for (std::size_t i = 0; i < links.size(); ++i) {
      const std::string path = "links[" + std::to_string(i) + "]";
      const json& l = links[i];
      expect_object(l, path, {"a", "b", "bandwidth", "latency", "mtu", "layer"});
      Link link;
      link.id = static_cast<LinkId>(i);
      link.a = node_ref(l, path, "a", " (the name of one end of the link)");
      link.b = node_ref(l, path, "b", " (the name of the other end of the link)");
      if (link.a == link.b) fail(path, "link joins node \"" + t.nodes[link.a].name + "\" to itself");
      link.bandwidth = bandwidth_field(l, path);
      link.latency = unit_field(l, path, "latency", Seconds(1e-6), parse_duration, "seconds", kMaxDurationS);
      link.mtu = mtu_field(l, path);
      if (l.contains("layer")) {
        const std::string layer = string_field(l, path, "layer");
        const auto v = link_layer_from_string(layer);
        if (!v)
          fail(join(path, "layer"), "unknown layer \"" + layer + "\" (accepted: roce, ib, nvlink, pcie)");
        link.layer = *v;
      }
      t.links.push_back(link);
    }
  }

  void read_ranks(const json& ranks, Topology& t) const {
    if (!ranks.is_array()) fail("ranks", "expected an array, found " + type_name(ranks));
    std::vector<std::int32_t> seen(ranks.size(), kNone);
    t.ranks.resize(ranks.size());
    for (std::size_t i = 0; i < ranks.size(); ++i) {
      const std::string path = "ranks[" + std::to_string(i) + "]";
      const json& r = ranks[i];
      expect_object(r, path, {"rank", "gpu", "nic"});
      std::int32_t rank = static_cast<std::int32_t>(i);
      if (r.contains("rank")) rank = optional_index(r, path, "rank");
      if (rank >= static_cast<std::int32_t>(ranks.size())) {
        fail(join(path, "rank"), "rank " + std::to_string(rank) + " is out of range (ranks must be 0.." +
                                     std::to_string(ranks.size() - 1) + ")");
      }
      if (seen[rank] != kNone) {
        fail(join(path, "rank"), "duplicate rank " + std::to_string(rank) + " (already listed at ranks[" +
                                     std::to_string(seen[rank]) + "]; expected each rank 0.." +
                                     std::to_string(ranks.size() - 1) + " exactly once)");
      }
      seen[rank] = static_cast<std::int32_t>(i);
      RankPlacement& p = t.ranks[rank];
      p.rank = rank;
      p.gpu = node_ref(r, path, "gpu", " (the name of the GPU holding this rank)");
      p.nic = node_ref(r, path, "nic", " (the name of the NIC this rank sends through)");
      if (t.nodes[p.gpu].kind != NodeKind::gpu)
        fail(join(path, "gpu"), "node \"" + t.nodes[p.gpu].name + "\" is not a GPU");
      if (t.nodes[p.nic].kind != NodeKind::nic)
        fail(join(path, "nic"), "node \"" + t.nodes[p.nic].name + "\" is not a NIC");
    }
  }

  // Without "ranks", every GPU is a rank, host-major, sending through the NIC with its local index.
  void default_ranks(Topology& t) const {
    std::vector<const Node*> gpus;
    std::map<std::pair<std::int32_t, std::int32_t>, NodeId> nics;
    for (const Node& n : t.nodes) {
      if (n.kind == NodeKind::gpu) gpus.push_back(&n);
      if (n.kind == NodeKind::nic) nics.emplace(std::make_pair(n.host, n.local), n.id);
    }
    std::stable_sort(gpus.begin(), gpus.end(), [](const Node* x, const Node* y) {
      return std::make_pair(x->host, x->local) < std::make_pair(y->host, y->local);
    });
    for (const Node* g : gpus) {
      const auto it = nics.find({g->host, g->local});
      if (it == nics.end()) {
        fail("ranks", "no \"ranks\" given and GPU \"" + g->name + "\" (host " + std::to_string(g->host) +
                          ", local " + std::to_string(g->local) +
                          ") has no NIC with the same host and local index; list the ranks explicitly");
      }
      t.ranks.push_back({static_cast<std::int32_t>(t.ranks.size()), g->id, it->second});
    }
  }
};

std::string dot_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Topology topology_from_json(const json& j, const std::string& origin) {
  return Reader(origin).read(j);
}

Topology read_topology_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw std::invalid_argument(
        "cannot open topology file \"" + path +
        "\": no such file (give a path to a fabtwin-topology JSON file or a generator "
        "spec such as fat-tree:k=8)");
  }
  return topology_from_json(parse_json_text(read_input_file(path, "topology file"), path + ": (document)"),
                            path);
}

void write_topology_file(const Topology& t, const std::string& path) {
  write_file_atomically(path, dump_json(to_json(t), 2) + "\n");
}

void write_dot(const Topology& t, std::ostream& out) {
  out << "graph " << dot_quote(t.name) << " {\n";
  out << "  graph [rankdir=BT, splines=true, fontname=\"Helvetica\"];\n";
  out << "  node [fontname=\"Helvetica\", fontsize=10];\n";
  out << "  edge [fontname=\"Helvetica\", fontsize=8];\n";
  std::map<std::int32_t, std::vector<const Node*>> by_host;
  std::map<std::int32_t, std::vector<const Node*>> by_tier;
  for (const Node& n : t.nodes) {
    if (n.host != kNone) {
      by_host[n.host].push_back(&n);
    } else if (n.kind == NodeKind::network_switch) {
      by_tier[n.tier].push_back(&n);
    } else {
      out << "  " << dot_quote(n.name) << " [shape=ellipse];\n";
    }
  }
  auto shape = [](NodeKind k) {
    switch (k) {
      case NodeKind::gpu:
        return "box, style=filled, fillcolor=\"#c8e6c9\"";
      case NodeKind::nic:
        return "box, style=filled, fillcolor=\"#bbdefb\"";
      case NodeKind::nvswitch:
        return "hexagon, style=filled, fillcolor=\"#fff9c4\"";
      case NodeKind::network_switch:
        return "box3d";
    }
    return "ellipse";
  };
  for (const auto& [host, nodes] : by_host) {
    out << "  subgraph cluster_host" << host << " {\n    label=\"host " << host << "\";\n";
    for (const Node* n : nodes) out << "    " << dot_quote(n->name) << " [shape=" << shape(n->kind) << "];\n";
    out << "  }\n";
  }
  // Equal rank per tier draws leaves, spines and cores as horizontal rows above the hosts.
  for (const auto& [tier, nodes] : by_tier) {
    out << "  { rank=same;";
    for (const Node* n : nodes) out << ' ' << dot_quote(n->name) << " [shape=" << shape(n->kind) << "];";
    out << " }\n";
  }
  for (const Link& l : t.links) {
    out << "  " << dot_quote(t.nodes.at(l.a).name) << " -- " << dot_quote(t.nodes.at(l.b).name)
        << " [label=\"" << format_rate(l.bandwidth) << "\"";
    if (l.layer == LinkLayer::nvlink) out << ", color=\"#2e7d32\"";
    if (l.layer == LinkLayer::pcie) out << ", color=\"#1565c0\"";
    out << "];\n";
  }
  out << "}\n";
}

}  // namespace fabtwin::topo
