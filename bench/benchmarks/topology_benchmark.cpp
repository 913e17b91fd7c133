// Timing and memory goals of the topology library: a 65,536-host fat-tree must build and summarize in
// seconds and under 2 GB. Run: build/release/bench/topology_benchmark
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "fabtwin/topo/generators.hpp"
#include "fabtwin/topo/metrics.hpp"
#include "fabtwin/topo/routing.hpp"

namespace {

using fabtwin::topo::Router;
using fabtwin::topo::Summary;
using fabtwin::topo::Topology;

// ru_maxrss is the high-water mark of the whole process (kilobytes on Linux) and never goes down, so a
// row's figure is the peak of everything run so far; the k=64 rows come before any larger workload.
double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

void report_size(benchmark::State& state, const Topology& t) {
  state.counters["nodes"] = static_cast<double>(t.nodes.size());
  state.counters["links"] = static_cast<double>(t.links.size());
  state.counters["hosts"] = t.host_count();
  state.counters["peak_rss_MB"] = peak_rss_mb();
}

fabtwin::topo::KaryFatTreeParams fat_tree(std::int64_t k) {
  fabtwin::topo::KaryFatTreeParams p;
  p.k = static_cast<std::int32_t>(k);
  return p;
}

void BM_BuildFatTree(benchmark::State& state) {
  Topology t;
  for (auto _ : state) {
    t = fabtwin::topo::make_kary_fat_tree(fat_tree(state.range(0)));
    benchmark::DoNotOptimize(t.links.data());
  }
  report_size(state, t);
}
// Building includes validate(), whose connectivity check must stay linear in the link count.
BENCHMARK(BM_BuildFatTree)->Arg(16)->Arg(32)->Arg(64)->Unit(benchmark::kMillisecond)->Iterations(1);

// Summarize alone: the topology is built outside the timed loop because the generator has its own row.
void BM_SummarizeFatTree(benchmark::State& state) {
  const Topology t = fabtwin::topo::make_kary_fat_tree(fat_tree(state.range(0)));
  for (auto _ : state) {
    Summary s = fabtwin::topo::summarize(t);
    benchmark::DoNotOptimize(s.diameter_hops);
  }
  report_size(state, t);
}
BENCHMARK(BM_SummarizeFatTree)->Arg(16)->Arg(32)->Arg(64)->Unit(benchmark::kMillisecond)->Iterations(1);

// The SuperPOD-scale rail fabric the README's examples extrapolate to: 8,192 GPUs with NVSwitches.
void BM_BuildAndSummarizeRail(benchmark::State& state) {
  Topology t;
  for (auto _ : state) {
    t = fabtwin::topo::topology_from_spec("rail:hosts=1024,gpus=8,hosts_per_leaf=32");
    Summary s = fabtwin::topo::summarize(t);
    benchmark::DoNotOptimize(s.diameter_hops);
  }
  report_size(state, t);
}
BENCHMARK(BM_BuildAndSummarizeRail)->Unit(benchmark::kMillisecond)->Iterations(3);

// The router fills its per-destination tables lazily, so a fresh Router per iteration measures what a
// cost-model run over a new set of flows pays, table building included.
void BM_RouterRankPaths(benchmark::State& state) {
  const Topology t = fabtwin::topo::make_kary_fat_tree(fat_tree(32));
  constexpr int kPairs = 1000;
  // Fixed seed: every run routes the same pairs, so timings are comparable across builds.
  std::mt19937_64 rng(20240601);
  std::uniform_int_distribution<std::int32_t> pick(0, t.rank_count() - 1);
  std::vector<std::pair<std::int32_t, std::int32_t>> pairs;
  pairs.reserve(kPairs);
  for (int i = 0; i < kPairs; ++i) pairs.emplace_back(pick(rng), pick(rng));
  std::uint64_t hops = 0;
  for (auto _ : state) {
    const Router router(t);
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      hops += router.rank_path(pairs[i].first, pairs[i].second, i, 1).size();
    }
  }
  benchmark::DoNotOptimize(hops);
  state.counters["paths/s"] =
      benchmark::Counter(static_cast<double>(kPairs) * state.iterations(), benchmark::Counter::kIsRate);
  report_size(state, t);
}
BENCHMARK(BM_RouterRankPaths)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
