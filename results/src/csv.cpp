#include "fabtwin/results/csv.hpp"

#include <cstdio>

namespace fabtwin::results {

namespace {

std::string field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

std::string extra(const Row& r, const char* key) {
  const auto it = r.extra.find(key);
  if (it == r.extra.end()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

std::string to_csv(const ResultFile& f) {
  std::string out =
      "backend,collective,algorithm,ranks,dtype,op,root,size_bytes,count,placement,time_s,algbw_gbps,busbw_"
      "gbps,"
      "correctness,wrong,protocol,channels\n";
  const std::string first_placement =
      f.run.options.value("mode", std::string()) == "in_place" ? "in_place" : "out_of_place";
  for (const Row& r : f.rows) {
    const auto line = [&](const Timing& t, const std::string& placement) {
      out += field(r.backend.empty() ? f.run.backend : r.backend) + "," + field(f.run.collective) + "," +
             field(r.algorithm) + "," + std::to_string(f.run.ranks) + "," + field(r.dtype) + "," +
             field(r.op) + "," + std::to_string(r.root) + "," + std::to_string(r.size_bytes) + "," +
             std::to_string(r.count) + "," + placement + "," + number(t.time.count()) + "," +
             number(t.algbw_gbps) + "," + number(t.busbw_gbps) + "," + to_string(t.correctness) + "," +
             (t.wrong ? std::to_string(*t.wrong) : "") + "," + field(extra(r, "protocol")) + "," +
             field(extra(r, "channels")) + "\n";
    };
    const std::string placement = extra(r, "placement");
    line(r.timing, placement.empty() ? first_placement : placement);
    if (r.in_place) line(*r.in_place, "in_place");
  }
  return out;
}

}  // namespace fabtwin::results
