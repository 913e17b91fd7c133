// The packet model on the reference scenario: ring all-reduce of 64 MiB over a two-level
// fat-tree of 400 Gb/s RoCE links with PFC (1 us per link, 4 KiB MTU), at 16 hosts (4 leaves x 4 hosts,
// 4 spines) and at 128 hosts (4 leaves x 32 hosts). Goals on one core: 16 hosts under 1 s of wall time,
// 128 hosts under 30 s and 500 MB. Run: build/release/bench/packet_benchmark
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/coll/cost_model.hpp"
#include "fabtwin/coll/metrics.hpp"
#include "fabtwin/fabric/packet.hpp"
#include "fabtwin/topo/generators.hpp"

namespace fabtwin::fabric {
namespace {

void BM_RingAllReduce64MiB(benchmark::State& state) {
  const auto hosts = static_cast<std::int32_t>(state.range(0));
  const auto t = topo::topology_from_spec("fat-tree:tiers=2,hosts=" + std::to_string(hosts) +
                                          ",hosts_per_leaf=" + std::to_string(hosts / 4) +
                                          ",speed=400Gbps,latency=1us,mtu=4096");
  const std::uint64_t size = 64ull << 20;
  const coll::Plan plan =
      coll::make_plan(coll::Collective::all_reduce, "ring", coll::Group::from_topology(t), size, {});
  const topo::Router router(t);
  const double analytic = coll::predict(plan, router, {}).time.count();
  PacketResult r;
  for (auto _ : state) {
    r = simulate(plan, t, {});
    benchmark::DoNotOptimize(r.time);
  }
  const double wall = std::max(r.fabric.wall_s, 1e-9);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["simulated_ms"] = r.time.millis();
  state.counters["analytic_ms"] = analytic * 1e3;
  state.counters["busbw_GBps"] =
      coll::bandwidth(coll::Collective::all_reduce, hosts, Bytes(size), r.time).busbw_gbps;
  state.counters["events/s"] = static_cast<double>(r.fabric.events) / wall;
  state.counters["hops/s"] = static_cast<double>(r.fabric.packet_hops) / wall;
  state.counters["peak_RSS_MB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
}
BENCHMARK(BM_RingAllReduce64MiB)->Arg(16)->Arg(128)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace fabtwin::fabric

BENCHMARK_MAIN();
