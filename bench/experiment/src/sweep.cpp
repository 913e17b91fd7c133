#include "fabtwin/experiment/sweep.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "fabtwin/files.hpp"
#include "fabtwin/hash.hpp"
#include "fabtwin/units.hpp"

namespace fabtwin::experiment {

namespace {

using nlohmann::json;

// One dimension of the matrix: its values, each with the label that names it in run names.
struct Value {
  std::string label;
  std::vector<std::string> args;
};

class Reader {
 public:
  Reader(const json& doc, const std::string& origin) : doc_(doc), origin_(origin) {}
  std::invalid_argument bad(const std::string& field, const std::string& why) const {
    return std::invalid_argument(origin_ + ": \"" + field + "\" " + why);
  }
  void check_keys() const {
    static const std::set<std::string> known = {"collective", "sizes",   "topologies", "algorithms",
                                                "backends",   "routing", "what_ifs",   "seeds"};
    if (!doc_.is_object()) throw std::invalid_argument(origin_ + ": a sweep file is one JSON object");
    for (const auto& [key, _] : doc_.items()) {
      if (!known.count(key)) {
        throw bad(key,
                  "is not a sweep key (known: collective, sizes, topologies, algorithms, backends, "
                  "routing, what_ifs, seeds)");
      }
    }
  }
  std::string label(const std::string& field, const std::string& text) const {
    if (text.empty() || text.size() > 64 ||
        text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-") !=
            std::string::npos) {
      throw bad(field,
                "label \"" + text + "\" must be 1-64 letters, digits, '_', '.', '+' or '-' (it names files)");
    }
    return text;
  }
  // A list of strings, each its own label (algorithms, backends, routing).
  std::vector<Value> words(const std::string& field, const std::string& option,
                           const std::vector<std::string>& fallback) const {
    std::vector<std::string> list = fallback;
    if (doc_.contains(field)) {
      const json& v = doc_.at(field);
      if (!v.is_array() || v.empty()) throw bad(field, "must be a non-empty list of strings");
      list.clear();
      for (const auto& e : v) {
        if (!e.is_string()) throw bad(field, "must be a list of strings");
        list.push_back(e.get<std::string>());
      }
    }
    std::vector<Value> out;
    std::set<std::string> seen;
    for (const auto& w : list) {
      if (!seen.insert(w).second) throw bad(field, "lists \"" + w + "\" twice");
      out.push_back({label(field, w), {option, w}});
    }
    return out;
  }
  std::vector<Value> topologies() const {
    if (!doc_.contains("topologies")) throw bad("topologies", "is missing: give {\"LABEL\": \"SPEC\", ...}");
    const json& v = doc_.at("topologies");
    if (!v.is_object() || v.empty()) throw bad("topologies", "must be a non-empty object of LABEL: SPEC");
    std::vector<Value> out;
    for (const auto& [name, spec] : v.items()) {
      if (!spec.is_string())
        throw bad("topologies", "value of \"" + name + "\" must be a topology spec string");
      out.push_back({label("topologies", name), {"--topology", spec.get<std::string>()}});
    }
    return out;
  }
  std::vector<Value> what_ifs() const {
    if (!doc_.contains("what_ifs")) return {{"healthy", {}}};
    const json& v = doc_.at("what_ifs");
    if (!v.is_object() || v.empty())
      throw bad("what_ifs", "must be a non-empty object of LABEL: {fail, degrade}");
    std::vector<Value> out;
    for (const auto& [name, w] : v.items()) {
      Value value{label("what_ifs", name), {}};
      if (!w.is_object())
        throw bad("what_ifs", "value of \"" + name + "\" must be {\"fail\": [...], \"degrade\": [...]}");
      for (const auto& [kind, events] : w.items()) {
        if (kind != "fail" && kind != "degrade")
          throw bad("what_ifs", "\"" + name + "\" has \"" + kind + "\" (known: fail, degrade)");
        if (!events.is_array())
          throw bad("what_ifs", "\"" + name + "\"." + kind + " must be a list of NODE/NODE@TIME");
        for (const auto& e : events) {
          if (!e.is_string())
            throw bad("what_ifs", "\"" + name + "\"." + kind + " must be a list of strings");
          value.args.insert(value.args.end(), {"--" + kind, e.get<std::string>()});
        }
      }
      out.push_back(std::move(value));
    }
    return out;
  }
  std::vector<Value> seeds() const {
    if (!doc_.contains("seeds")) return {{"seed0", {"--seed", "0"}}};
    const json& v = doc_.at("seeds");
    if (!v.is_array() || v.empty()) throw bad("seeds", "must be a non-empty list of integers");
    std::vector<Value> out;
    for (const auto& s : v) {
      if (!s.is_number_unsigned()) throw bad("seeds", "must be a list of non-negative integers");
      const std::string n = std::to_string(s.get<std::uint64_t>());
      out.push_back({"seed" + n, {"--seed", n}});
    }
    return out;
  }
  std::vector<std::string> sizes() const {
    if (!doc_.contains("sizes"))
      throw bad("sizes", "is missing: give {\"min\": \"1MiB\", \"max\": \"1GiB\", \"factor\": 2}");
    const json& v = doc_.at("sizes");
    if (!v.is_object()) throw bad("sizes", "must be {\"min\": SIZE, \"max\": SIZE, \"factor\": N}");
    std::vector<std::string> args;
    for (const auto& [key, option] : {std::pair{"min", "-b"}, {"max", "-e"}}) {
      if (!v.contains(key) || !v.at(key).is_string())
        throw bad(std::string("sizes.") + key, "must be a size such as \"64MiB\"");
      const std::string text = v.at(key).get<std::string>();
      try {
        parse_bytes(text);
      } catch (const std::invalid_argument& e) {
        throw bad(std::string("sizes.") + key, e.what());
      }
      args.insert(args.end(), {option, text});
    }
    for (const auto& [key, _] : v.items()) {
      if (key != "min" && key != "max" && key != "factor")
        throw bad("sizes." + key, "is not a size key (min, max, factor)");
    }
    if (v.contains("factor")) {
      if (!v.at("factor").is_number_unsigned() || v.at("factor").get<std::uint64_t>() < 2)
        throw bad("sizes.factor", "must be an integer of at least 2");
      args.insert(args.end(), {"-f", std::to_string(v.at("factor").get<std::uint64_t>())});
    }
    return args;
  }
  std::string collective() const {
    if (!doc_.contains("collective")) return "all_reduce";
    if (!doc_.at("collective").is_string())
      throw bad("collective", "must be a string such as \"all_reduce\"");
    return doc_.at("collective").get<std::string>();
  }

