#include "table.hpp"

#include <cstdio>
#include <ostream>
#include <string>

namespace fabtwin::cli {

void print_table_header(std::ostream& out) {
  char line[256];
  std::snprintf(line, sizeof line, "#%11s %13s %9s %7s %5s %-20s %12s %8s %8s\n", "size", "count", "type",
                "redop", "root", "  algorithm", "time", "algbw", "busbw");
  out << line;
  std::snprintf(line, sizeof line, "#%11s %13s %9s %7s %5s %-20s %12s %8s %8s\n", "(B)", "(elements)", "", "",
                "", "", "(us)", "(GB/s)", "(GB/s)");
  out << line;
}

void print_table_row(std::ostream& out, const results::Row& row) {
  char line[256];
  // NCCL's algorithms name their protocol and channels as NCCL's TUNING line does.
  std::string algorithm = row.algorithm;
  if (row.extra.contains("protocol") && row.extra["protocol"].is_string() && row.extra.contains("channels")) {
    algorithm += "/" + row.extra["protocol"].get<std::string>() + "/" + row.extra["channels"].dump() + "ch";
  }
  std::snprintf(line, sizeof line, "%12llu %13llu %9s %7s %5d   %-18s %12.2f %8.2f %8.2f\n",
                static_cast<unsigned long long>(row.size_bytes), static_cast<unsigned long long>(row.count),
                row.dtype.c_str(), row.op.c_str(), row.root, algorithm.c_str(), row.timing.time.micros(),
                row.timing.algbw_gbps, row.timing.busbw_gbps);
  out << line;
}

}  // namespace fabtwin::cli
