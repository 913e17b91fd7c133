// nccl-tests' own table (the layout of nccl-tests 2.19), so that fabtwin's rows read, paste and import
// exactly as a real run's do. fabtwin's own columns follow the 13 of nccl-tests, named as rccl-tests
// names them with -M (algo, proto, nchannels).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "fabtwin/results/results.hpp"

namespace fabtwin::cli {

// nccl-tests' getFloatStr: two decimals, then one, then none, then an exponent, whichever fits `width`.
std::string nccl_float(double value, int width);

// `per_iteration`: nccl-tests -I's layout, i_min i_max i_p99 i_cv% after each half.
void print_table_header(std::ostream& out, bool per_iteration = false);
void print_table_row(std::ostream& out, const results::Row& row);
// The row's leading columns with the two halves given; a half without a measurement (run --inplace or
// --outplace) prints N/A in each of its columns.
// With `per_iteration`, each half is followed by the row's "per_iteration" (or "in_place_per_iteration").
void print_table_halves(std::ostream& out, const results::Row& row,
                        const std::optional<results::Timing>& out_of_place,
                        const std::optional<results::Timing>& in_place, bool per_iteration = false);

// The footer nccl-tests prints after the last row; `average_busbw` over every printed value.
void print_table_footer(std::ostream& out, std::uint64_t wrong, double average_busbw);

// Running total of the footer's figures, as nccl-tests counts them (each half of each row).
struct TableTotals {
  std::uint64_t wrong = 0;
  double busbw_sum = 0;
  int values = 0;
  void add(const results::Row& row);
  double average() const { return values > 0 ? busbw_sum / values : 0.0; }
};

}  // namespace fabtwin::cli