 private:
  const json& doc_;
  const std::string& origin_;
};

std::string hash_of(const std::vector<std::string>& args) {
  std::uint64_t h = 0x5157454550ULL;  // "SWEEP"
  for (const auto& a : args) {
    for (unsigned char c : a) h = splitmix64(h ^ c);
    h = splitmix64(h ^ 0x100);  // the separator: ["ab","c"] and ["a","bc"] differ
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

}  // namespace

Sweep expand_sweep(const std::string& json_text, const std::string& origin) {
  const json doc = parse_json_text(json_text, origin);
  const Reader r(doc, origin);
  r.check_keys();
  Sweep sweep;
  sweep.collective = r.collective();
  const std::vector<std::string> sizes = r.sizes();
  // The matrix's dimensions, in the order their labels join into a run's name.
  const std::vector<std::vector<Value>> dims = {r.topologies(),
                                                r.words("algorithms", "--algo", {}),
                                                r.words("backends", "--backend", {"analytic"}),
                                                r.words("routing", "--routing", {"ecmp"}),
                                                r.what_ifs(),
                                                r.seeds()};
  if (dims[1].empty()) throw r.bad("algorithms", "is missing: give a list such as [\"ring\", \"nccl\"]");
  double count = 1;
  for (const auto& d : dims) count *= static_cast<double>(d.size());
  if (count > static_cast<double>(kMaxSweepRuns)) {
    throw std::invalid_argument(origin + ": the matrix expands into " +
                                std::to_string(static_cast<std::uint64_t>(count)) + " runs, over the " +
                                std::to_string(kMaxSweepRuns) + " a sweep may hold (split it)");
  }
  std::vector<std::size_t> at(dims.size(), 0);
  std::set<std::string> names;
  for (bool more = true; more;) {
    const Value& backend = dims[2][at[2]];
    const Value& routing = dims[3][at[3]];
    const Value& what_if = dims[4][at[4]];
    std::string name;
    std::vector<std::string> args = {"--collective", sweep.collective};
    for (std::size_t d = 0; d < dims.size(); ++d) {
      const Value& v = dims[d][at[d]];
      // Routing only means something to the fabric models; the analytic model runs ECMP alone.
      if (d == 3 && backend.label == "analytic") continue;
      args.insert(args.end(), v.args.begin(), v.args.end());
      if (d < 3 || dims[d].size() > 1) name += (name.empty() ? "" : "-") + v.label;
    }
    args.insert(args.end(), sizes.begin(), sizes.end());
    if (backend.label == "analytic" && (routing.label != "ecmp" || !what_if.args.empty())) {
      sweep.skipped.push_back(name + ": the analytic model has no routing modes or link events");
    } else {
      // Labels may hold '-', which also joins them: two combinations can spell one name.
      if (!names.insert(name).second) {
        throw std::invalid_argument(origin + ": two runs would both be named \"" + name +
                                    "\" (labels joined by '-'): rename a label");
      }
      sweep.runs.push_back({sweep.runs.size(), name, args, hash_of(args)});
    }
    // The next combination: the last dimension turns fastest.
    more = false;
    for (std::size_t d = dims.size(); d-- > 0;) {
      if (++at[d] < dims[d].size()) {
        more = true;
        break;
      }
      at[d] = 0;
    }
  }
  return sweep;
}

namespace {

std::size_t number(const std::string& what, const char* text) {
  std::size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || text[used] != '\0' || text[0] == '-') {
    throw std::invalid_argument(what + " is \"" + text + "\", not a non-negative integer");
  }
  return static_cast<std::size_t>(v);
}

Shard checked(Shard s) {
  if (s.tasks == 0 || s.task >= s.tasks) {
    throw std::invalid_argument(s.source + ": task " + std::to_string(s.task) + " of " +
                                std::to_string(s.tasks) +
                                " is out of range (tasks count from 0 below the task count)");
  }
  return s;
}

}  // namespace

Shard shard_of(const std::string& option, const std::function<const char*(const char*)>& env) {
  if (!option.empty()) {
    const auto slash = option.find('/');
    if (slash == std::string::npos)
      throw std::invalid_argument("--shard \"" + option + "\": expected I/N, e.g. 0/4");
    return checked({number("--shard's task", option.substr(0, slash).c_str()),
                    number("--shard's task count", option.substr(slash + 1).c_str()), "--shard"});
  }
  if (const char* id = env("SLURM_ARRAY_TASK_ID")) {
    const char* count = env("SLURM_ARRAY_TASK_COUNT");
    const char* min = env("SLURM_ARRAY_TASK_MIN");
    if (count == nullptr)
      throw std::invalid_argument("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not");
    const std::size_t first = min ? number("SLURM_ARRAY_TASK_MIN", min) : 0;
    const std::size_t task = number("SLURM_ARRAY_TASK_ID", id);
    if (task < first) throw std::invalid_argument("SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN");
    return checked({task - first, number("SLURM_ARRAY_TASK_COUNT", count), "SLURM_ARRAY_TASK_ID"});
  }
  for (const auto& [rank, size] : {std::pair{"SLURM_PROCID", "SLURM_NTASKS"},
                                   {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                                   {"PMIX_RANK", "PMIX_SIZE"}}) {
    const char* r = env(rank);
    if (r == nullptr) continue;
    const char* n = env(size);
    if (n == nullptr) throw std::invalid_argument(std::string(rank) + " is set but " + size + " is not");
    return checked({number(rank, r), number(size, n), rank});
  }
  return {0, 1, "the whole sweep"};
}

}  // namespace fabtwin::experiment
