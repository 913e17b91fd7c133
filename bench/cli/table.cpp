#include "table.hpp"

#include <cstdio>
#include <ostream>

namespace fabtwin::cli {

std::string nccl_float(double value, int width) {
  char buf[64];
  for (const int decimals : {2, 1, 0}) {
    const int n = std::snprintf(buf, sizeof buf, "%*.*f", width, decimals, value);
    if (n <= width) return buf;
  }
  std::snprintf(buf, sizeof buf, width >= 7 ? "%*.1e" : "%*.0e", width, value);
  return std::string(buf).substr(0, static_cast<std::size_t>(width));
}

namespace {

std::string half(const std::optional<results::Timing>& t) {
  char buf[96];
  if (!t) {
    std::snprintf(buf, sizeof buf, "  %7s  %6s  %6s  %6s", "N/A", "N/A", "N/A", "N/A");
    return buf;
  }
  const std::string wrong =
      t->correctness == results::Correctness::not_checked ? std::string("   N/A") : [&] {
        char w[32];
        std::snprintf(w, sizeof w, "%6g", static_cast<double>(t->wrong.value_or(0)));
        return std::string(w);
      }();
  std::snprintf(buf, sizeof buf, "  %7s  %6s  %6s  %s", nccl_float(t->time.micros(), 7).c_str(),
                nccl_float(t->algbw_gbps, 6).c_str(), nccl_float(t->busbw_gbps, 6).c_str(), wrong.c_str());
  return buf;
}

}  // namespace

void print_table_header(std::ostream& out) {
  char line[320];
  out << "#\n";
  std::snprintf(
      line, sizeof line,
      "# %10s  %12s  %8s  %6s  %6s           out-of-place                       in-place          \n", "", "",
      "", "", "");
  out << line;
  std::snprintf(line, sizeof line,
                "# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %6s  %6s  %6s  %8s  %8s  %10s\n",
                "size", "count", "type", "redop", "root", "time", "algbw", "busbw", "#wrong", "time", "algbw",
                "busbw", "#wrong", "algo", "proto", "nchannels");
  out << line;
  std::snprintf(line, sizeof line, "# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %6s  %6s  %6s\n",
                "(B)", "(elements)", "", "", "", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(GB/s)", "(GB/s)",
                "");
  out << line;
}

void print_table_row(std::ostream& out, const results::Row& row) {
  print_table_halves(out, row, row.timing, row.in_place);
}

void print_table_halves(std::ostream& out, const results::Row& row,
                        const std::optional<results::Timing>& out_of_place,
                        const std::optional<results::Timing>& in_place) {
  char line[512];
  std::snprintf(line, sizeof line, "%12llu  %12llu  %8s  %6s  %6d",
                static_cast<unsigned long long>(row.size_bytes), static_cast<unsigned long long>(row.count),
                row.dtype.c_str(), row.op.c_str(), row.root);
  out << line << half(out_of_place) << half(in_place);
  // NCCL's algorithms name their protocol and channels as NCCL's TUNING line does; others have none.
  const auto& x = row.extra;
  const bool nccl = x.contains("protocol") && x["protocol"].is_string() && x.contains("channels");
  std::snprintf(line, sizeof line, "  %8s  %8s  %10s\n", row.algorithm.c_str(),
                nccl ? x["protocol"].get<std::string>().c_str() : "N/A",
                nccl ? x["channels"].dump().c_str() : "N/A");
  out << line;
}

void print_table_footer(std::ostream& out, std::uint64_t wrong, double average_busbw) {
  char line[128];
  std::snprintf(line, sizeof line, "# %-20s : %llu %s\n", "Out of bounds values",
                static_cast<unsigned long long>(wrong), wrong ? "FAILED" : "OK");
  out << line;
  std::snprintf(line, sizeof line, "# %-20s : %g \n", "Avg bus bandwidth", average_busbw);
  out << line << "#\n";
}

void TableTotals::add(const results::Row& row) {
  for (const auto* t : {&row.timing, row.in_place ? &*row.in_place : nullptr}) {
    if (!t) continue;
    wrong += t->wrong.value_or(0);
    busbw_sum += t->busbw_gbps;
    ++values;
  }
}

}  // namespace fabtwin::cli
