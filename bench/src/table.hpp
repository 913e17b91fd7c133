// Result rows and the nccl-tests table layout that performance engineers read at a glance.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "fabtwin/coll/plan.hpp"
#include "fabtwin/units.hpp"

namespace fabtwin::cli {

struct ResultRow {
  std::uint64_t size_bytes = 0;
  std::uint64_t count = 0;  // elements per NCCL call, as nccl-tests prints it
  coll::DataType dtype = coll::DataType::float32;
  coll::ReduceOp op = coll::ReduceOp::sum;
  std::int32_t root = -1;
  std::string algorithm;
  Seconds time;
  double algbw_gbps = 0.0;
  double busbw_gbps = 0.0;
  bool reduces = true;  // nccl-tests prints redop "none" for collectives without a reduction
};

void print_table_header(std::ostream& out);
void print_table_row(std::ostream& out, const ResultRow& row);
nlohmann::json to_json(const ResultRow& row, const std::string& backend);

}  // namespace fabtwin::cli
