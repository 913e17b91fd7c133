// Plots drawn by gnuplot (the Debian package), never by hand: the comparison (busbw against size on a
// log axis, one curve per source, the error below) and the CI trend (busbw per run).
#pragma once

#include <string>
#include <vector>

#include "fabtwin/results/check.hpp"
#include "fabtwin/results/compare.hpp"

namespace fabtwin::results {

// The format follows the extension: .png (cairo) or .svg. Throws std::invalid_argument for another
// extension or a missing gnuplot, std::runtime_error with gnuplot's own message when it fails.
void plot_comparison(const Comparison& c, const std::string& path);
// Scenarios beyond this many are left out of a trend plot (a dashboard shows a handful per chart).
inline constexpr std::size_t kMaxTrendPanels = 6;
void plot_trend(const std::vector<Trend>& trends, const std::string& path, std::size_t max_sizes = 4);

// The terminal line for `path`, e.g. "set terminal pngcairo ...". Exposed for tests.
std::string gnuplot_terminal(const std::string& path, int width, int height);

}  // namespace fabtwin::results
