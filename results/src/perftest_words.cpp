#include "perftest_words.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "fabtwin/files.hpp"
#include "fabtwin/results/results.hpp"
#include "json_reader.hpp"
#include "nccl_tests_words.hpp"

namespace fabtwin::results::perftest_words {

using nccl_words::tokens;
using nccl_words::trim;

namespace {

// Two-word column titles first ("BW average[...]"), then one-word ones.
std::string column_name(const std::string& w, const std::string& next, bool& two_words) {
  two_words = true;
  if (w == "BW" && next.rfind("peak[", 0) == 0) return "bw_peak";
  if (w == "BW" && next.rfind("average[", 0) == 0) return "bw_average";
  if (w == "BW" && next.rfind("Port1[", 0) == 0) return "port1_bw";
  if (w == "BW" && next.rfind("Port2[", 0) == 0) return "port2_bw";
  if (w == "MsgRate" && next == "Port1[Mpps]") return "port1_rate";
  if (w == "MsgRate" && next == "Port2[Mpps]") return "port2_rate";
  if (w == "99%" && next == "percentile[usec]") return "p99";
  if (w == "99.9%" && next == "percentile[usec]") return "p99_9";
  if (w == "tps" && next == "average") return "tps";
  two_words = false;
  static const std::map<std::string, std::string> one = {
      {"#bytes", "bytes"},           {"#iterations", "iterations"},    {"#sl", "sl"},
      {"MsgRate[Mpps]", "msg_rate"}, {"CPU_Util[%]", "cpu_util"},      {"t_min[usec]", "t_min"},
      {"t_max[usec]", "t_max"},      {"t_typical[usec]", "t_typical"}, {"t_avg[usec]", "t_avg"},
      {"t_stdev[usec]", "t_stdev"}};
  const auto it = one.find(w);
  return it == one.end() ? "" : it->second;
}

bool has(const std::vector<std::string>& cols, const char* name) {
  return std::find(cols.begin(), cols.end(), name) != cols.end();
}

}  // namespace

double unit_bytes(const std::string& unit) {
  return unit == "Gb/sec" ? kGigabit : kMebibyte;
}

std::vector<std::string> header_columns(const std::string& line) {
  const auto w = tokens(line);
  std::vector<std::string> cols;
  for (std::size_t i = 0; i < w.size(); ++i) {
    bool two = false;
    const std::string name = column_name(w[i], i + 1 < w.size() ? w[i + 1] : "", two);
    if (name.empty()) return {};
    cols.push_back(name);
    if (two) ++i;
  }
  const bool bandwidth = has(cols, "bw_average") && has(cols, "msg_rate");
  const bool latency = has(cols, "t_typical") || has(cols, "t_avg");
  if (cols.size() < 3 || cols[0] != "bytes" || bandwidth == latency) return {};
  return cols;
}

std::string header_unit(const std::string& line) {
  const auto at = line.find("average[");
  if (at == std::string::npos) return "";
  const auto end = line.find(']', at);
  const std::string unit = end == std::string::npos ? "" : line.substr(at + 8, end - at - 8);
  return unit == "MiB/sec" || unit == "MB/sec" || unit == "Gb/sec" ? unit : "";
}

PerftestRow parse_row(const std::vector<std::string>& cols, const std::vector<std::string>& w,
                      const std::string& at, const std::string& unit) {
  const auto fail = [&](const std::string& what) { throw InvalidResults(at + ": " + what); };
  if (w.size() != cols.size()) {
    fail("a row of " + std::to_string(w.size()) + " fields under a header of " + std::to_string(cols.size()) +
         " (cut short, or another run's lines mixed in?)");
  }
  std::map<std::string, double> v;
  PerftestRow r;
  r.at = at;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    if (cols[i] == "bytes" || cols[i] == "iterations" || cols[i] == "sl") {
      const auto n = nccl_words::whole_number(w[i]);
      if (!n) fail(cols[i] + " \"" + w[i] + "\" is not a whole number");
      if (cols[i] == "bytes") r.size_bytes = *n;
      if (cols[i] == "iterations") r.iterations = *n;
      continue;
    }
    std::size_t used = 0;
    double x = -1;
    try {
      x = std::stod(w[i], &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != w[i].size() || !std::isfinite(x) || x < 0)
      fail(cols[i] + " \"" + w[i] + "\" is not a non-negative number");
    v[cols[i]] = x;
  }
  if (r.size_bytes == 0) fail("size 0: no message to time");
  if (v.count("bw_average")) {
    r.bytes_per_second = v["bw_average"] * unit_bytes(unit);
    r.peak_bytes_per_second = v.count("bw_peak") ? v["bw_peak"] * unit_bytes(unit) : 0;
    r.message_rate = v["msg_rate"] * 1e6;
    // perftest computes both from the same elapsed time: bandwidth = rate x size, to the printed digits.
    const double from_rate = r.message_rate * static_cast<double>(r.size_bytes);
    const double slack =
        0.01 * r.bytes_per_second + 0.005 * unit_bytes(unit) + 0.5 * static_cast<double>(r.size_bytes);
    if (std::abs(r.bytes_per_second - from_rate) > slack) {
      fail("BW average " + w[std::find(cols.begin(), cols.end(), "bw_average") - cols.begin()] + " " + unit +
           " is not MsgRate x size (" + std::to_string(from_rate / unit_bytes(unit)) + " " + unit +
           "): not a row of the unit its header names");
    }
    if (!(r.bytes_per_second > 0)) fail("BW average 0: the run moved nothing");
    return r;
  }
  const auto us = [&](const char* k) { return Seconds(v.count(k) ? v[k] * 1e-6 : 0.0); };
  r.t_min = us("t_min");
  r.t_max = us("t_max");
  r.t_typical = v.count("t_typical") ? us("t_typical") : us("t_avg");
  r.t_avg = v.count("t_avg") ? us("t_avg") : us("t_typical");
  r.t_stdev = us("t_stdev");
  r.p99 = us("p99");
  r.p99_9 = us("p99_9");
  if (!(r.t_typical.count() > 0)) fail("latency 0");
  if (v.count("t_min") && v.count("t_max") && !(r.t_min <= r.t_typical && r.t_typical <= r.t_max)) {
    fail("t_typical is not between t_min and t_max: columns out of order?");
  }
  return r;
}

bool is_title(const std::string& line) {
  const auto w = tokens(line);
  if (w.size() < 3 || w.back() != "Test") return false;
  if (w[w.size() - 2] != "BW" && w[w.size() - 2] != "Latency") return false;
  return w[0].rfind("RDMA_", 0) == 0 || w[0].rfind("Send", 0) == 0 || w[0] == "Atomic";
}

void title_facts(const std::string& title, PerftestLog& log) {
  // Longest first: "RDMA_Write_imm" before "RDMA_Write".
  static const std::vector<std::pair<std::string, std::string>> verbs = {
      {"RDMA_Write_imm", "write_imm"}, {"RDMA_Write", "write"}, {"RDMA_Read", "read"},
      {"Send_imm", "send_imm"},        {"Send", "send"},        {"Atomic", "atomic"}};
  for (const auto& [name, verb] : verbs) {
    if (title.rfind(name, 0) == 0) {
      log.verb = verb;
      break;
    }
  }
  if (log.verb.empty() || log.verb == "atomic") {
    throw InvalidResults(
        log.origin + ": \"" + title +
        "\": fabtwin imports the write, read and send tests (ib_write_bw, ib_read_lat, ...), not "
        "this one");
  }
  log.bidirectional = title.find("Bidirectional") != std::string::npos;
  if (title.find("Latency") != std::string::npos) log.latency = true;
}

void banner_facts(const std::string& line, nlohmann::json& banner) {
  static const std::vector<std::pair<std::string, std::string>> keys = {{"Device", "device"},
                                                                        {"Number of qps", "qps"},
                                                                        {"Transport type", "transport"},
                                                                        {"Connection type", "connection"},
                                                                        {"Mtu", "mtu"},
                                                                        {"Link type", "link_type"},
                                                                        {"TX depth", "tx_depth"},
                                                                        {"GID index", "gid_index"},
                                                                        {"Max inline data", "max_inline"}};
  for (const auto& [key, name] : keys) {
    const auto at = line.find(key);
    if (at == std::string::npos || (at > 0 && !std::isspace(static_cast<unsigned char>(line[at - 1]))))
      continue;
    const auto colon = line.find_first_not_of(" \t", at + key.size());
    if (colon == std::string::npos || line[colon] != ':') continue;
    const auto value = tokens(line.substr(colon + 1));
    if (value.empty()) continue;
    std::string text = value.front();
    if (text.size() > 3 && text.compare(text.size() - 3, 3, "[B]") == 0) text.resize(text.size() - 3);
    const bool numeric =
        name == "qps" || name == "mtu" || name == "tx_depth" || name == "gid_index" || name == "max_inline";
    const auto n = nccl_words::whole_number(text);
    if (numeric && n) banner[name] = *n;
    if (!numeric) banner[name] = text;
  }
}

}  // namespace fabtwin::results::perftest_words
