#include "nccl_ranks.hpp"

#include <algorithm>
#include <cmath>

namespace fabtwin::results::nccl_words {

namespace {

constexpr double kHalfDigit = 0.005 + 1e-9;  // the columns are printed with two decimals
constexpr std::int64_t kMostRanks = std::int64_t{1} << 24;

std::string lines_of(const std::vector<PrintedRow>& used) {
  if (used.empty()) return "";
  const int first = used.front().line;
  const int last = used.back().line;
  return first == last ? "line " + std::to_string(first)
                       : "lines " + std::to_string(first) + "-" + std::to_string(last);
}

InferredRanks from_counts(const std::vector<PrintedRow>& rows) {
  std::int64_t ranks = 0;
  std::vector<PrintedRow> used;
  for (const auto& r : rows) {
    if (r.count == 0 || r.element == 0) continue;
    const std::uint64_t per_rank = r.count * r.element;
    if (r.size % per_rank != 0) {
      return {0, "line " + std::to_string(r.line) + ": size " + std::to_string(r.size) +
                     " is not a whole number of ranks' counts; pass --ranks N"};
    }
    const auto n = static_cast<std::int64_t>(r.size / per_rank);
    if (ranks != 0 && n != ranks) {
      return {0, "lines " + std::to_string(used.front().line) + " and " + std::to_string(r.line) + " imply " +
                     std::to_string(ranks) + " and " + std::to_string(n) +
                     " ranks: pass --ranks N (or import each run on its own)"};
    }
    ranks = n;
    used.push_back(r);
  }
  if (ranks < 1 || ranks > kMostRanks) {
    return {0, "no row with a count to infer the rank count from: pass --ranks N"};
  }
  return {static_cast<std::int32_t>(ranks),
          "size / (count x element size) of " + lines_of(used) + " (nccl-tests prints a rank's count)"};
}

InferredRanks from_bus_factor(const std::vector<PrintedRow>& rows) {
  // busbw / algbw = 2(n-1)/n: bound it by what the printed digits allow, row by row.
  double lo = 0;
  double hi = 2;
  std::vector<PrintedRow> used;
  bool every_busbw_zero = true;
  for (const auto& r : rows) {
    if (r.busbw > 0) every_busbw_zero = false;
    if (r.algbw < 1.0) continue;  // too few digits to say anything
    lo = std::max(lo, std::max(0.0, r.busbw - kHalfDigit) / (r.algbw + kHalfDigit));
    hi = std::min(hi, (r.busbw + kHalfDigit) / (r.algbw - kHalfDigit));
    used.push_back(r);
  }
  if (used.empty()) {
    return {0, "every row's algbw is below 1 GB/s, too few digits to infer the rank count: pass --ranks N"};
  }
  if (every_busbw_zero) return {1, "busbw 0 on every row of " + lines_of(used) + " (one rank)"};
  if (lo > hi) {
    return {0, "the rows' busbw/algbw ratios disagree (" + lines_of(used) +
                   "): not one all-reduce run, or edited numbers; pass --ranks N"};
  }
  // f(n) = 2 - 2/n grows with n, so the bounds on f bound n.
  const auto first = static_cast<std::int64_t>(std::ceil(2.0 / (2.0 - lo) - 1e-9));
  const std::int64_t last =
      hi >= 2 ? kMostRanks : static_cast<std::int64_t>(std::floor(2.0 / (2.0 - hi) + 1e-9));
  if (first > last || first < 2) {
    return {0, "no rank count gives the busbw/algbw of " + lines_of(used) + ": pass --ranks N"};
  }
  if (first != last) {
    return {0, "the busbw/algbw of " + lines_of(used) + " fits " + std::to_string(first) + " to " +
                   (last == kMostRanks ? std::string("more") : std::to_string(last)) +
                   " ranks alike (two decimals are too few): pass --ranks N"};
  }
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.4f", 2.0 - 2.0 / static_cast<double>(first));
  return {static_cast<std::int32_t>(first),
          "busbw/algbw = 2(n-1)/n = " + std::string(ratio) + " on " + lines_of(used)};
}

}  // namespace

InferredRanks infer_ranks(coll::Collective c, const std::vector<PrintedRow>& rows) {
  switch (c) {
    case coll::Collective::all_reduce:
      return from_bus_factor(rows);
    case coll::Collective::reduce_scatter:
    case coll::Collective::all_gather:
    case coll::Collective::all_to_all:
      return from_counts(rows);
    default:
      return {0, std::string(coll::to_string(c)) +
                     " prints busbw = algbw and a count that does not depend on the rank count, so the "
                     "table cannot say it: pass --ranks N"};
  }
}

}  // namespace fabtwin::results::nccl_words
