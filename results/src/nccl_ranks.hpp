// The rank count of a published nccl-tests table that does not list its ranks, read back from the
// numbers nccl-tests derived from it. Internal to the importer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fabtwin/coll/plan.hpp"

namespace fabtwin::results::nccl_words {

struct PrintedRow {
  int line = 0;
  std::uint64_t size = 0;
  std::uint64_t count = 0;
  std::uint64_t element = 0;
  double algbw = 0;  // GB/s as printed, two decimals
  double busbw = 0;
};

struct InferredRanks {
  std::int32_t ranks = 0;  // 0: refused, `said` says why and what to pass
  std::string said;        // how it was inferred, from which lines
};

// Gathers collectives print a rank's count, so size / (count x element) is the rank count; all-reduce
// prints busbw = algbw x 2(n-1)/n, so the two-decimal columns bound n. Broadcast and reduce carry no
// trace of it. Refuses rows that disagree and bounds that leave more than one count.
InferredRanks infer_ranks(coll::Collective c, const std::vector<PrintedRow>& rows);

}  // namespace fabtwin::results::nccl_words
