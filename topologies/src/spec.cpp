// The SPEC strings that name the built-in generators on the command line.
#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "fabtwin/topo/generators.hpp"
#include "fabtwin/topo/io.hpp"
#include "fabtwin/topo/node.hpp"

namespace fabtwin::topo {

namespace {

struct SpecParser {
  const std::string& spec;
  std::string preset;
  std::vector<std::pair<std::string, std::string>> pairs;
  std::set<std::string> used;

  [[noreturn]] void fail(const std::string& what) const {
    throw std::invalid_argument("topology spec \"" + spec + "\": " + what);
  }

  const std::string* find(const std::string& key) {
    for (const auto& [k, v] : pairs) {
      if (k == key) {
        used.insert(key);
        return &v;
      }
    }
    return nullptr;
  }

  bool has(const std::string& key) const {
    return std::any_of(pairs.begin(), pairs.end(), [&](const auto& kv) { return kv.first == key; });
  }

  std::int32_t positive_int(const std::string& key, std::int32_t fallback) {
    const std::string* v = find(key);
    if (v == nullptr) return fallback;
    std::int32_t out = 0;
    const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || end != v->data() + v->size() || out < 1) {
      fail("key " + key + ": \"" + *v + "\" is not a positive integer");
    }
    return out;
  }

  template <class T, class Parse>
  T unit_value(const std::string& key, T fallback, Parse parse) {
    const std::string* v = find(key);
    if (v == nullptr) return fallback;
    try {
      return parse(*v);
    } catch (const std::invalid_argument& e) {
      fail("key " + key + ": " + e.what());
    }
  }

  // node= first, then gpu=, then the explicit keys: each later source overrides what an earlier set.
  CommonParams common() {
    CommonParams c;
    if (const std::string* v = find("node")) {
      const NodePreset* node = find_node_preset(*v);
      if (node == nullptr)
        fail("key node: \"" + *v + "\" is not a known node (accepted: " + node_preset_names() + ")");
      c.gpu = node->gpu;
      c.gpus_per_host = node->gpus;
      c.nics_per_host = node->nics;
      c.speed = node->nic_speed;
      c.layer = node->layer;
    }
    if (const std::string* v = find("gpu")) c.gpu = *v;
    if (!c.gpu.empty()) {
      const GpuModel* gpu = find_gpu_model(c.gpu);
      if (gpu == nullptr)
        fail("key gpu: \"" + c.gpu + "\" is not a known GPU (accepted: " + gpu_model_names() + ")");
      c.nvlink_speed = gpu->nvlink;
      c.nvlink_latency = gpu->nvlink_latency;
      c.pcie_speed = gpu->pcie;
    }
    c.gpus_per_host = positive_int("gpus", c.gpus_per_host);
    if (has("gpus") && !has("nics")) c.nics_per_host = 0;
    c.nics_per_host = positive_int("nics", c.nics_per_host);
    c.planes = positive_int("planes", c.planes);
    c.speed = unit_value("speed", c.speed, parse_rate);
    c.latency = unit_value("latency", c.latency, parse_duration);
    c.mtu = unit_value("mtu", c.mtu, parse_bytes);
    c.nvlink_speed = unit_value("nvlink", c.nvlink_speed, parse_rate);
    c.pcie_speed = unit_value("pcie", c.pcie_speed, parse_rate);
    if (const std::string* v = find("layer")) {
      if (*v == "roce") {
        c.layer = LinkLayer::roce;
      } else if (*v == "ib" || *v == "infiniband") {
        c.layer = LinkLayer::infiniband;
      } else {
        fail("key layer: \"" + *v + "\" is not a network layer (accepted: roce, ib)");
      }
    }
    return c;
  }

  // Every key given must have been consumed by the preset; anything else is a typo or a wrong preset.
  void reject_unused(const std::string& accepted) const {
    for (const auto& [k, v] : pairs) {
      if (used.count(k) == 0)
        fail("unknown key \"" + k + "\" for preset " + preset + " (accepted: " + accepted + ")");
    }
  }

  // The largest divisor of hosts that keeps a leaf at or under 32 NIC ports.
  std::int32_t default_hosts_per_leaf(std::int32_t hosts, std::int32_t nics_per_host) const {
    for (std::int32_t d = std::min(hosts, 32); d >= 1; --d) {
      if (hosts % d == 0 && d * nics_per_host <= 32) return d;
    }
    fail("a host has " + std::to_string(nics_per_host) +
         " NICs in one plane, more than a 32-port leaf; give hosts_per_leaf explicitly");
  }

