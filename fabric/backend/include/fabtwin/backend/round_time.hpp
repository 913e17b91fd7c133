// A round plan's time from what each of its phases' rounds takes, whichever model timed the round: the
// composition (repeats, local work, NCCL's slot window) is the same for the analytic and flow models.
#pragma once

#include <vector>

#include "fabtwin/backend/endpoint.hpp"
#include "fabtwin/coll/rounds.hpp"

namespace fabtwin::backend {

struct RoundTiming {
  Seconds transfers;  // the round's flows, from their start to the last one's end
  Seconds latency;    // the largest fixed part of a flow (what pipelined rounds overlap)
  Seconds drain;      // the part set by bandwidth: transfers less that latency
};

// `rounds` holds one timing per phase of `plan`, in order. Lock-step rounds follow each other with
// their local work; windowed ones cost each their drain, their local work or their share of the
// latency the slots overlap, whichever is longest, and the last one's latency shows once.
Seconds round_plan_time(const coll::RoundPlan& plan, const std::vector<RoundTiming>& rounds,
                        const EndpointCosts& endpoint);

}  // namespace fabtwin::backend
