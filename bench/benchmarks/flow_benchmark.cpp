// The flow model's goals (issue: a flow-level backend for thousands of GPUs), on one core:
// - the packet model's reference ring (64 MiB over the 16-host fat-tree): the flow model's busbw beside
//   the packet model's, and its wall time as a ratio of theirs in this process;
// - NCCL's ring over 1,024 ranks (128 x DGX H100, rail-optimized), a 1 MiB - 1 GiB sweep: under 2 min;
// - the same over 8,192 ranks (1,024 x DGX H100) at 1 GiB: under 10 min, memory reported.
// NCCL's ring at those scales runs by its round form (the round solver of flow_rounds.cpp).
// Run: build/release/bench/flow_benchmark
#include <benchmark/benchmark.h>

#include <chrono>
#include <optional>

#include "fabtwin/experiment/experiment.hpp"
#include "fabtwin/topo/generators.hpp"

namespace fabtwin::flow {
namespace {

struct Timed {
  experiment::Outcome outcome;
  double wall_s = 0;
};

Timed timed_run(const experiment::Scenario& s) {
  const auto begin = std::chrono::steady_clock::now();
  Timed t{experiment::run(s), 0};
  t.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  return t;
}

void BM_ReferenceRingAgainstPacket(benchmark::State& state) {
  experiment::Scenario s;
  s.topology =
      topo::topology_from_spec("fat-tree:tiers=2,hosts=16,hosts_per_leaf=4,speed=400Gbps,latency=1us");
  s.sizes = {64ull << 20};
  s.backend = experiment::BackendKind::packet;
  const Timed packet = timed_run(s);
  s.backend = experiment::BackendKind::flow;
  std::optional<Timed> flow;
  for (auto _ : state) flow = timed_run(s);
  state.counters["flow_busbw_GBps"] = flow->outcome.results.rows.front().timing.busbw_gbps;
  state.counters["packet_busbw_GBps"] = packet.outcome.results.rows.front().timing.busbw_gbps;
  state.counters["wall_flow_over_packet"] = flow->wall_s / packet.wall_s;
}
BENCHMARK(BM_ReferenceRingAgainstPacket)->Unit(benchmark::kMillisecond)->Iterations(1);

// NCCL's ring over `hosts` DGX H100 nodes on the rail fabric, by its round form past a plan's reach.
void BM_NcclRing(benchmark::State& state) {
  const auto hosts = state.range(0);
  const std::uint64_t smallest = static_cast<std::uint64_t>(state.range(1));
  experiment::Scenario s;
  s.topology = topo::topology_from_spec("rail:hosts=" + std::to_string(hosts) +
                                        ",gpus=8,hosts_per_leaf=32,node=dgx-h100");
  s.algorithm = "nccl-ring";
  for (std::uint64_t size = smallest; size <= (1ull << 30); size *= 2) s.sizes.push_back(size);
  s.backend = experiment::BackendKind::flow;
  std::optional<Timed> run;
  for (auto _ : state) run = timed_run(s);
  const auto& last = *run->outcome.last;
  state.counters["sizes"] = static_cast<double>(s.sizes.size());
  state.counters["busbw_1GiB_GBps"] = last.row.timing.busbw_gbps;
  state.counters["wall_s"] = run->wall_s;
  state.counters["peak_memory_MB"] =
      last.flow ? static_cast<double>(last.flow->peak_memory_bytes) / 1e6 : 0.0;
}
BENCHMARK(BM_NcclRing)
    ->Args({128, 1 << 20})
    ->Name("BM_NcclRing/1024ranks_1MiB_to_1GiB")
    ->Unit(benchmark::kSecond)
    ->Iterations(1);
BENCHMARK(BM_NcclRing)
    ->Args({1024, 1 << 30})
    ->Name("BM_NcclRing/8192ranks_1GiB")
    ->Unit(benchmark::kSecond)
    ->Iterations(1);

}  // namespace
}  // namespace fabtwin::flow

BENCHMARK_MAIN();
