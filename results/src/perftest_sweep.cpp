#include <map>

#include "fabtwin/results/perftest.hpp"
#include "fabtwin/results/results.hpp"

namespace fabtwin::results {

namespace {

nlohmann::json source_of(const PerftestLog& log) {
  return {{"file", log.origin},
          {"format", log.format},
          {"test", log.test},
          {"unit", log.unit},
          {"sizes", log.rows.size()}};
}

}  // namespace

nlohmann::json perftest_sweep(const PerftestLog& bw, const PerftestLog& lat, nlohmann::json provenance) {
  if (bw.latency || !lat.latency) {
    throw InvalidResults(bw.origin + ", " + lat.origin +
                         ": a sweep needs one bandwidth run (ib_write_bw, ...) and one "
                         "latency run (ib_write_lat, ...); these are " +
                         (bw.latency ? "latency" : "bandwidth") + " and " +
                         (lat.latency ? "latency" : "bandwidth") + " runs");
  }
  // _imm variants move data as their plain verb does.
  const auto base = [](const std::string& v) { return v.substr(0, v.find("_imm")); };
  if (base(bw.verb) != base(lat.verb)) {
    throw InvalidResults(bw.origin + ", " + lat.origin + ": the bandwidth run is " + bw.verb +
                         " and the latency run " + lat.verb + ": give two runs of the same verb");
  }
  std::map<std::uint64_t, const PerftestRow*> latency;
  for (const auto& r : lat.rows) latency[r.size_bytes] = &r;
  // A read's latency is its whole round trip (request out, data back); write and send report half one.
  const double one_way = base(lat.verb) == "read" ? 0.5 : 1.0;
  // -b sums both directions; one direction carries half.
  const double direction = bw.bidirectional ? 0.5 : 1.0;
  nlohmann::json rows = nlohmann::json::array();
  std::vector<std::uint64_t> unpaired;
  for (const auto& r : bw.rows) {
    const auto it = latency.find(r.size_bytes);
    if (it == latency.end()) {
      unpaired.push_back(r.size_bytes);
      continue;
    }
    const double bytes_per_second = r.bytes_per_second * direction;
    rows.push_back({{"size_bytes", r.size_bytes},
                    {"iterations", r.iterations},
                    {"time_s", static_cast<double>(r.size_bytes) / bytes_per_second},
                    {"bw_gbps", bytes_per_second / 1e9},
                    {"latency_s", it->second->t_typical.count() * one_way},
                    {"backend", "perftest"}});
    latency.erase(it);
  }
  for (const auto& [size, row] : latency) unpaired.push_back(size);
  if (rows.empty()) {
    throw InvalidResults(bw.origin + ", " + lat.origin +
                         ": no message size is in both runs (run both with -a, or "
                         "with the same -s)");
  }
  const std::string device = bw.banner.value("device", lat.banner.value("device", std::string("unknown")));
  provenance["device"] = device;
  if (!provenance.contains("host")) provenance["host"] = "unknown";
  provenance["source"] = {
      {"tool", "perftest"},
      {"bandwidth", source_of(bw)},
      {"latency", source_of(lat)},
      {"latency_statistic",
       std::string("t_typical (the median)") + (one_way < 1 ? ", halved: a read's is a round trip" : "")}};
  if (bw.bidirectional) provenance["source"]["bidirectional"] = "-b sums both directions: halved to one";
  if (!unpaired.empty()) provenance["source"]["sizes_in_one_run_only"] = unpaired;
  nlohmann::json run = {{"backend", "perftest"},
                        {"collective", "p2p_" + base(bw.verb)},
                        {"algorithm", "rdma_" + base(bw.verb)},
                        {"ranks", 2},
                        {"device", device}};
  for (const auto& [k, v] : bw.banner.items()) {
    if (k != "device") run[k] = v;
  }
  return {{"schema", kSchemaName},
          {"schema_version", kSchemaVersion},
          {"provenance", provenance},
          {"run", run},
          {"rows", rows}};
}

}  // namespace fabtwin::results
