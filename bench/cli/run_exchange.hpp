// What the ranks of `fabtwin run` tell each other after each measurement: every rank's time, error
// count and (with -I) iteration times, combined into the job's figures as nccl-tests combines them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "fabtwin/units.hpp"
#include "fabtwin/verbs/bench.hpp"
#include "fabtwin/verbs/bootstrap.hpp"

namespace fabtwin::cli {

struct ModeResult {
  Seconds time;  // each rank's mean iteration time, combined over ranks as -a says
  std::uint64_t wrong = 0;
  std::string first_wrong;
  std::optional<nlohmann::json> per_iteration;  // -I: per_iteration_stats of every rank's iterations
};

// nccl-tests -a: 0 rank 0's time, 1 the mean over ranks, 2 the least, 3 the most.
inline constexpr const char* kAverageNames[] = {"of rank 0", "averaged over ranks", "the least over ranks",
                                                "the most over ranks"};

// Every rank contributes, every rank gets the job's figures. `per_iteration_skip` < 0: no -I.
ModeResult combine(verbs::Bootstrap& boot, const verbs::CollectiveMeasurement& m, const std::string& what,
                   int average, int per_iteration_skip);

}  // namespace fabtwin::cli
