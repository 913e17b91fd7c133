// The analytic backend: alpha-beta-gamma predictions on a real topology, in milliseconds at any
// scale. It runs through the same runner as every backend, so its trace lines up with theirs.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "fabtwin/coll/runner.hpp"
#include "fabtwin/topo/routing.hpp"
#include "fabtwin/units.hpp"

namespace fabtwin::coll {

struct CostParams {
  // Per-message cost at the endpoints (work-request posting, completion handling, kernel launch).
  Seconds per_message{2e-6};
  // Reduction and local copy throughput of a rank (GPU memory bound).
  BitsPerSecond reduce_rate{500e9 * 8};
  BitsPerSecond copy_rate{1000e9 * 8};
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
// disjoint links overlap. Reduce and copy steps cost bytes over the rank's rate.
class AnalyticBackend final : public Backend {
 public:
  AnalyticBackend(const Plan& plan, const topo::Router& router, const CostParams& params);
  void post(StepRef ref, Seconds ready) override;
  std::vector<Completion> progress() override;

  // Link loads sorted busiest first (by bytes).
  std::vector<LinkLoad> link_loads() const;

 private:
  const Plan& plan_;
  const topo::Router& router_;
  CostParams params_;
  std::vector<std::vector<std::uint32_t>> transfer_of_;  // [rank][step] -> transfer index
  struct TransferInfo {
    StepRef send;
    StepRef recv;
    Seconds latency;
    double bottleneck_bps = 0.0;
    Seconds send_ready{-1};
    Seconds recv_ready{-1};
  };
  std::vector<TransferInfo> transfers_;
  std::vector<LinkLoad> loads_;
  std::vector<const topo::Path*> path_of_;
  std::vector<Seconds> lane_free_;                     // per link direction: when it is next free
  std::vector<std::vector<Seconds>> lane_busy_until_;  // per link direction: ends of its reservations
  std::unordered_map<std::uint64_t, topo::Path> paths_;
  struct Event {
    Seconds end;
    Seconds start;
    StepRef ref;
  };
  std::vector<Event> heap_;
  void push(Event e);
};

struct Prediction {
  Seconds time;
  RunResult run;
  std::vector<LinkLoad> busiest;  // top links by bytes
};

Prediction predict(const Plan& plan, const topo::Router& router, const CostParams& params);

}  // namespace fabtwin::coll
