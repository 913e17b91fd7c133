#include "fabtwin/verbs/bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <sstream>

#include "fabtwin/coll/datatype.hpp"
#include "fabtwin/coll/reference.hpp"
#include "fabtwin/hash.hpp"

namespace fabtwin::verbs {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kStreamWr = 1ull << 62;  // marks the bandwidth test's writes

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double reduced(const coll::Plan& plan, std::uint64_t seed, std::uint64_t index) {
  double acc = input_value(plan, seed, 0, index);
  for (std::int32_t r = 1; r < plan.rank_count(); ++r) {
    acc = coll::reduce_values(plan.op, acc, input_value(plan, seed, r, index));
  }
  return acc;
}

std::byte pattern_byte(std::int32_t rank, std::uint64_t i) {
  return static_cast<std::byte>((i * 131 + static_cast<std::uint64_t>(rank) * 17 + 7) & 0xff);
}

}  // namespace

double input_value(const coll::Plan& plan, std::uint64_t seed, std::int32_t rank, std::uint64_t index) {
  const std::uint64_t h =
      splitmix64(seed * 0x9e3779b97f4a7c15ull ^ splitmix64(static_cast<std::uint64_t>(rank) << 40 ^ index));
  if (!coll::has_reduction(plan.collective))
    return static_cast<double>(static_cast<std::int64_t>(h % 201) - 100);
  switch (plan.op) {
    case coll::ReduceOp::sum:
      // |sum| <= 2 x ranks stays exact even in bfloat16 (8 significant bits) up to 128 ranks.
      return static_cast<double>(static_cast<std::int64_t>(h % 5) - 2);
    case coll::ReduceOp::prod:
      return (h & 1) != 0 ? 1.0 : -1.0;
    default:
      return static_cast<double>(static_cast<std::int64_t>(h % 201) - 100);
  }
}

void fill_input(const coll::Plan& plan, std::uint64_t seed, std::int32_t rank, std::byte* input) {
  const std::size_t es = coll::element_size(plan.dtype);
  const std::uint64_t n = plan.ranks.at(static_cast<std::size_t>(rank)).input_bytes / es;
  for (std::uint64_t i = 0; i < n; ++i)
    coll::store_from_double(plan.dtype, input, i, input_value(plan, seed, rank, i));
}

std::uint64_t count_wrong(const coll::Plan& plan, std::uint64_t seed, std::int32_t rank,
                          const std::byte* output, std::string* first) {
  const std::size_t es = coll::element_size(plan.dtype);
  const std::uint64_t out_elems = plan.ranks.at(static_cast<std::size_t>(rank)).output_bytes / es;
  std::uint64_t wrong = 0;
  for (std::uint64_t i = 0; i < out_elems; ++i) {
    const coll::OutputSource src = coll::output_source(plan, rank, i);
    const double expected =
        src.reduced ? reduced(plan, seed, src.index) : input_value(plan, seed, src.rank, src.index);
    const double got = coll::element_as_double(plan.dtype, output, i);
    if (got != expected) {
      if (wrong == 0 && first != nullptr) {
        std::ostringstream msg;
        msg << "rank " << rank << " output element " << i << ": expected " << expected << ", got " << got;
        *first = msg.str();
      }
      ++wrong;
    }
  }
  return wrong;
}

CollectiveMeasurement measure_collective(Transport& transport, const coll::Plan& plan, bool in_place,
                                         const IterationCounts& counts, std::uint64_t seed) {
  const std::int32_t rank = transport.rank();
  const Layout layout = layout_for(plan, rank, in_place);
  VerbsBackend backend(transport, plan, in_place);
  std::byte* base = transport.buffer();
  const std::string what = std::string(coll::to_string(plan.collective)) + "/" + plan.algorithm + " of " +
                           std::to_string(plan.size_bytes) + " B " + (in_place ? "in place" : "out of place");
  fill_input(plan, seed, rank, base + layout.input);
  // Plans of different sizes reuse tags: no rank may grant a transfer of this plan while another
  // still runs the previous one.
  transport.bootstrap().barrier("the barrier before " + what);
  for (int i = 0; i < counts.warmup; ++i) coll::run_rank_plan(plan, rank, backend);
  CollectiveMeasurement m;
  m.iteration_times.reserve(static_cast<std::size_t>(std::max(counts.timed, 0)));
  const auto t0 = Clock::now();
  for (int i = 0; i < counts.timed; ++i) {
    const auto start = Clock::now();
    coll::run_rank_plan(plan, rank, backend);
    m.iteration_times.push_back(seconds_since(start));
  }
  m.mean_time = Seconds(counts.timed > 0 ? seconds_since(t0) / counts.timed : 0.0);
  for (int i = 0; i < counts.checked; ++i) {
    // Timed in-place iterations reduced the input into itself: start each check from fresh data.
    fill_input(plan, seed + 1 + static_cast<std::uint64_t>(i), rank, base + layout.input);
    coll::run_rank_plan(plan, rank, backend);
    std::string first;
    const std::uint64_t w =
        count_wrong(plan, seed + 1 + static_cast<std::uint64_t>(i), rank, base + layout.output, &first);
    if (w > 0 && m.wrong == 0) m.first_wrong = first;
    m.wrong += w;
  }
  return m;
}