  template <class F>
  Topology generate(F make) const {
    try {
      Topology t = make();
      t.name = spec;
      return t;
    } catch (const std::invalid_argument& e) {
      fail(e.what());
    }
  }
};

constexpr const char* kCommonKeys = "node, gpu, gpus, nics, speed, latency, mtu, layer, nvlink, pcie, planes";
constexpr const char* kPresets =
    "fat-tree:k=8[,oversub=2][,oversub2=1], fat-tree:tiers=2,hosts=64[,hosts_per_leaf=8][,oversub=2], "
    "leaf-spine:hosts=64[,...], rail:hosts=64,gpus=8,hosts_per_leaf=32[,oversub=1], "
    "rail-only:hosts=64,gpus=8,hosts_per_leaf=32, or a FILE.json";

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Topology topology_from_spec(const std::string& spec) {
  std::error_code ec;
  // A spec without a colon that names something on disk is meant as a file, whatever its name.
  if (ends_with(spec, ".json") ||
      (spec.find(':') == std::string::npos && std::filesystem::exists(spec, ec))) {
    Topology t = read_topology_file(spec);
    t.name = spec;
    return t;
  }
  SpecParser sp{spec, {}, {}, {}};
  const std::size_t colon = spec.find(':');
  sp.preset = spec.substr(0, colon);
  if (colon != std::string::npos) {
    std::string_view rest(spec);
    rest.remove_prefix(colon + 1);
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      const std::size_t eq = item.find('=');
      if (eq == std::string_view::npos || eq == 0 || eq + 1 == item.size()) {
        sp.fail("\"" + std::string(item) + "\" is not of the form key=value");
      }
      std::string key(item.substr(0, eq));
      if (sp.has(key)) sp.fail("key " + key + " is given twice");
      sp.pairs.emplace_back(std::move(key), std::string(item.substr(eq + 1)));
    }
  }

  if (sp.preset == "fat-tree" || sp.preset == "leaf-spine") {
    const bool leaf_spine = sp.preset == "leaf-spine";
    std::int32_t tiers = leaf_spine ? 2 : (sp.has("k") ? 3 : (sp.has("hosts") ? 2 : 0));
    if (!leaf_spine) tiers = sp.positive_int("tiers", tiers);
    if (tiers == 0) sp.fail("missing key k (three-tier fat-tree) or hosts (two-tier, with tiers=2)");
    if (tiers == 3) {
      KaryFatTreeParams p;
      if (!sp.has("k")) sp.fail("missing key k (tiers=3 builds a k-ary fat-tree)");
      p.k = sp.positive_int("k", p.k);
      p.edge_oversub = sp.positive_int("oversub", p.edge_oversub);
      p.agg_oversub = sp.positive_int("oversub2", p.agg_oversub);
      p.common = sp.common();
      std::int32_t hosts = sp.positive_int("hosts", 0);
      sp.reject_unused(std::string("k, tiers, oversub, oversub2, hosts, ") + kCommonKeys);
      Topology t = sp.generate([&] { return make_kary_fat_tree(p); });
      if (hosts != 0 && hosts != t.host_count()) {
        sp.fail("key hosts: a k=" + std::to_string(p.k) + " fat-tree with these gpus and planes has " +
                std::to_string(t.host_count()) + " hosts, not " + std::to_string(hosts) +
                " (omit hosts, or use tiers=2)");
      }
      return t;
    }
    if (tiers != 2) sp.fail("key tiers: " + std::to_string(tiers) + " is not supported (accepted: 2, 3)");
    if (sp.has("k")) sp.fail("key k applies to the three-tier fat-tree only; with tiers=2 give hosts");
    if (!sp.has("hosts")) sp.fail("missing key hosts (required with tiers=2)");
    LeafSpineParams p;
    p.hosts = sp.positive_int("hosts", p.hosts);
    p.oversub = sp.positive_int("oversub", p.oversub);
    p.common = sp.common();
    if (sp.has("hosts_per_leaf")) {
      p.hosts_per_leaf = sp.positive_int("hosts_per_leaf", p.hosts_per_leaf);
    } else {
      const std::int32_t per_plane = std::max(1, p.common.nics() / std::max(1, p.common.planes));
      p.hosts_per_leaf = sp.default_hosts_per_leaf(p.hosts, per_plane);
    }
    sp.reject_unused(std::string(leaf_spine ? "" : "tiers, ") + "hosts, hosts_per_leaf, oversub, " +
                     kCommonKeys);
    return sp.generate([&] { return make_leaf_spine(p); });
  }

  if (sp.preset == "rail" || sp.preset == "rail-only") {
    RailParams p;
    p.rail_only = sp.preset == "rail-only";
    if (!sp.has("hosts")) sp.fail("missing key hosts");
    p.hosts = sp.positive_int("hosts", p.hosts);
    p.oversub = sp.positive_int("oversub", p.oversub);
    p.common = sp.common();
    p.hosts_per_leaf = sp.has("hosts_per_leaf") ? sp.positive_int("hosts_per_leaf", 0)
                                                : sp.default_hosts_per_leaf(p.hosts, 1);
    sp.reject_unused(std::string("hosts, hosts_per_leaf, oversub, ") + kCommonKeys);
    return sp.generate([&] { return make_rail(p); });
  }

  sp.fail("unknown preset \"" + sp.preset + "\" (accepted: " + kPresets + ")");
}

}  // namespace fabtwin::topo
