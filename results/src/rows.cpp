#include "fabtwin/results/rows.hpp"

#include "fabtwin/coll/metrics.hpp"

namespace fabtwin::results {

Timing timing_of(coll::Collective c, std::int32_t ranks, std::uint64_t size_bytes, Seconds time) {
  const auto bw = coll::bandwidth(c, ranks, Bytes(size_bytes), time);
  Timing t;
  t.time = time;
  t.algbw_gbps = bw.algbw_gbps;
  t.busbw_gbps = bw.busbw_gbps;
  return t;
}

Row row_of(const coll::Plan& plan, std::int32_t ranks, const std::string& backend, Seconds time) {
  const coll::Collective c = plan.collective;
  const bool per_rank = c == coll::Collective::reduce_scatter || c == coll::Collective::all_gather ||
                        c == coll::Collective::all_to_all;
  Row row;
  row.size_bytes = plan.size_bytes;
  row.count = per_rank ? plan.count / static_cast<std::uint64_t>(ranks) : plan.count;
  row.dtype = coll::to_string(plan.dtype);
  row.op = coll::has_reduction(c) ? coll::to_string(plan.op) : "none";
  row.root = plan.root;
  row.algorithm = plan.algorithm;
  row.backend = backend;
  row.timing = timing_of(c, ranks, plan.size_bytes, time);
  if (!plan.protocol.empty()) {
    row.extra["protocol"] = plan.protocol.name;
    row.extra["channels"] = plan.channels;
  }
  return row;
}

}  // namespace fabtwin::results
