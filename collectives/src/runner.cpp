#include "fabtwin/coll/runner.hpp"

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace fabtwin::coll {

namespace {

// `only` < 0 drives every rank; otherwise only that rank's steps are posted and awaited.
RunResult run_ranks(const Plan& plan, Backend& backend, std::int32_t only) {
  const std::int32_t n = plan.rank_count();
  const auto driven = [only](std::int32_t r) { return only < 0 || r == only; };
  std::vector<std::vector<std::uint32_t>> missing(n);
  std::vector<std::vector<std::vector<StepIndex>>> dependents(n);
  std::vector<std::vector<Seconds>> ready_at(n);
  std::vector<std::vector<bool>> finished(n);
  std::size_t total = 0;
  std::vector<StepRef> initial;
  for (std::int32_t r = 0; r < n; ++r) {
    if (!driven(r)) continue;
    const auto& steps = plan.ranks[r].steps;
    total += steps.size();
    missing[r].resize(steps.size());
    dependents[r].resize(steps.size());
    ready_at[r].assign(steps.size(), Seconds(0));
    finished[r].assign(steps.size(), false);
    for (StepIndex i = 0; i < steps.size(); ++i) {
      missing[r][i] = static_cast<std::uint32_t>(steps[i].deps.size());
      for (StepIndex d : steps[i].deps) dependents[r].at(d).push_back(i);
      if (steps[i].deps.empty()) initial.push_back({r, i});
    }
  }
  // The protocol's fixed cost of a call (kernel launch and setup) delays every first step alike.
  for (const StepRef& ref : initial) backend.post(ref, plan.protocol.call);

  RunResult result;
  result.trace.reserve(total);
  while (result.trace.size() < total) {
    const auto completions = backend.progress();
    if (completions.empty()) {
      std::ostringstream msg;
      msg << "plan " << to_string(plan.collective) << "/" << plan.algorithm << " stalled after "
          << result.trace.size() << " of " << total << " steps; waiting:";
      int shown = 0;
      for (std::int32_t r = 0; r < n && shown < 8; ++r) {
        if (!driven(r)) continue;
        for (StepIndex i = 0; i < plan.ranks[r].steps.size() && shown < 8; ++i) {
          if (!finished[r][i] && missing[r][i] == 0) {
            const Step& s = plan.ranks[r].steps[i];
            msg << " [rank " << r << " step " << i << " " << to_string(s.kind);
            if (s.peer >= 0) msg << " peer " << s.peer << " tag " << s.tag;
            msg << "]";
            ++shown;
          }
        }
      }
      throw std::runtime_error(msg.str());
    }
    for (const Completion& c : completions) {
      const auto [r, i] = c.ref;
      if (r < 0 || r >= n || !driven(r) || i >= plan.ranks[r].steps.size() || finished[r][i] ||
          missing[r][i] != 0) {
        throw std::logic_error("backend reported a completion for a step that was not posted");
      }
      finished[r][i] = true;
      const Step& s = plan.ranks[r].steps[i];
      result.trace.push_back({r, i, s.kind, s.peer, s.bytes(), ready_at[r][i], c.start, c.end});
      result.makespan = std::max(result.makespan, c.end);
      for (StepIndex d : dependents[r][i]) {
        ready_at[r][d] = std::max(ready_at[r][d], c.end);
        if (--missing[r][d] == 0) backend.post({r, d}, ready_at[r][d]);
      }
    }
  }
  return result;
}

}  // namespace

RunResult run_plan(const Plan& plan, Backend& backend) {
  return run_ranks(plan, backend, -1);
}

RunResult run_rank_plan(const Plan& plan, std::int32_t rank, Backend& backend) {
  if (rank < 0 || rank >= plan.rank_count()) {
    throw std::invalid_argument("run_rank_plan: rank " + std::to_string(rank) + " is not in a plan of " +
                                std::to_string(plan.rank_count()) + " ranks");
  }
  return run_ranks(plan, backend, rank);
}

}  // namespace fabtwin::coll
