#include "nccl_rows.hpp"

#include <cmath>

#include "fabtwin/coll/metrics.hpp"
#include "nccl_tests_words.hpp"

namespace fabtwin::results::nccl_words {

bool gpu_time_too_coarse(const ParsedRow& r) {
  for (const ParsedTiming* h : {&r.out_of_place, &r.in_place}) {
    if (h->present && h->cputime_us && h->time_precision > 0.01) return true;
  }
  return false;
}

std::string row_place(const std::string& origin, const ParsedRow& r) {
  return r.json_path.empty() ? origin + ":" + std::to_string(r.line) : origin + ": " + r.json_path;
}

Timing checked_timing(const std::string& origin, const ParsedRow& r, const ParsedTiming& t,
                      coll::Collective c, std::int32_t ranks, const char* which) {
  const auto fail = [&](const std::string& what) {
    throw InvalidResults(row_place(origin, r) + ": " + what);
  };
  if (!(t.time_us > 0)) fail(std::string(which) + " time is zero: no bandwidth to import");
  Timing out;
  out.time = Seconds(t.time_us * 1e-6);
  // Recomputed from size and time: the printed bandwidths have two decimals, too few for small sizes.
  const auto bw = coll::bandwidth(c, ranks, Bytes(r.size), out.time);
  out.algbw_gbps = bw.algbw_gbps;
  out.busbw_gbps = bw.busbw_gbps;
  // Time is printed to about four significant digits and bandwidths to two decimals.
  const auto agrees = [&](double printed, double computed) {
    return std::abs(printed - computed) <= 0.011 + (0.005 + t.time_precision) * computed;
  };
  if (!agrees(t.algbw, bw.algbw_gbps)) {
    fail(std::string(which) + " algbw " + std::to_string(t.algbw) + " GB/s is not size / time (" +
         std::to_string(bw.algbw_gbps) + " GB/s): not an nccl-tests table this importer understands");
  }
  if (!agrees(t.busbw, bw.busbw_gbps)) {
    fail(std::string(which) + " busbw " + std::to_string(t.busbw) + " GB/s does not match " +
         coll::to_string(c) + " over " + std::to_string(ranks) + " ranks (" + std::to_string(bw.busbw_gbps) +
         " GB/s): wrong --collective, or a rank list that does not match the run?");
  }
  if (t.wrong == "N/A") {
    out.correctness = Correctness::not_checked;
  } else {
    const auto wrong = whole_number(t.wrong);
    if (!wrong) fail(std::string(which) + " #wrong \"" + t.wrong + "\" is neither a count nor N/A");
    out.correctness = *wrong == 0 ? Correctness::pass : Correctness::fail;
    out.wrong = *wrong;
  }
  return out;
}

}  // namespace fabtwin::results::nccl_words
