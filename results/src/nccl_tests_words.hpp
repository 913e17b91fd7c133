// The words of an nccl-tests log: its table columns, its test binaries, its type names. Internal to
// the importer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fabtwin/coll/plan.hpp"

namespace fabtwin::results::nccl_words {

std::vector<std::string> tokens(const std::string& line);
std::string trim(const std::string& s);
std::optional<std::uint64_t> element_size(const std::string& type);
// all_reduce_perf, and the same built with a NAME_SUFFIX (all_reduce_perf_mpi).
std::optional<coll::Collective> collective_of_binary(const std::string& binary);
// Ranks' buffers are the whole size for these; the others print a per-rank count.
bool count_is_whole_size(coll::Collective c);
// A count as nccl-tests prints it: up to 19 digits, nothing else (no sign, no exponent).
std::optional<std::uint64_t> whole_number(const std::string& text);
// Inside the table, a line that starts like a row is one, even when its size is "N/A" or "-1": it is
// then refused naming the field, never skipped as if it were launcher chatter. `line` is not empty.
bool looks_like_a_row(const std::string& line);
// Half a unit of the last digit a number was printed with: 0.005 for "12.34", 0.5e6 for "1.2e+07"
// (nccl-tests prints long times with an exponent).
double printed_precision(const std::string& number);

}  // namespace fabtwin::results::nccl_words