P2pMeasurement measure_p2p(Transport& transport, std::uint64_t size, const IterationCounts& counts) {
  const std::int32_t rank = transport.rank();
  Bootstrap& boot = transport.bootstrap();
  const std::string what = "p2p write of " + std::to_string(size) + " B";
  const auto describe = [&](std::uint64_t wr) { return what + " #" + std::to_string(wr); };
  const auto wait_events = [&](const char* phase) {
    auto events = transport.poll(transport.options().timeout, describe);
    if (events.empty()) {
      throw RunError("rank " + std::to_string(rank) + ": no completion for " +
                     format_duration(transport.options().timeout) + " (--timeout) in the " + phase +
                     " of the " + what + ", waiting for rank " + std::to_string(1 - rank));
    }
    return events;
  };
  std::byte* base = transport.buffer();
  for (std::uint64_t i = 0; i < size; ++i) base[i] = pattern_byte(rank, i);
  P2pMeasurement m;

  boot.barrier("the barrier before the bandwidth " + what);
  if (rank == 0) {
    const auto stream = [&](int messages) {
      int posted = 0;
      int completed = 0;
      while (completed < messages) {
        while (posted < messages && posted - completed < kP2pWindow) {
          transport.write(1, 0, size, size, std::nullopt, kStreamWr | static_cast<std::uint64_t>(posted));
          ++posted;
        }
        for (const auto& e : wait_events("bandwidth test")) {
          // A ping's completion from the previous size may still arrive here: count only streaming writes.
          if (e.kind == Transport::Event::Kind::write_done && (e.wr_id & kStreamWr) != 0) ++completed;
        }
      }
    };
    stream(counts.warmup);
    const auto t0 = Clock::now();
    stream(counts.timed);
    m.time_per_message = Seconds(counts.timed > 0 ? seconds_since(t0) / counts.timed : 0.0);
  }

  boot.barrier("the barrier before the latency " + what);
  double round_trips = 0.0;
  const int total = counts.warmup + counts.timed;
  auto t0 = Clock::now();
  for (int i = 0; i < total; ++i) {
    if (i == counts.warmup) t0 = Clock::now();
    const auto ping = static_cast<std::uint32_t>(i);
    if (rank == 0) transport.write(1, 0, size, size, ping, static_cast<std::uint64_t>(i));
    bool got = false;
    while (!got && rank <= 1) {
      for (const auto& e : wait_events("latency test")) {
        if (e.kind != Transport::Event::Kind::immediate) continue;
        if (e.immediate != ping) {
          throw RunError("rank " + std::to_string(rank) + ": ping-pong out of step: expected message " +
                         std::to_string(ping) + ", got " + std::to_string(e.immediate));
        }
        got = true;
      }
    }
    if (rank == 1) transport.write(0, 0, size, size, ping, static_cast<std::uint64_t>(i));
  }
  if (rank == 0) round_trips = counts.timed > 0 ? seconds_since(t0) / counts.timed : 0.0;
  m.latency = Seconds(round_trips / 2.0);
  if (total > 0 && rank <= 1) {
    const std::int32_t other = 1 - rank;
    for (std::uint64_t i = 0; i < size; ++i) {
      if (base[size + i] != pattern_byte(other, i)) {
        m.data_ok = false;
        break;
      }
    }
  }
  // Rank 1's last reply may still be unacknowledged; drain it before the next size reuses the buffer.
  boot.barrier("the barrier after the " + what);
  return m;
}

}  // namespace fabtwin::verbs
