#include "run_exchange.hpp"

#include <algorithm>
#include <numeric>
#include <sstream>
#include <vector>

#include "iteration_stats.hpp"

namespace fabtwin::cli {

ModeResult combine(verbs::Bootstrap& boot, const verbs::CollectiveMeasurement& m, const std::string& what,
                   int average, int per_iteration_skip) {
  const bool per_iteration = per_iteration_skip >= 0;
  std::ostringstream mine;
  mine.precision(17);
  mine << m.mean_time.count() << " " << m.wrong;
  if (per_iteration) {
    mine << " " << m.iteration_times.size();
    for (const double t : m.iteration_times) mine << " " << t;
  }
  mine << "\n" << m.first_wrong;
  ModeResult r;
  std::vector<double> times;
  std::vector<std::vector<double>> iterations;
  int rank = 0;
  for (const std::string& blob : boot.allgather(mine.str(), "the result exchange after " + what)) {
    std::istringstream in(blob);
    double t = 0.0;
    std::uint64_t w = 0;
    in >> t >> w;
    std::vector<double> its;
    if (per_iteration) {
      std::size_t n = 0;
      in >> n;
      // Every rank timed the same count; a rank that says otherwise is not one of ours.
      if (!in || n != m.iteration_times.size()) {
        throw verbs::RunError("rank " + std::to_string(rank) + " sent " + std::to_string(n) +
                              " iteration times after " + what + ", expected " +
                              std::to_string(m.iteration_times.size()));
      }
      its.resize(n);
      for (double& x : its) in >> x;
    }
    if (!in)
      throw verbs::RunError("rank " + std::to_string(rank) + " sent an unreadable result after " + what);
    in.ignore(1);
    std::string first;
    std::getline(in, first);
    times.push_back(t);
    iterations.push_back(std::move(its));
    if (w > 0 && r.wrong == 0) r.first_wrong = first;
    r.wrong += w;
    ++rank;
  }
  double time = times.front();
  if (average == 1)
    time = std::accumulate(times.begin(), times.end(), 0.0) / static_cast<double>(times.size());
  if (average == 2) time = *std::min_element(times.begin(), times.end());
  if (average == 3) time = *std::max_element(times.begin(), times.end());
  r.time = Seconds(time);
  if (per_iteration) r.per_iteration = per_iteration_stats(iterations, per_iteration_skip);
  return r;
}

}  // namespace fabtwin::cli
