// Building a results row from a timed collective call: the one place that knows how nccl-tests
// counts elements, names a collective without a reduction, and turns a time into algbw and busbw.
#pragma once

#include <cstdint>
#include <string>

#include "fabtwin/coll/plan.hpp"
#include "fabtwin/results/results.hpp"

namespace fabtwin::results {

// The timing of one call of `size_bytes` over `ranks` ranks: algbw and busbw as nccl-tests defines them.
Timing timing_of(coll::Collective c, std::int32_t ranks, std::uint64_t size_bytes, Seconds time);

// A row for one size of `plan` (its collective, size, count, dtype, op, root, algorithm) timed `time`
// over `ranks` ranks by `backend`. The count is per call as nccl-tests prints it (per rank where the
// size is the whole buffer across ranks); op is "none" for collectives without a reduction.
Row row_of(const coll::Plan& plan, std::int32_t ranks, const std::string& backend, Seconds time);

}  // namespace fabtwin::results
