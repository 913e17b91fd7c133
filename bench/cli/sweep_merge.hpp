// `fabtwin sweep --merge`: every run's results gathered from the folder into one table that ranks the
// designs per size (busbw, best first), a plot of them all, and the ranking as JSON.
#pragma once

#include <iosfwd>
#include <string>

#include "fabtwin/experiment/sweep.hpp"

namespace fabtwin::cli {

// Runs without results are listed and make the exit code 1; with none at all it throws
// std::invalid_argument naming the folder.
// The ranking's JSON is schema fabtwin-sweep-ranking (results/schemas/).
void merge_sweep(const std::string& sweep_file, const experiment::Sweep& sweep, const std::string& dir,
                 const std::string& plot, const std::string& json, std::ostream& out, int& exit_code);

}  // namespace fabtwin::cli
