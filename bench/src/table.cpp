#include "table.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

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

void print_table_row(std::ostream& out, const ResultRow& row) {
  char line[256];
  std::snprintf(line, sizeof line, "%12llu %13llu %9s %7s %5d   %-18s %12.2f %8.2f %8.2f\n",
                static_cast<unsigned long long>(row.size_bytes), static_cast<unsigned long long>(row.count),
                coll::to_string(row.dtype), row.reduces ? coll::to_string(row.op) : "none", row.root,
                row.algorithm.c_str(), row.time.micros(), row.algbw_gbps, row.busbw_gbps);
  out << line;
}

nlohmann::json to_json(const ResultRow& row, const std::string& backend) {
  return {{"size_bytes", row.size_bytes},
          {"count", row.count},
          {"dtype", coll::to_string(row.dtype)},
          {"op", row.reduces ? coll::to_string(row.op) : "none"},
          {"root", row.root},
          {"algorithm", row.algorithm},
          {"time_s", row.time.count()},
          {"time_us", row.time.micros()},
          {"algbw_gbps", row.algbw_gbps},
          {"busbw_gbps", row.busbw_gbps},
          {"backend", backend}};
}

}  // namespace fabtwin::cli
