#include "iteration_stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace fabtwin::cli {

nlohmann::json per_iteration_stats(const std::vector<std::vector<double>>& rank_times, int skip) {
  std::size_t iterations = rank_times.empty() ? 0 : rank_times.front().size();
  for (const auto& r : rank_times) iterations = std::min(iterations, r.size());
  if (skip < 0 || static_cast<std::size_t>(skip) >= iterations) {
    throw std::invalid_argument("-K/--per_iter_skip " + std::to_string(skip) + " leaves none of the " +
                                std::to_string(iterations) + " timed iterations");
  }
  std::vector<double> slowest;
  for (std::size_t i = static_cast<std::size_t>(skip); i < iterations; ++i) {
    double t = 0;
    for (const auto& r : rank_times) t = std::max(t, r[i]);
    slowest.push_back(t);
  }
  std::sort(slowest.begin(), slowest.end());
  const std::size_t n = slowest.size();
  const double mean = std::accumulate(slowest.begin(), slowest.end(), 0.0) / static_cast<double>(n);
  double var = 0;
  for (const double t : slowest) var += (t - mean) * (t - mean);
  const double stdev = std::sqrt(var / static_cast<double>(n));
  const std::size_t p99 = std::min(n - 1, (n * 99 + 99) / 100 - 1);
  return {{"min_us", slowest.front() * 1e6},
          {"max_us", slowest.back() * 1e6},
          {"p99_us", slowest[p99] * 1e6},
          {"cv_pct", mean > 0 ? stdev / mean * 100.0 : 0.0},
          {"skipped_iterations", skip}};
}

}  // namespace fabtwin::cli
