#include <cmath>

#include "fabtwin/files.hpp"
#include "fabtwin/results/results.hpp"
#include "json_reader.hpp"
#include "perftest_words.hpp"

namespace fabtwin::results::perftest_words {

namespace {

// The file names no unit: BW_average is MiB/s, or Gb/s after --report_gbits. The message rate, in
// 10^6 messages per second in both, tells which: bandwidth = rate x size.
std::string unit_of(const Field& results, double bw, double rate, std::uint64_t size) {
  const double bytes = rate * 1e6 * static_cast<double>(size);
  for (const auto& [unit, factor] : {std::pair{"MiB/sec", kMebibyte}, std::pair{"Gb/sec", kGigabit}}) {
    if (std::abs(bw * factor - bytes) <= 0.02 * bytes + 0.005 * factor) return unit;
  }
  results.fail("BW_average " + std::to_string(bw) + " is neither MsgRate x MsgSize in MiB/s nor in Gb/s");
}

// "RDMA_Write_Bidirectional_BW_Test" -> "RDMA_Write Bidirectional BW Test"
std::string spaced(std::string name) {
  for (const char* joined :
       {"_Bidirectional", "_Post_List", "_BW", "_Latency", "_Test", "_forwarding", "_Multicast"}) {
    for (auto at = name.find(joined); at != std::string::npos; at = name.find(joined, at + 1)) name[at] = ' ';
  }
  return name;
}

}  // namespace

PerftestLog read_perftest_json(const std::string& text, const std::string& origin) {
  nlohmann::json j;
  try {
    j = parse_json_text(text, origin);
  } catch (const std::invalid_argument& e) {
    throw InvalidResults(
        std::string(e.what()) +
        " (perftest before 6.20 (24.01) wrote --out_json with unquoted keys: import its text "
        "output instead)");
  }
  const Field root(j, origin);
  PerftestLog log;
  log.origin = origin;
  log.format = "json";
  const Field info = root.at("test_info");
  log.test = info.at("test").string();
  title_facts(spaced(log.test), log);
  for (const auto& [key, name] :
       {std::pair{"Device", "device"}, std::pair{"Number_of_qps", "qps"},
        std::pair{"Connection_type", "connection"}, std::pair{"Mtu", "mtu"},
        std::pair{"Link_type", "link_type"}, std::pair{"Transport_type", "transport"}}) {
    // Kept only when of the type perftest writes: a device is a name, an MTU a number.
    const auto f = info.find(key);
    const bool numeric = std::string(name) == "qps" || std::string(name) == "mtu";
    if (f && (numeric ? f->json().is_number_unsigned() : f->json().is_string())) log.banner[name] = f->json();
  }
  const Field results = root.at("results");
  PerftestRow r;
  r.at = origin + ": /results";
  r.size_bytes = results.at("MsgSize").unsigned_integer();
  r.iterations = results.at("n_iterations").unsigned_integer();
  if (r.size_bytes == 0) results.at("MsgSize").fail("size 0: no message to time");
  if (log.latency) {
    const auto us = [&](const char* k) { return Seconds(results.at(k).number() * 1e-6); };
    const bool duration = !results.find("t_typical");
    r.t_avg = us("t_avg");
    r.t_typical = duration ? r.t_avg : us("t_typical");
    if (!duration) {
      r.t_min = us("t_min");
      r.t_max = us("t_max");
      r.t_stdev = us("t_stdev");
      r.p99 = us("percentile_99");
      r.p99_9 = us("percentile_99.9");
    }
    if (!(r.t_typical.count() > 0)) results.fail("latency 0");
    log.unit = "usec";
  } else {
    const double bw = results.at("BW_average").number();
    const double rate = results.at("MsgRate").number();
    if (!(bw > 0) || !(rate > 0)) results.fail("BW_average or MsgRate is 0: the run moved nothing");
    log.unit = unit_of(results, bw, rate, r.size_bytes);
    const double factor = unit_bytes(log.unit);
    r.bytes_per_second = bw * factor;
    r.peak_bytes_per_second = results.find("BW_peak") ? results.at("BW_peak").number() * factor : 0;
    r.message_rate = rate * 1e6;
  }
  log.rows.push_back(r);
  return log;
}

}  // namespace fabtwin::results::perftest_words
