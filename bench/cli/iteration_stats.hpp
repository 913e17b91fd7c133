// nccl-tests' per-iteration report (-I): each iteration's time is the slowest rank's, and the summary
// over the iterations after the first `skip` gives min, max, p99 (nearest rank, as nccl-tests indexes
// it) and the coefficient of variation (population stdev / mean, in percent).
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

namespace fabtwin::cli {

// `rank_times[r][i]`: rank r's iteration i, in seconds. Returns {"min_us", "max_us", "p99_us",
// "cv_pct", "skipped_iterations"}; throws std::invalid_argument when no iteration is left after skip.
nlohmann::json per_iteration_stats(const std::vector<std::vector<double>>& rank_times, int skip);

}  // namespace fabtwin::cli
