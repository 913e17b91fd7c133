// `fabtwin run`: the plans `sim` predicts, executed over RDMA verbs between real processes, one per
// rank, and reported as nccl-tests reports (or, with --p2p, as perftest's ib_write_bw / ib_write_lat).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <ostream>
#include <sstream>

#include "cli.hpp"
#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/coll/metrics.hpp"
#include "fabtwin/files.hpp"
#include "fabtwin/results/csv.hpp"
#include "fabtwin/results/rows.hpp"
#include "fabtwin/verbs/bench.hpp"
#include "fabtwin/verbs/bootstrap.hpp"
#include "fabtwin/verbs/device.hpp"
#include "fabtwin/verbs/placement.hpp"
#include "fabtwin/verbs/transport.hpp"
#include "options.hpp"
#include "run_exchange.hpp"
#include "table.hpp"

namespace fabtwin::cli {

namespace {

// The shared results envelope around a verbs run, with the device it measured in the provenance.
nlohmann::json verbs_document(const std::string& device, nlohmann::json run, nlohmann::json rows) {
  nlohmann::json origin = provenance(nullptr);
  origin["device"] = device;
  return {{"schema", "fabtwin-results"},
          {"schema_version", 1},
          {"provenance", std::move(origin)},
          {"run", std::move(run)},
          {"rows", std::move(rows)}};
}

// Exit code of a run that could not finish: a peer died, a wait timed out, the fabric failed.
constexpr int kExitRunFailed = 4;

struct RunArgs {
  std::string algo = "ring";
  std::string minbytes = "8";
  std::string maxbytes = "32MiB";
  std::uint64_t factor = 2;
  std::string stepbytes;  // -i
  int average = 1;        // -a
  int per_iteration = 0;  // -I
  int per_iter_skip = 0;  // -K
  int iters = 20;
  int warmup = 5;
  int check = 1;
  bool in_place_only = false;
  bool out_of_place_only = false;
  bool p2p = false;
  std::string device;
  int port = 1;
  int gid_index = -1;
  std::int32_t rank = -1;
  std::int32_t world = -1;
  std::string root;
  std::string token;
  std::string timeout = "30s";
  std::int32_t ranks_per_host = 0;
  std::uint64_t seed = 0;
  std::string json;
  std::string csv;
  std::string devices;
  CollectiveOptions coll;
};

coll::Group group_from_hosts(verbs::Bootstrap& boot, std::int32_t ranks_per_host) {
  if (ranks_per_host > 0) {
    if (boot.world() % ranks_per_host != 0) {
      throw std::invalid_argument("--ranks-per-host " + std::to_string(ranks_per_host) +
                                  " does not divide the " + std::to_string(boot.world()) + " ranks");
    }
    return coll::Group::uniform(boot.world(), ranks_per_host);
  }
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const auto hosts = boot.allgather(host, "the host-name exchange");
  coll::Group g;
  g.ranks = boot.world();
  std::map<std::string, std::int32_t> index;
  for (const std::string& h : hosts) {
    const auto it = index.emplace(h, static_cast<std::int32_t>(index.size())).first;
    g.host_of_rank.push_back(it->second);
  }
  return g;
}

// nccl-tests' per-rank lines: where each rank runs and on which device and address, so a slow or
// misplaced rank can be found from the output alone. Collective: every rank must call it.
std::vector<std::string> rank_lines(verbs::Transport& transport, std::size_t qps) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const auto& a = transport.address();
  std::ostringstream line;
  line << "#  rank " << transport.rank() << " pid " << getpid() << " on " << host << " device " << a.device
       << " port " << int(a.port) << " GID " << a.gid_index << " (" << a.gid_type << " "
       << verbs::format_gid(a.gid) << ")";
  if (!a.ethernet) line << " LID " << a.lid;
  line << ", " << qps << " RC QPs, " << format_bytes(Bytes(transport.buffer_bytes())) << " registered";
  return transport.bootstrap().allgather(line.str(), "the exchange of rank descriptions");
}

void run_p2p(const RunArgs& args, verbs::Bootstrap& boot, const verbs::TransportOptions& topt,
             const std::vector<std::uint64_t>& sizes, const verbs::IterationCounts& counts, std::ostream& out,
             int& exit_code) {
  if (boot.world() != 2) {
    throw std::invalid_argument(
        "--p2p measures between two ranks, like ib_write_bw: run it with --world 2, not " +
        std::to_string(boot.world()));
  }
  const std::uint64_t largest = *std::max_element(sizes.begin(), sizes.end());
  verbs::Transport transport(boot, topt, 2 * largest, {1 - boot.rank()});
  const bool leader = boot.rank() == 0;
  const bool table = leader && args.json != "-";
  const auto ranks = rank_lines(transport, 1);
  if (table) {
    out << "# fabtwin run --p2p: RDMA write between 2 ranks, window " << verbs::kP2pWindow << " writes\n";
    for (const std::string& l : ranks) out << l << "\n";
    out << "#\n";
    char line[200];
    std::snprintf(line, sizeof line, "#%11s %10s %12s %12s %12s %10s\n", "size", "iterations", "bw",
                  "time/msg", "latency", "data");
    out << line;
    std::snprintf(line, sizeof line, "#%11s %10s %12s %12s %12s %10s\n", "(B)", "", "(GB/s)", "(us)", "(us)",
                  "");
    out << line;
  }
  nlohmann::json rows = nlohmann::json::array();
  bool all_ok = true;
  for (std::uint64_t size : sizes) {
    const auto m = verbs::measure_p2p(transport, size, counts);
    const auto both = boot.allgather(m.data_ok ? "1" : "0", "the p2p result exchange");
    const bool ok = both[0] == "1" && both[1] == "1";
    all_ok = all_ok && ok;
    const double t = m.time_per_message.count();
    const double bw = t > 0 ? static_cast<double>(size) / t / 1e9 : 0.0;
    if (table) {
      char line[200];
      std::snprintf(line, sizeof line, "%12llu %10d %12.4f %12.2f %12.2f %10s\n",
                    static_cast<unsigned long long>(size), counts.timed, bw, m.time_per_message.micros(),
                    m.latency.micros(), ok ? "ok" : "WRONG");
      out << line;
    }
    rows.push_back({{"size_bytes", size},
                    {"iterations", counts.timed},
                    {"time_s", t},
                    {"bw_gbps", bw},
                    {"latency_s", m.latency.count()},
                    {"backend", "verbs"}});
  }
  if (leader && !args.json.empty()) {
    const auto& a = transport.address();
    const nlohmann::json doc = verbs_document(a.device,
                                              {{"backend", "verbs"},
                                               {"collective", "p2p_write"},
                                               {"algorithm", "rdma_write"},
                                               {"ranks", 2},
                                               {"device", a.device},
                                               {"port", a.port},
                                               {"gid_index", a.gid_index},
                                               {"window", verbs::kP2pWindow},
                                               {"iterations", counts.timed},
                                               {"warmup", counts.warmup}},
                                              rows);
    write_json_output(args.json, doc, out);
  }
  boot.barrier("the final barrier");
  exit_code = all_ok ? 0 : 1;
}

void run_collective(const RunArgs& args, verbs::Bootstrap& boot, const verbs::TransportOptions& topt,
                    const std::vector<std::uint64_t>& sizes, const verbs::IterationCounts& counts,
                    const coll::Collective c, const std::vector<coll::AlgoOptions>& series, std::ostream& out,
                    int& exit_code) {
  const std::int32_t rank = boot.rank();
  const std::int32_t world = boot.world();
  const coll::Group group = group_from_hosts(boot, args.ranks_per_host);
  const bool want_out = !args.in_place_only || args.out_of_place_only;
  const bool want_in = (!args.out_of_place_only || args.in_place_only) && c != coll::Collective::all_to_all;
  if (args.in_place_only && !args.out_of_place_only && c == coll::Collective::all_to_all) {
    throw std::invalid_argument("--inplace: all_to_all cannot run in place (use --outplace)");
  }

  // Every plan up front, on every rank alike: the QPs and the registered buffer serve them all.
  std::vector<coll::Plan> plans;
  std::uint64_t buffer = 0;
  std::vector<std::int32_t> peers;
  const auto add_plan = [&](coll::Plan plan) {
    coll::validate(plan);
    for (bool in_place : {false, true})
      buffer = std::max(buffer, verbs::layout_for(plan, rank, in_place).bytes);
    for (std::int32_t p : verbs::peers_of(plan, rank)) {
      if (std::find(peers.begin(), peers.end(), p) == peers.end()) peers.push_back(p);
    }
    plans.push_back(std::move(plan));
  };
  // -d all / -o all: the whole sweep per type and reduction, in nccl-tests' order.
  for (const coll::AlgoOptions& options : series) {
    for (std::uint64_t size : sizes) add_plan(coll::make_plan(c, args.algo, group, size, options));
  }
  verbs::Transport transport(boot, topt, buffer, peers);

  const bool leader = rank == 0;
  const bool table = leader && args.json != "-" && args.csv != "-";
  const auto ranks = rank_lines(transport, peers.size());
  if (table) {
    out << "# fabtwin run: backend verbs, " << world << " ranks, " << coll::to_string(c) << " algorithm "
        << args.algo << ", " << counts.warmup << " warm-up, " << counts.timed << " timed and "
        << counts.checked << " checked iterations per size, time " << kAverageNames[args.average] << "\n";
    for (const std::string& l : ranks) out << l << "\n";
    out << "#\n";
    if (args.per_iteration) {
      out << "# Per-Iteration Report: host wall-clock timing; i_* uses the slowest rank of each iteration";
      if (args.per_iter_skip > 0) out << "; summary skips first " << args.per_iter_skip << " iterations";
      out << "\n";
    }
    print_table_header(out, args.per_iteration != 0);
    out << std::flush;
  }
  results::ResultFile file;
  TableTotals totals;
  std::string first_wrong;
  for (const coll::Plan& plan : plans) {
    // Out of place, then in place, as nccl-tests' two column groups.
    std::optional<results::Timing> halves[2];
    std::optional<nlohmann::json> iterations[2];
    for (bool in_place : {false, true}) {
      if (in_place ? !want_in : !want_out) continue;
      const std::string what =
          std::to_string(plan.size_bytes) + " B " + (in_place ? "in place" : "out of place");
      const ModeResult r =
          combine(boot, verbs::measure_collective(transport, plan, in_place, counts, args.seed), what,
                  args.average, args.per_iteration ? args.per_iter_skip : -1);
      iterations[in_place ? 1 : 0] = r.per_iteration;
      results::Timing t = results::timing_of(c, world, plan.size_bytes, r.time);
      t.correctness = counts.checked == 0 ? results::Correctness::not_checked
                      : r.wrong == 0      ? results::Correctness::pass
                                          : results::Correctness::fail;
      t.wrong = r.wrong;
      if (r.wrong > 0 && first_wrong.empty()) first_wrong = r.first_wrong;
      halves[in_place ? 1 : 0] = t;
    }
    // The size's columns as its results row has them (count per call, op "none" without a reduction).
    results::Row row = results::row_of(plan, world, "verbs", Seconds(0));
    if (table) {
      results::Row printed = row;
      if (iterations[0]) printed.extra["per_iteration"] = *iterations[0];
      if (iterations[1]) printed.extra["in_place_per_iteration"] = *iterations[1];
      print_table_halves(out, printed, halves[0], halves[1], args.per_iteration != 0);
      out << std::flush;
    }
    // As the importer keeps them: "per_iteration" is the row's timing's, "in_place_per_iteration" the other.
    if (iterations[halves[0] ? 0 : 1]) row.extra["per_iteration"] = *iterations[halves[0] ? 0 : 1];
    if (halves[0] && iterations[1]) row.extra["in_place_per_iteration"] = *iterations[1];
    if (!halves[0]) row.extra["placement"] = "in_place";
    // One row per size, as the results schema has it: the out-of-place measurement in the row, the
    // in-place one under "in_place". A 0-byte call has no bandwidth; it stays in the table only.
    row.timing = halves[0] ? *halves[0] : *halves[1];
    if (halves[0]) row.in_place = halves[1];
    totals.add(row);
    if (plan.size_bytes > 0) file.rows.push_back(row);
  }
  const std::uint64_t total_wrong = totals.wrong;
  if (table) {
    print_table_footer(out, total_wrong, totals.average());
    if (!first_wrong.empty()) out << "# first wrong element: " << first_wrong << "\n";
  }
  if (leader && (!args.json.empty() || !args.csv.empty())) {
    const auto& a = transport.address();
    file.provenance = provenance(nullptr);
    file.provenance["device"] = a.device;
    file.run = {"verbs",
                coll::to_string(c),
                args.algo,
                world,
                coll::to_string(series.front().dtype),
                coll::to_string(series.front().op),
                args.seed,
                {{"device", a.device},
                 {"port", a.port},
                 {"gid_index", a.gid_index},
                 {"iterations", counts.timed},
                 {"warmup", counts.warmup},
                 {"checked", counts.checked},
                 {"average", args.average},
                 {"per_iteration", args.per_iteration != 0},
                 {"mode", want_out && want_in ? "both"
                          : want_out          ? "out_of_place"
                                              : "in_place"},
                 {"wrong", total_wrong}}};
    if (!args.json.empty()) write_json_output(args.json, results::to_json(file), out);
    write_csv_output(args.csv, results::to_csv(file), out);
  }
  boot.barrier("the final barrier");
  exit_code = total_wrong == 0 ? 0 : 1;
}

// The sizes as nccl-tests sweeps them. A factor never leaves 0 B, so -b 0 measures 0 B and then sweeps
// on from 1 B: the empty call (pure per-call overhead) and the sizes in one run.
std::vector<std::uint64_t> run_sizes(const RunArgs& args) {
  const Bytes minbytes = parse_bytes_option("-b", args.minbytes);
  const Bytes maxbytes = parse_bytes_option("-e", args.maxbytes);
  auto sizes =
      size_sweep(minbytes.count() == 0 ? Bytes(std::min<std::uint64_t>(1, maxbytes.count())) : minbytes,
                 maxbytes, args.factor, args.stepbytes);
  if (minbytes.count() == 0 && maxbytes.count() > 0) sizes.insert(sizes.begin(), 0);
  return sizes;
}

void add_run_options(CLI::App& cmd, RunArgs& a) {
  cmd.add_option("--algo", a.algo, "algorithm (see `fabtwin sim --list`)")->capture_default_str();
  cmd.add_option("-I,--per_iter_timing", a.per_iteration,
                 "1: after each half, i_min i_max i_p99 i_cv% over the iterations, each the slowest rank's")
      ->check(CLI::Range(0, 1))
      ->capture_default_str();
  cmd.add_option("-K,--per_iter_skip", a.per_iter_skip, "leave the first N iterations out of -I's figures")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
  cmd.add_option(
         "-a,--average", a.average,
         "the time of a size across ranks, as nccl-tests -a: 0 rank 0's, 1 the mean, 2 the least, 3 the most")
      ->check(CLI::Range(0, 3))
      ->capture_default_str();
  cmd.add_option("-b,--minbytes", a.minbytes, "smallest size")->capture_default_str();
  cmd.add_option("-e,--maxbytes", a.maxbytes, "largest size")->capture_default_str();
  cmd.add_option("-f,--stepfactor", a.factor, "size multiplier between rows")->capture_default_str();
  cmd.add_option("-i,--stepbytes", a.stepbytes, "add this to the size between rows instead of -f");
  cmd.add_option("-n,--iters", a.iters, "timed iterations per size")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
  cmd.add_option("-w,--warmup_iters", a.warmup, "untimed iterations before timing")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
  cmd.add_option("-c,--check", a.check, "checked iterations per size (fresh input, every element compared)")
      ->check(CLI::Range(0, 1 << 16))
      ->capture_default_str();
  cmd.add_option("--collective", a.coll.collective,
                 "all_reduce, reduce_scatter, all_gather, broadcast, reduce or all_to_all")
      ->capture_default_str();
  cmd.add_option("-d,--dtype", a.coll.dtype,
                 "float, double, half, bfloat16, int32, int64; all sweeps every one")
      ->capture_default_str();
  cmd.add_option("-o,--op", a.coll.op, "sum, prod, min, max; all sweeps every one")->capture_default_str();
  cmd.add_option("-r,--root-rank", a.coll.root, "root rank of broadcast and reduce")->capture_default_str();
  cmd.add_option("--chunks", a.coll.chunks, "pipelining depth per segment (0: from the size)")
      ->check(CLI::Range(0, 1 << 16))
      ->capture_default_str();
  cmd.add_flag("--inplace", a.in_place_only, "only in place (default: both)");
  cmd.add_flag("--outplace", a.out_of_place_only, "only out of place (default: both)");
  cmd.add_flag("--p2p", a.p2p, "point-to-point RDMA write bandwidth and latency (2 ranks), like ib_write_bw");
  cmd.add_option("--device", a.device, "RDMA device (default: the first, see `ibv_devices`)");
  cmd.add_option("--devices", a.devices,
                 "NCCL_IB_HCA's syntax (mlx5_0:1,mlx5_1:1 / ^mlx5_4 / =mlx5_0): local rank i takes the i-th "
                 "admitted device (default: NCCL_IB_HCA)");
  cmd.add_option("--port", a.port, "device port")->check(CLI::Range(1, 255))->capture_default_str();
  cmd.add_option("--gid-index", a.gid_index,
                 "GID table index (default: a RoCE v2 GID; InfiniBand uses the LID)")
      ->check(CLI::Range(0, 1 << 16));
  cmd.add_option("--rank", a.rank,
                 "this process's rank (default: OMPI_COMM_WORLD_RANK, PMI_RANK, SLURM_PROCID)")
      ->check(CLI::Range(0, 1 << 24));
  cmd.add_option("--world", a.world,
                 "number of ranks (default: OMPI_COMM_WORLD_SIZE, PMI_SIZE, SLURM_NTASKS)")
      ->check(CLI::Range(1, 1 << 24));
  cmd.add_option("--root", a.root, "HOST:PORT where rank 0 listens for the others (default: FABTWIN_ROOT)");
  cmd.add_option(
      "--token", a.token,
      "what proves a rank belongs to this job (default: FABTWIN_TOKEN, else the Slurm, PMIx or Open MPI "
      "job id)");
  cmd.add_option("-T,--timeout", a.timeout,
                 "longest wait for a peer or a completion (a bare number is seconds)")
      ->capture_default_str();
  cmd.add_option("--ranks-per-host", a.ranks_per_host,
                 "group ranks into hosts of this size for hierarchical (default: by host name)")
      ->check(CLI::Range(1, 1 << 24));
  cmd.add_option("--seed", a.seed, "seed of the checked input data")->capture_default_str();
  cmd.add_option("-J,--json", a.json, "write the rows as JSON to FILE (- for standard output)");
  cmd.add_option("--csv", a.csv, "write one CSV row per size and placement to FILE (- for standard output)");
  refuse_nccl_tests_letters(
      cmd, {
               {"-t", "threads per process: fabtwin run is one process per rank (mpirun -np N, srun -n N)"},
               {"-g", "GPUs per thread: fabtwin run is one process per rank (mpirun -np N, srun -n N)"},
               {"-m", "operations aggregated per iteration: each iteration is one collective"},
               {"-N", "repeats of the sweep: run the command again"},
               {"-p", "parallel init: there is no communicator to initialise"},
               {"-z", "blocking collectives: every iteration already ends in its completions"},
               {"-y", "the NULL stream: there are no CUDA streams (host memory)"},
               {"-G", "CUDA graph launches: there is no GPU"},
               {"-C", "CPU time: the time is the host's wall clock already"},
               {"-R", "buffer registration: the buffer is always registered with the NIC"},
               {"-x", "NCCL's CTA policy: there are no CTAs"},
               {"-D", "device-API kernels: there are no kernels"},
               {"-V", "device-API CTA count: there are no kernels"},
               {"-S", "timestamps: not printed"},
               {"-M", "memory report: not printed"},
               {"-u", "misaligned buffers: not supported"},
           });
}

void run_command(const RunArgs& args, std::ostream& out, std::ostream& err, int& exit_code) {
  refuse_overwriting_inputs({}, {{"--json", args.json}, {"--csv", args.csv}});
  if (args.json == "-" && args.csv == "-")
    throw std::invalid_argument("--json - and --csv -: only one can go to standard output");
  if (args.p2p && !args.csv.empty())
    throw std::invalid_argument("--csv writes collective rows: --p2p has --json");
  if (args.per_iter_skip > 0 && !args.per_iteration)
    throw std::invalid_argument("-K/--per_iter_skip needs -I 1");
  if (args.per_iteration && args.per_iter_skip >= args.iters) {
    throw std::invalid_argument("-K/--per_iter_skip " + std::to_string(args.per_iter_skip) +
                                " leaves none of the " + std::to_string(args.iters) + " iterations of -n");
  }
  const Seconds timeout = parse_duration_option("--timeout", args.timeout);
  if (timeout.count() <= 0) throw std::invalid_argument("--timeout must be positive");
  const auto sizes = run_sizes(args);
  const coll::Collective c = parse_collective(args.coll.collective);
  std::vector<coll::AlgoOptions> series;
  for (const CollectiveOptions& one : expand_all(args.coll)) series.push_back(to_algo_options(one));
  if (series.size() > 1 && !args.json.empty()) {
    throw std::invalid_argument("-d all / -o all run " + std::to_string(series.size()) +
                                " series, and a results file holds one: use --csv, or one -d and -o");
  }
  if (args.p2p && (args.in_place_only || args.out_of_place_only)) {
    throw std::invalid_argument("--inplace/--outplace apply to collectives, not to --p2p");
  }
  const verbs::LaunchInfo launch =
      verbs::detect_launch(args.rank, args.world, args.root, verbs::process_environment(), args.token);
  for (const std::string& w : launch.warnings) err << "fabtwin run: warning: " << w << "\n";
  verbs::TransportOptions topt;
  topt.device = args.device;
  topt.port = static_cast<std::uint8_t>(args.port);
  const std::string hca =
      !args.devices.empty() ? args.devices : verbs::process_environment()("NCCL_IB_HCA").value_or("");
  if (!args.device.empty() && !args.devices.empty()) {
    throw std::invalid_argument("--device names one device, --devices a list to share out: give one of them");
  }
  if (args.device.empty() && !hca.empty()) {
    const std::string option = args.devices.empty() ? "NCCL_IB_HCA" : "--devices";
    const auto chosen = verbs::device_for_local_rank(option, verbs::parse_hca_list(option, hca),
                                                     verbs::device_names(), launch.local_rank);
    topt.device = chosen.name;
    if (chosen.port > 0) topt.port = static_cast<std::uint8_t>(chosen.port);
  }
  topt.gid_index = args.gid_index;
  topt.timeout = timeout;
  const verbs::IterationCounts counts{args.warmup, args.iters, args.check};

  std::unique_ptr<verbs::Bootstrap> boot;
  try {
    boot = std::make_unique<verbs::Bootstrap>(
        launch, timeout, [&err](const std::string& line) { err << "fabtwin run: " << line << "\n"; });
    if (args.p2p) {
      run_p2p(args, *boot, topt, sizes, counts, out, exit_code);
    } else {
      run_collective(args, *boot, topt, sizes, counts, c, series, out, exit_code);
    }
  } catch (const verbs::RunError& e) {
    if (boot) boot->abort(e.what());
    err << "fabtwin run: error: " << e.what() << "\n";
    exit_code = kExitRunFailed;
  } catch (const std::exception& e) {
    // Bad input found late (a device, an algorithm for this rank count) stops every rank, not one.
    if (boot) boot->abort("rank " + std::to_string(launch.rank) + ": " + e.what());
    throw;
  }
}

}  // namespace

void add_run_command(CLI::App& app, std::ostream& out, std::ostream& err, int& exit_code) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd =
      app.add_subcommand("run", "run a collective over RDMA verbs, one process per rank (like nccl-tests)");
  add_run_options(*cmd, *args);
  cmd->callback([args, &out, &err, &exit_code] { run_command(*args, out, err, exit_code); });
}

}  // namespace fabtwin::cli
