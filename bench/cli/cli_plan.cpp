#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <limits>
#include <optional>
#include <ostream>

#include "cli.hpp"
#include "fabtwin/analytic/analytic.hpp"
#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/coll/metrics.hpp"
#include "fabtwin/coll/reference.hpp"
#include "fabtwin/experiment/experiment.hpp"
#include "fabtwin/topo/generators.hpp"
#include "options.hpp"

namespace fabtwin::cli {

namespace {

struct PlanArgs {
  std::string algo = "ring";
  std::int32_t ranks = 0;
  std::int32_t ranks_per_host = 0;
  std::string size = "64MiB";
  std::string topology;
  bool verify = false;
  bool in_place = false;
  std::uint64_t seed = 1;
  CollectiveOptions coll;
};

void print_shape(std::ostream& out, const coll::Plan& plan) {
  const std::int32_t n = plan.rank_count();
  std::uint64_t by_kind[4] = {};
  std::vector<std::uint64_t> sent(n), received(n);
  std::uint64_t max_steps = 0;
  std::uint64_t max_scratch = 0;
  for (std::int32_t r = 0; r < n; ++r) {
    const auto& rp = plan.ranks[r];
    max_steps = std::max<std::uint64_t>(max_steps, rp.steps.size());
    max_scratch = std::max(max_scratch, rp.scratch_bytes);
    for (const auto& s : rp.steps) {
      ++by_kind[static_cast<int>(s.kind)];
      if (s.kind == coll::StepKind::send) sent[r] += s.src.bytes;
      if (s.kind == coll::StepKind::recv) received[r] += s.dst.bytes;
    }
  }
  char line[256];
  std::snprintf(line, sizeof line, "plan      %s/%s, %d ranks, %s %s %s (%llu elements), hash %016llx\n",
                coll::to_string(plan.collective), plan.algorithm.c_str(), n,
                format_bytes(Bytes(plan.size_bytes)).c_str(), coll::to_string(plan.dtype),
                coll::to_string(plan.op), static_cast<unsigned long long>(plan.count),
                static_cast<unsigned long long>(coll::plan_hash(plan)));
  out << line;
  std::snprintf(line, sizeof line,
                "steps     %zu (send %llu, recv %llu, reduce %llu, copy %llu), at most %llu on one rank\n",
                plan.step_count(), static_cast<unsigned long long>(by_kind[0]),
                static_cast<unsigned long long>(by_kind[1]), static_cast<unsigned long long>(by_kind[2]),
                static_cast<unsigned long long>(by_kind[3]), static_cast<unsigned long long>(max_steps));
  out << line;
  const auto [smin, smax] = std::minmax_element(sent.begin(), sent.end());
  const auto [rmin, rmax] = std::minmax_element(received.begin(), received.end());
  out << "sent      per rank " << format_bytes(Bytes(*smin)) << " .. " << format_bytes(Bytes(*smax)) << "\n";
  out << "received  per rank " << format_bytes(Bytes(*rmin)) << " .. " << format_bytes(Bytes(*rmax)) << "\n";
  out << "scratch   at most " << format_bytes(Bytes(max_scratch)) << " on one rank\n";
  if (n <= 16) {
    out << "  rank        sent    received  steps\n";
    for (std::int32_t r = 0; r < n; ++r) {
      std::snprintf(line, sizeof line, "  %4d  %10s  %10s  %5zu\n", r, format_bytes(Bytes(sent[r])).c_str(),
                    format_bytes(Bytes(received[r])).c_str(), plan.ranks[r].steps.size());
      out << line;
    }
  }
}

}  // namespace

void add_plan_command(CLI::App& app, std::ostream& out, int& exit_code) {
  auto args = std::make_shared<PlanArgs>();
  CLI::App* cmd =
      app.add_subcommand("plan", "Build a collective's plan, show its shape, and optionally verify it");
  cmd->add_option("-a,--algo", args->algo, "algorithm (see 'fabtwin sim --list')")->capture_default_str();
  cmd->add_option("-n,--ranks", args->ranks, "ranks (default: every rank of --topology, else 8)")
      ->check(CLI::Range(1, std::numeric_limits<std::int32_t>::max()));
  cmd->add_option("--ranks-per-host", args->ranks_per_host,
                  "without --topology: ranks per host for the hierarchical algorithm")
      ->check(CLI::Range(1, std::numeric_limits<std::int32_t>::max()));
  cmd->add_option("-s,--size", args->size, "message size as nccl-tests counts it (64MiB, 1G, 4099)")
      ->capture_default_str();
  cmd->add_option("-t,--topology", args->topology, "fabric to place the ranks on (preset or .json)");
  cmd->add_flag("--verify", args->verify, "run the reference executor and compare with a naive reduction");
  cmd->add_flag("--inplace", args->in_place, "with --verify: input and output share memory");
  cmd->add_option("--seed", args->seed, "random data seed for --verify")->capture_default_str();
  add_collective_options(*cmd, args->coll);
  cmd->callback([args, &out, &exit_code] {
    if (args->in_place && !args->verify)
      throw std::invalid_argument("--inplace applies to --verify; add --verify");
    if (args->ranks_per_host > 0 && !args->topology.empty()) {
      throw std::invalid_argument(
          "--ranks-per-host applies without --topology; the topology places the ranks");
    }
    std::optional<topo::Topology> topology;
    if (!args->topology.empty()) topology = topo::topology_from_spec(args->topology);
    const std::int32_t ranks = experiment::resolve_ranks(args->ranks, topology ? &*topology : nullptr, 8);
    coll::Group group = experiment::make_group(ranks, topology ? &*topology : nullptr, args->ranks_per_host);
    const coll::Plan plan =
        coll::make_plan(parse_collective(args->coll.collective), args->algo, group,
                        parse_bytes_option("--size", args->size).count(), to_algo_options(args->coll));
    coll::validate(plan);
    print_shape(out, plan);
    if (topology) {
      const topo::Router router(*topology);
      const auto p = analytic::predict(plan, router, analytic::CostParams{});
      if (!p.busiest.empty()) {
        const auto& l = p.busiest.front();
        const auto& link = topology->links[l.link];
        const auto& a = topology->nodes[l.forward ? link.a : link.b].name;
        const auto& b = topology->nodes[l.forward ? link.b : link.a].name;
        out << "busiest   " << a << " -> " << b << ": " << format_bytes(Bytes(l.bytes)) << " over "
            << format_rate(link.bandwidth) << ", " << l.transfers << " transfers, up to " << l.max_queued
            << " queued at once\n";
      }
      const auto bw = coll::bandwidth(plan.collective, ranks, Bytes(plan.size_bytes), p.time);
      char line[160];
      std::snprintf(line, sizeof line, "predicted %.2f us, algbw %.2f GB/s, busbw %.2f GB/s (analytic, %s)\n",
                    p.time.micros(), bw.algbw_gbps, bw.busbw_gbps, topology->name.c_str());
      out << line;
    }
    exit_code = 0;
    if (args->verify) {
      const auto v = coll::verify_plan(plan, args->seed, args->in_place);
      out << "verify    " << (v.ok ? "" : "FAIL: ") << v.message << (args->in_place ? " (in place)" : "")
          << "\n";
      if (!v.ok) exit_code = 1;
    }
  });
}

}  // namespace fabtwin::cli
