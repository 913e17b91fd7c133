// A results file as one tidy CSV row per size and placement, for spreadsheets, pandas and R: the
// columns every row has, fixed, named, in SI units (seconds, GB/s = 10^9 bytes per second).
#pragma once

#include <string>

#include "fabtwin/results/results.hpp"

namespace fabtwin::results {

// The header line, then per row its out-of-place timing (placement "out_of_place", or "in_place" for
// a run of that placement alone) and its in-place one when it has both. Text fields are quoted when
// they hold a comma, a quote or a line break, as RFC 4180 says.
std::string to_csv(const ResultFile& f);

}  // namespace fabtwin::results
