#include "fabtwin/verbs/placement.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>

namespace fabtwin::verbs {

namespace {

std::uint64_t whole(const std::string& option, const std::string& text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) {
    throw std::invalid_argument(option + ": \"" + text + "\" is not a host number");
  }
  return std::stoull(text);
}

// "001-004,010" -> {"001", "002", "003", "004", "010"}, each as wide as its range's first bound.
std::vector<std::string> expand_ranges(const std::string& option, const std::string& ranges,
                                       std::size_t max) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= ranges.size()) {
    const auto comma = std::min(ranges.find(',', at), ranges.size());
    const std::string part = ranges.substr(at, comma - at);
    const auto dash = part.find('-');
    const std::string lo = part.substr(0, dash);
    const std::string hi = dash == std::string::npos ? lo : part.substr(dash + 1);
    const std::uint64_t a = whole(option, lo), b = whole(option, hi);
    if (b < a) throw std::invalid_argument(option + ": range \"" + part + "\" runs backwards");
    if (b - a + 1 > max || out.size() + (b - a + 1) > max) throw std::length_error("too many hosts");
    for (std::uint64_t v = a; v <= b; ++v) {
      std::string s = std::to_string(v);
      if (s.size() < lo.size()) s.insert(0, lo.size() - s.size(), '0');
      out.push_back(s);
    }
    at = comma + 1;
  }
  return out;
}

// One name of the list: text and bracket groups, each group multiplying the names so far.
std::vector<std::string> expand_name(const std::string& option, const std::string& name, std::size_t max) {
  std::vector<std::string> names = {""};
  std::size_t at = 0;
  while (at < name.size()) {
    const auto open = name.find('[', at);
    const std::string text = name.substr(at, open == std::string::npos ? std::string::npos : open - at);
    if (text.find(']') != std::string::npos)
      throw std::invalid_argument(option + ": unmatched ']' in \"" + name + "\"");
    for (auto& n : names) n += text;
    if (open == std::string::npos) break;
    const auto close = name.find(']', open);
    if (close == std::string::npos)
      throw std::invalid_argument(option + ": unmatched '[' in \"" + name + "\"");
    const auto values = expand_ranges(option, name.substr(open + 1, close - open - 1), max);
    if (names.size() * values.size() > max) throw std::length_error("too many hosts");
    std::vector<std::string> next;
    for (const auto& n : names) {
      for (const auto& v : values) next.push_back(n + v);
    }
    names = std::move(next);
    at = close + 1;
  }
  return names;
}

}  // namespace

std::vector<std::string> expand_hostlist(const std::string& option, const std::string& text,
                                         std::size_t max_hosts) {
  std::vector<std::string> hosts;
  std::string name;
  int depth = 0;
  const auto flush = [&] {
    if (name.empty()) throw std::invalid_argument(option + ": an empty host name in \"" + text + "\"");
    try {
      if (hosts.size() >= max_hosts) throw std::length_error("too many hosts");
      for (auto& h : expand_name(option, name, max_hosts - hosts.size())) hosts.push_back(std::move(h));
    } catch (const std::length_error&) {
      throw std::invalid_argument(option + ": more than " + std::to_string(max_hosts) + " hosts in \"" +
                                  text.substr(0, 80) + "\"");
    }
    name.clear();
  };
  for (const char c : text) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (depth < 0 || depth > 1)
      throw std::invalid_argument(option + ": unbalanced brackets in \"" + text + "\"");
    if (c == ',' && depth == 0) {
      flush();
      continue;
    }
    name += c;
  }
  if (depth != 0) throw std::invalid_argument(option + ": unbalanced brackets in \"" + text + "\"");
  flush();
  return hosts;
}

std::optional<std::int32_t> local_rank(const EnvLookup& env, std::string* source) {
  for (const char* var :
       {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID", "PMIX_LOCAL_RANK"}) {
    const auto v = env(var);
    if (!v) continue;
    char* end = nullptr;
    errno = 0;
    const long r = std::strtol(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || errno != 0 || r < 0 || r > (1 << 24)) {
      throw std::invalid_argument(std::string(var) + ": expected a non-negative integer, got \"" + *v + "\"");
    }
    if (source) *source = var;
    return static_cast<std::int32_t>(r);
  }
  return std::nullopt;
}

std::optional<std::string> slurm_root(const EnvLookup& env) {
  const auto job = env("SLURM_JOB_ID");
  const char* list_var = env("SLURM_STEP_NODELIST") ? "SLURM_STEP_NODELIST" : "SLURM_JOB_NODELIST";
  const auto list = env(list_var);
  if (!job || !list) return std::nullopt;
  const std::uint64_t id = whole("SLURM_JOB_ID", *job);
  const auto step = env("SLURM_STEP_ID");
  // Batch and interactive steps have symbolic ids; any number is as good as another there.
  const std::uint64_t s = step && !step->empty() &&
                                  step->find_first_not_of("0123456789") == std::string::npos &&
                                  step->size() < 10
                              ? std::stoull(*step)
                              : 0;
  const std::uint64_t port = 20000 + (id * 31 + s) % 20000;
  return expand_hostlist(list_var, *list).front() + ":" + std::to_string(port);
}

HcaList parse_hca_list(const std::string& option, const std::string& text) {
  HcaList l;
  std::string rest = text;
  if (!rest.empty() && rest[0] == '^') {
    l.exclude = true;
    rest.erase(0, 1);
  }
  if (!rest.empty() && rest[0] == '=') {
    l.exact = true;
    rest.erase(0, 1);
  }
  std::size_t at = 0;
  while (at <= rest.size()) {
    const auto comma = std::min(rest.find(',', at), rest.size());
    const std::string item = rest.substr(at, comma - at);
    const auto colon = item.find(':');
    HcaEntry e;
    e.name = item.substr(0, colon);
    if (e.name.empty()) throw std::invalid_argument(option + ": an empty device name in \"" + text + "\"");
    if (colon != std::string::npos) {
      const std::string port = item.substr(colon + 1);
      if (port.empty() || port.size() > 3 || port.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(port) < 1 || std::stoi(port) > 255) {
        throw std::invalid_argument(option + ": port \"" + port + "\" of " + e.name + " is not 1..255");
      }
      e.port = std::stoi(port);
    }
    l.entries.push_back(e);
    at = comma + 1;
  }
  return l;
}

std::vector<HcaEntry> admitted_devices(const HcaList& list, const std::vector<std::string>& available) {
  std::vector<HcaEntry> out;
  for (const auto& dev : available) {
    const auto match = std::find_if(list.entries.begin(), list.entries.end(), [&](const HcaEntry& e) {
      return list.exact ? dev == e.name : dev.rfind(e.name, 0) == 0;
    });
    if (list.exclude && match == list.entries.end()) out.push_back({dev, 0});
    if (!list.exclude && match != list.entries.end()) out.push_back({dev, match->port});
  }
  return out;
}

HcaEntry device_for_local_rank(const std::string& option, const HcaList& list,
                               const std::vector<std::string>& available, std::int32_t local_rank) {
  const auto admitted = admitted_devices(list, available);
  if (admitted.empty()) {
    std::string names;
    for (const auto& d : available) names += (names.empty() ? "" : ", ") + d;
    throw std::invalid_argument(option + " admits none of the RDMA devices here (" +
                                (names.empty() ? std::string("none") : names) + ")");
  }
  return admitted[static_cast<std::size_t>(local_rank) % admitted.size()];
}

}  // namespace fabtwin::verbs
