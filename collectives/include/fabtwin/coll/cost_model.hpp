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
// disjoint links overlap. Network links are charged the message's bytes on the wire (packets with
// their RoCE or InfiniBand headers), not its payload alone. Reduce and copy steps cost bytes over the rank's
// rate.
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
    Seconds serialisation;  // on the path's slowest link, headers included
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

// A ring all-reduce over n ranks has about 5n^2 steps, out of reach to materialise at tens of
// thousands of ranks. Its structure gives the answer directly: an input copy, then n-1
// reduce-scatter rounds (transfer, then reduce) and n-1 all-gather rounds, every rank sending its
// largest segment to its successor at once. A round lasts as long as its slowest transfer: alpha plus
// the drain time of the most loaded link on its path, with every ring flow routed exactly as the plan
// model routes it. Within 10% of predict() on the ring plan with one chunk (see the tests): rounds
// here are lock-step, so it is slightly pessimistic where one link carries more flows than others.
struct RingRoundEstimate {
  Seconds time;
  Seconds round;  // one all-gather round (transfer only)
  std::uint32_t most_flows_on_a_link = 0;
  LinkLoad busiest;  // per round
};

RingRoundEstimate predict_ring_all_reduce(const topo::Router& router, std::int32_t ranks,
                                          std::uint64_t size_bytes, DataType dtype, const CostParams& params);

}  // namespace fabtwin::coll
