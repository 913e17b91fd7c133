#include "fabtwin/backend/round_time.hpp"

#include <algorithm>
#include <stdexcept>

namespace fabtwin::backend {

Seconds round_plan_time(const coll::RoundPlan& plan, const std::vector<RoundTiming>& rounds,
                        const EndpointCosts& endpoint) {
  if (rounds.size() != plan.phases.size()) throw std::logic_error("one round timing per phase");
  Seconds time = plan.protocol.call;
  for (std::size_t i = 0; i < rounds.size(); ++i) {
    const coll::RoundPhase& phase = plan.phases[i];
    const RoundTiming& round = rounds[i];
    const Seconds local =
        endpoint.reduce_time(Bytes(phase.reduce_bytes)) + endpoint.copy_time(Bytes(phase.copy_bytes));
    const auto repeat = static_cast<double>(phase.repeat);
    if (phase.window <= 1) {
      time += (round.transfers + local) * repeat;
    } else {
      const Seconds per_round =
          std::max({round.drain, local, round.latency * (1.0 / static_cast<double>(phase.window))});
      time += per_round * repeat + round.latency;
    }
  }
  return time;
}

}  // namespace fabtwin::backend
