// The packet model on the reference scenario: ring all-reduce of 64 MiB over a two-level
// fat-tree of 400 Gb/s RoCE links with PFC (1 us per link, 4 KiB MTU), at 16 hosts (4 leaves x 4 hosts,
// 4 spines) and at 128 hosts (4 leaves x 32 hosts). Goals on one core: 16 hosts under 1 s of wall time,
// 128 hosts under 30 s and 500 MB. Run: build/release/bench/packet_benchmark
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <optional>

#include "fabtwin/experiment/experiment.hpp"
#include "fabtwin/topo/generators.hpp"

namespace fabtwin::packet {
namespace {

void BM_RingAllReduce64MiB(benchmark::State& state) {
  const auto hosts = static_cast<std::int32_t>(state.range(0));
  experiment::Scenario s;
  s.topology = topo::topology_from_spec("fat-tree:tiers=2,hosts=" + std::to_string(hosts) +
                                        ",hosts_per_leaf=" + std::to_string(hosts / 4) +
                                        ",speed=400Gbps,latency=1us,mtu=4096");
  const std::uint64_t size = 64ull << 20;
  s.sizes = {size};
  const double analytic = experiment::run(s).results.rows.front().timing.time.count();
  s.backend = experiment::BackendKind::packet;
  std::optional<experiment::SizeRun> last;
  for (auto _ : state) {
    last = experiment::run(s).last;
    benchmark::DoNotOptimize(last->row.timing.time);
  }
  const FabricReport& f = *last->fabric;
  const Seconds time = last->row.timing.time;
  const double wall = std::max(f.wall_s, 1e-9);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["simulated_ms"] = time.millis();
  state.counters["analytic_ms"] = analytic * 1e3;
  state.counters["busbw_GBps"] = last->row.timing.busbw_gbps;
  state.counters["events/s"] = static_cast<double>(f.events) / wall;
  state.counters["hops/s"] = static_cast<double>(f.packet_hops) / wall;
  state.counters["peak_RSS_MB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
}
BENCHMARK(BM_RingAllReduce64MiB)->Arg(16)->Arg(128)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace fabtwin::packet

BENCHMARK_MAIN();
