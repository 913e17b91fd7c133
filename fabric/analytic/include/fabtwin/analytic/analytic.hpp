// The analytic backend: alpha-beta-gamma predictions on a real topology, in milliseconds at any
// scale. It runs through the same runner as every backend, so its trace lines up with theirs.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "fabtwin/backend/endpoint.hpp"
#include "fabtwin/backend/placement.hpp"
#include "fabtwin/backend/rendezvous.hpp"
#include "fabtwin/coll/rounds.hpp"
#include "fabtwin/coll/runner.hpp"
#include "fabtwin/topo/routing.hpp"
#include "fabtwin/units.hpp"

namespace fabtwin::analytic {

struct CostParams {
  backend::EndpointCosts endpoint;
  std::uint64_t ecmp_seed = 0;
};

struct LinkLoad {
  topo::LinkId link = 0;
  bool forward = true;
  std::uint64_t bytes = 0;       // over the whole plan
  std::uint32_t transfers = 0;   // messages that crossed it
  std::uint32_t max_queued = 0;  // most transfers holding or waiting for it at one moment
};

// Every direction of every link is a resource that carries one transfer's bytes at a time, at its own
// rate. A transfer whose two halves are ready waits until every link on its ECMP path is free, holds
// each for bytes / that link's rate, and completes after alpha (per-message cost plus the path's link
// latencies) plus bytes over its bottleneck rate. Concurrent transfers that share a link therefore
// take turns and never get more than the link's capacity between them, while pipelined chunks on
// disjoint links overlap. Network links are charged the message's bytes on the wire (packets with
// their RoCE or InfiniBand headers), not its payload alone. Reduce and copy steps cost bytes over the
// rank's rate.
class AnalyticBackend final : public coll::Backend {
 public:
  AnalyticBackend(const coll::Plan& plan, const topo::Router& router, const CostParams& params);
  void post(coll::StepRef ref, Seconds ready) override;
  std::vector<coll::Completion> progress() override;

  // Link loads sorted busiest first (by bytes).
  std::vector<LinkLoad> link_loads() const;

 private:
  struct Timing {
    Seconds latency;
    Seconds serialisation;  // on the path's slowest link, headers included
  };
  struct Event {
    Seconds end;
    Seconds start;
    coll::StepRef ref;
  };
  void push(Event e);
  void admit(std::uint32_t transfer);

  const coll::Plan& plan_;
  const topo::Router& router_;
  CostParams params_;
  backend::Rendezvous rendezvous_;
  backend::Placement placement_;
  std::vector<Timing> timing_;
  std::vector<std::uint64_t> wire_bytes_;  // per transfer, with its protocol's framing
  std::vector<LinkLoad> loads_;
  std::vector<const topo::Path*> path_of_;
  std::vector<Seconds> lane_free_;                     // per link direction: when it is next free
  std::vector<std::vector<Seconds>> lane_busy_until_;  // per link direction: ends of its reservations
  std::unordered_map<std::uint64_t, topo::Path> paths_;
  std::vector<Event> heap_;
};

struct Prediction {
  Seconds time;
  coll::RunResult run;
  std::vector<LinkLoad> busiest;  // top links by bytes
};

Prediction predict(const coll::Plan& plan, const topo::Router& router, const CostParams& params);

// A plan's compact round form (coll/rounds.hpp), for scales where the plan itself is too large to
// build. A round lasts as long as its slowest flow: alpha plus the drain time of the most loaded link
// direction on the flow's path, with every flow routed exactly as the plan model routes it, then the
// round's local work. Within 10% of predict() on the full plan where both run (see the tests): rounds
// here are lock-step, so it is slightly pessimistic where one link carries more flows than others.
struct RoundEstimate {
  Seconds time;
  Seconds slowest_round;  // transfers only
  std::uint32_t most_flows_on_a_link = 0;
  LinkLoad busiest;  // in the slowest round
};

RoundEstimate predict_rounds(const coll::RoundPlan& plan, const topo::Router& router, const CostParams& params);

}  // namespace fabtwin::analytic
