// Measurement over the verbs transport, as nccl-tests and perftest measure: a collective's warm-up,
// timed and checked iterations per size, and point-to-point RDMA write bandwidth and latency.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fabtwin/coll/plan.hpp"
#include "fabtwin/verbs/transport.hpp"

namespace fabtwin::verbs {

// Input element `index` of `rank`, as stored in the plan's data type. Small integers (exact in every
// type, so every reduction order gives the same bits) that differ between ranks and positions. Any
// rank can compute any rank's input, so each checks its own output without gathering data.
double input_value(const coll::Plan& plan, std::uint64_t seed, std::int32_t rank, std::uint64_t index);
void fill_input(const coll::Plan& plan, std::uint64_t seed, std::int32_t rank, std::byte* input);

// Elements of `rank`'s output that differ from what the collective must produce; `first` receives a
// description of the first one.
std::uint64_t count_wrong(const coll::Plan& plan, std::uint64_t seed, std::int32_t rank,
                          const std::byte* output, std::string* first);

struct IterationCounts {
  int warmup = 5;
  int timed = 20;
  int checked = 1;
};

struct CollectiveMeasurement {
  Seconds mean_time;                    // per iteration on this rank
  std::vector<double> iteration_times;  // each timed iteration on this rank, seconds (nccl-tests -I)
  std::uint64_t wrong = 0;              // over every checked iteration on this rank
  std::string first_wrong;
};

// Runs this rank's share of `plan`: warm-up iterations, timed iterations (mean), then `checked`
// iterations on fresh input whose output is compared element by element. Every rank must call it
// with the same plan; it starts with a barrier.
CollectiveMeasurement measure_collective(Transport& transport, const coll::Plan& plan, bool in_place,
                                         const IterationCounts& counts, std::uint64_t seed);

struct P2pMeasurement {
  Seconds time_per_message;  // streaming writes with a window outstanding, like ib_write_bw
  Seconds latency;           // half the round trip of a write ping-pong, like ib_write_lat
  bool data_ok = true;       // the ping-pong's last message arrived intact
};

// Writes in flight at once while streaming: ib_write_bw's default tx depth.
inline constexpr int kP2pWindow = 128;

// Ranks 0 and 1 take part (rank 0 streams to rank 1; both ping-pong). The buffer must hold 2 x size.
P2pMeasurement measure_p2p(Transport& transport, std::uint64_t size, const IterationCounts& counts);

}  // namespace fabtwin::verbs
