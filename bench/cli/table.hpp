// The nccl-tests table layout that performance engineers read at a glance.
#pragma once

#include <iosfwd>

#include "fabtwin/results/results.hpp"

namespace fabtwin::cli {

void print_table_header(std::ostream& out);
void print_table_row(std::ostream& out, const results::Row& row);

}  // namespace fabtwin::cli
