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

void print_table_header(std::ostream& out, bool per_iteration) {
  char line[512];
  out << "#\n";
  if (!per_iteration) {
    std::snprintf(
        line, sizeof line,
        "# %10s  %12s  %8s  %6s  %6s           out-of-place                       in-place          \n", "",
        "", "", "", "");
    out << line;
    std::snprintf(line, sizeof line,
                  "# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %6s  %6s  %6s  %8s  %8s  %10s\n",
                  "size", "count", "type", "redop", "root", "time", "algbw", "busbw", "#wrong", "time",
                  "algbw", "busbw", "#wrong", "algo", "proto", "nchannels");
    out << line;
    std::snprintf(line, sizeof line, "# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %6s  %6s  %6s\n",
                  "(B)", "(elements)", "", "", "", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(GB/s)", "(GB/s)",
                  "");
    out << line;
    return;
  }
  std::snprintf(
      line, sizeof line,
      "# %10s  %12s  %8s  %6s  %6s              out-of-place (+ per-iteration)                      "
      "          in-place (+ per-iteration)\n",
      "", "", "", "", "");
  out << line;
  const char* half = "  %7s  %6s  %6s  %6s  %7s  %7s  %7s  %7s";
  const std::string names = std::string("# %10s  %12s  %8s  %6s  %6s") + half + half + "  %8s  %8s  %10s\n";
  std::snprintf(line, sizeof line, names.c_str(), "size", "count", "type", "redop", "root", "time", "algbw",
                "busbw", "#wrong", "i_min", "i_max", "i_p99", "i_cv%", "time", "algbw", "busbw", "#wrong",
                "i_min", "i_max", "i_p99", "i_cv%", "algo", "proto", "nchannels");
  out << line;
  const std::string units = std::string("# %10s  %12s  %8s  %6s  %6s") + half + half + "\n";
  std::snprintf(line, sizeof line, units.c_str(), "(B)", "(elements)", "", "", "", "(us)", "(GB/s)", "(GB/s)",
                "", "(us)", "(us)", "(us)", "(%)", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(us)", "(us)",
                "(%)");
  out << line;
}

namespace {

// i_min i_max i_p99 i_cv% of one half, N/A where the half or its statistics are missing.
std::string iterations(const results::Row& row, const char* key, bool present) {
  const auto it = row.extra.find(key);
  const bool have = present && it != row.extra.end() && it->is_object();
  std::string s;
  for (const char* k : {"min_us", "max_us", "p99_us", "cv_pct"}) {
    s += "  " + (have && it->contains(k) ? nccl_float(it->at(k).get<double>(), 7) : std::string("    N/A"));
  }
  return s;
}

}  // namespace

void print_table_row(std::ostream& out, const results::Row& row) {
  print_table_halves(out, row, row.timing, row.in_place);
}

void print_table_halves(std::ostream& out, const results::Row& row,
                        const std::optional<results::Timing>& out_of_place,
                        const std::optional<results::Timing>& in_place, bool per_iteration) {
  char line[512];
  std::snprintf(line, sizeof line, "%12llu  %12llu  %8s  %6s  %6d",
                static_cast<unsigned long long>(row.size_bytes), static_cast<unsigned long long>(row.count),
                row.dtype.c_str(), row.op.c_str(), row.root);
  out << line << half(out_of_place);
  if (per_iteration) out << iterations(row, "per_iteration", out_of_place.has_value());
  out << half(in_place);
  if (per_iteration) out << iterations(row, "in_place_per_iteration", in_place.has_value());
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
