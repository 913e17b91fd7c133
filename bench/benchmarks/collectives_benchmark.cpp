// Throughput of the pieces every backend leans on: plan generation, the reduction kernel, and the
// analytic prediction. Run: build/release/bench/collectives_benchmark
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "fabtwin/analytic/analytic.hpp"
#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/experiment/experiment.hpp"
#include "fabtwin/topo/generators.hpp"

namespace fabtwin::coll {
namespace {

using analytic::predict;

const char* const kAllReduce[] = {"ring",         "tree",  "halving-doubling", "recursive-doubling",
                                  "hierarchical", "direct"};

// Steps generated per second, per algorithm, for a group of state.range(1) ranks.
void BM_PlanGeneration(benchmark::State& state) {
  const std::string algo = kAllReduce[state.range(0)];
  const auto ranks = static_cast<std::int32_t>(state.range(1));
  const Group group = Group::uniform(ranks, 8);
  AlgoOptions options;
  options.chunks = 1;
  std::size_t steps = 0;
  for (auto _ : state) {
    const Plan p = make_plan(Collective::all_reduce, algo, group, 64ull << 20, options);
    steps += p.step_count();
    benchmark::DoNotOptimize(p.ranks.data());
  }
  state.SetLabel(algo);
  state.counters["steps/s"] = benchmark::Counter(static_cast<double>(steps), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PlanGeneration)
    ->ArgsProduct({{0, 1, 2, 3, 4, 5}, {256, 1024, 4096}})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// The float32 sum kernel against memcpy of the same bytes: the kernel reads two streams and writes
// one, so it is memory-bound and should reach a large fraction of memcpy's bytes per second.
void BM_ReduceFloatSum(benchmark::State& state) {
  const std::size_t bytes = 64ull << 20;
  std::vector<std::byte> dst(bytes), src(bytes);
  std::memset(dst.data(), 0, bytes);
  std::memset(src.data(), 0, bytes);
  for (auto _ : state) {
    reduce_into(DataType::float32, ReduceOp::sum, dst.data(), src.data(), bytes / 4);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_ReduceFloatSum)->Unit(benchmark::kMillisecond);

void BM_Memcpy(benchmark::State& state) {
  const std::size_t bytes = 64ull << 20;
  std::vector<std::byte> dst(bytes), src(bytes);
  std::memset(src.data(), 1, bytes);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), bytes);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_Memcpy)->Unit(benchmark::kMillisecond);

// Analytic prediction of a ring all-reduce on a rail-optimized fabric of state.range(0) hosts x 8 GPUs.
void BM_PredictRing(benchmark::State& state) {
  const auto hosts = state.range(0);
  const topo::Topology t =
      topo::topology_from_spec("rail:hosts=" + std::to_string(hosts) +
                               ",gpus=8,hosts_per_leaf=" + std::to_string(std::min<long>(hosts, 32)));
  const topo::Router router(t);
  AlgoOptions options;
  options.chunks = 1;
  const Plan p = make_plan(Collective::all_reduce, "ring", Group::from_topology(t), 1ull << 30, options);
  for (auto _ : state) benchmark::DoNotOptimize(predict(p, router, {}).time);
  state.counters["ranks"] = static_cast<double>(t.rank_count());
  state.counters["steps"] = static_cast<double>(p.step_count());
}
BENCHMARK(BM_PredictRing)->Arg(16)->Arg(64)->Unit(benchmark::kMillisecond)->Iterations(1);

// The ring at cluster scale, as `fabtwin sim` runs it: 16,384 hosts x 8 GPUs = 131,072 ranks on a
// rail-optimized fabric, where the plan is too large and the ring's round model answers. The topology
// is built once outside the timed loop; the experiment (routing included) is timed.
void BM_PredictRingAtScale(benchmark::State& state) {
  const auto hosts = state.range(0);
  experiment::Scenario s;
  s.topology = topo::topology_from_spec("rail:hosts=" + std::to_string(hosts) + ",gpus=8,hosts_per_leaf=32");
  s.sizes = {1ull << 30};
  for (auto _ : state) benchmark::DoNotOptimize(experiment::run(s).results.rows.front().timing.time);
  state.counters["ranks"] = static_cast<double>(s.topology.rank_count());
}
BENCHMARK(BM_PredictRingAtScale)->Arg(1024)->Arg(16384)->Unit(benchmark::kMillisecond);

// NCCL's tuner and its algorithms' round forms over a full nccl-tests sweep, 8 B - 16 GiB by factors of
// 2, on DGX H100 nodes, rail-optimized: goals 2 s at 1,024 ranks (128 hosts) and 10 s at 131,072
// (16,384 hosts). The topology is built outside the timed loop.
void BM_NcclSweepAtScale(benchmark::State& state) {
  const auto hosts = state.range(0);
  experiment::Scenario s;
  s.topology =
      topo::topology_from_spec("rail:hosts=" + std::to_string(hosts) + ",hosts_per_leaf=32,node=dgx-h100");
  s.algorithm = "nccl";
  for (std::uint64_t size = 8; size <= (16ull << 30); size *= 2) s.sizes.push_back(size);
  for (auto _ : state) benchmark::DoNotOptimize(experiment::run(s).results.rows.back().timing.time);
  state.counters["ranks"] = static_cast<double>(s.topology.rank_count());
  state.counters["sizes"] = static_cast<double>(s.sizes.size());
}
BENCHMARK(BM_NcclSweepAtScale)->Arg(128)->Arg(16384)->Unit(benchmark::kSecond)->Iterations(1);

}  // namespace
}  // namespace fabtwin::coll

BENCHMARK_MAIN();
