// The algorithm registry: which builder serves which (collective, algorithm), how large its plan grows,
// and whether it has a compact round form for scales where the plan is too large to build.
#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>
#include <stdexcept>

#include "algorithms/kit.hpp"
#include "fabtwin/budget.hpp"
#include "fabtwin/coll/rounds.hpp"
#include "fabtwin/topo/topology.hpp"

namespace fabtwin::coll {

using namespace detail;

Group Group::flat(std::int32_t ranks) {
  return Group{ranks, {}, {}};
}

Group Group::uniform(std::int32_t ranks, std::int32_t ranks_per_host) {
  if (ranks_per_host < 1) throw std::invalid_argument("ranks per host must be at least 1");
  Group g{ranks, {}, {}};
  for (std::int32_t r = 0; r < ranks; ++r) g.host_of_rank.push_back(r / ranks_per_host);
  return g;
}

Group Group::from_topology(const topo::Topology& t) {
  Group g{t.rank_count(), {}, {}};
  for (std::int32_t r = 0; r < t.rank_count(); ++r) {
    g.host_of_rank.push_back(t.host_of_rank(r));
    g.nic_of_rank.push_back(t.nodes.at(t.ranks[r].nic).local);
  }
  return g;
}

std::int32_t Group::host_of(std::int32_t rank) const {
  return host_of_rank.empty() ? rank : host_of_rank.at(rank);
}

namespace {

// Measured: a ring all-reduce of 1.3M steps over 256 ranks holds 250 MB, with its dependencies.
constexpr double kBytesPerStep = 200;
// Estimates run up to a third over the steps built; refuse from one only when the real plan cannot pass.
constexpr double kEstimateMargin = 1.5;

// How a builder's step count grows with the ranks: every rank talks to every other (rings and direct
// exchanges carry n segments through n ranks), or each rank takes part in log2(n) rounds.
enum class Growth { quadratic, n_log_n, channels_quadratic, in_switch, channels_tree };

double estimated_steps(Growth growth, std::int32_t n, std::uint64_t size_bytes, const AlgoOptions& options) {
  const double ranks = n;
  if (growth == Growth::channels_quadratic) {
    // NCCL's ring: a quadratic ring per channel, chunked by the protocol's 2 MiB Simple steps.
    const double channels = options.channels > 0 ? options.channels : 16.0;
    const double segment = std::max(1.0, static_cast<double>(size_bytes) / ranks / channels);
    const double chunks = options.chunks > 0
                              ? options.chunks
                              : std::clamp(std::ceil(segment / (2 << 20)), 1.0, double{kMaxChunks});
    return 5.0 * ranks * ranks * chunks * channels;
  }
  if (growth == Growth::channels_tree) {
    // NCCL's tree: every rank sends each piece up and down once per channel, pieces of 4 KiB and up.
    const double channels = options.channels > 0 ? options.channels : 16.0;
    const double pieces = options.chunks > 0
                              ? options.chunks
                              : std::clamp(std::ceil(static_cast<double>(size_bytes) / channels / 4096), 1.0,
                                           double{kMaxChunks});
    return 6.0 * ranks * channels * pieces;
  }
  if (growth == Growth::in_switch) {
    // NVLS and NCCL's tree: per channel (and head slice), every rank sends each piece once or twice.
    const double pieces = std::clamp(std::ceil(static_cast<double>(size_bytes) / 16 / 8 / (128 << 10)), 1.0,
                                     double{kMaxChunks});
    return 8.0 * ranks * 16 * 8 * (options.chunks > 0 ? options.chunks : pieces);
  }
  const double per_rank = std::max(1.0, static_cast<double>(size_bytes) / ranks);
  const double chunks = options.chunks > 0
                            ? options.chunks
                            : std::min<double>(kMaxChunks, std::ceil(per_rank / kDefaultChunkBytes));
  return growth == Growth::quadratic ? 5.0 * ranks * ranks * chunks
                                     : 10.0 * ranks * std::max(1.0, std::log2(ranks)) * chunks;
}

using Builder = std::function<void(Context&)>;
using RoundBuilder = std::function<RoundPlan(const RoundContext&)>;

// A plan over this many steps (a ring all-reduce over 2,048 ranks, about 2.5 GB) is answered by its
// round form where the algorithm has one.
constexpr double kRoundsAbove = 5.0 * 2048 * 2048;
// NCCL's algorithms run many channels and pieces: their plans are slow to evaluate well before memory
// runs short, and their round forms model the pipeline, so they switch much earlier.
constexpr double kNcclRoundsAbove = 2e5;

struct Entry {
  AlgorithmInfo info;
  Builder build;
  Growth growth = Growth::quadratic;
  RoundBuilder rounds = nullptr;  // none: no compact form
  double rounds_above = kRoundsAbove;
};

constexpr Growth kLog = Growth::n_log_n;

const std::vector<Entry>& registry() {
  static const std::vector<Entry> entries = {
      {{Collective::all_reduce, "ring",
        "reduce-scatter then all-gather around a ring, chunked and pipelined"},
       allreduce_ring,
       Growth::quadratic,
       all_reduce_ring_rounds},
      {{Collective::all_reduce, "tree",
        "double binary tree (NCCL): each half of the data up and down its own tree"},
       allreduce_tree,
       kLog},
      {{Collective::all_reduce, "halving-doubling",
        "Rabenseifner: recursive-halving reduce-scatter, recursive-doubling all-gather"},
       allreduce_halving_doubling,
       kLog},
      {{Collective::all_reduce, "recursive-doubling",
        "log2(n) rounds exchanging the whole buffer: fewest messages"},
       allreduce_recursive_doubling,
       kLog},
      {{Collective::all_reduce, "hierarchical",
        "rail-aware: reduce-scatter in each host, all-reduce per rail across hosts, all-gather in each host"},
       allreduce_hierarchical},
      {{Collective::all_reduce, "direct",
        "every rank reduces its slice from all others, then sends it to all"},
       allreduce_direct},
      {{Collective::all_reduce, "nccl-ring",
        "NCCL's Ring: one rail-aligned ring per channel, its protocol's pipeline and latencies"},
       allreduce_nccl_ring,
       Growth::channels_quadratic,
       all_reduce_nccl_ring_rounds,
       kNcclRoundsAbove},
      {{Collective::all_reduce, "nccl-tree",
        "NCCL's Tree: a chain in each host, a double binary tree across hosts, one tree per channel half"},
       allreduce_nccl_tree,
       Growth::channels_tree,
       all_reduce_nccl_tree_rounds,
       kNcclRoundsAbove},
      {{Collective::all_reduce, "nvls",
        "NCCL's NVLS: the NVSwitch reduces and multicasts inside one host (Hopper and later)"},
       allreduce_nvls,
       Growth::in_switch,
       all_reduce_nvls_rounds,
       kNcclRoundsAbove},
      {{Collective::all_reduce, "nvls-tree",
        "NCCL's NVLSTree: NVLS inside each host, a double binary tree of the hosts' heads per NIC"},
       allreduce_nvls_tree,
       Growth::in_switch,
       all_reduce_nvls_tree_rounds,
       kNcclRoundsAbove},
      {{Collective::reduce_scatter, "ring", "ring reduce-scatter, chunked and pipelined"},
       reduce_scatter_ring},
      {{Collective::reduce_scatter, "direct", "every rank sends each block to its owner"},
       reduce_scatter_direct},
      {{Collective::all_gather, "ring", "ring all-gather, chunked and pipelined"}, all_gather_ring},
      {{Collective::all_gather, "direct", "every rank sends its block to all others"}, all_gather_direct},
      {{Collective::broadcast, "ring", "pipelined chain from the root"}, broadcast_ring, kLog},
      {{Collective::broadcast, "direct", "the root sends to every rank"}, broadcast_direct, kLog},
      {{Collective::reduce, "ring", "pipelined chain ending at the root"}, reduce_ring, kLog},
      {{Collective::reduce, "direct", "every rank sends to the root, which reduces"}, reduce_direct, kLog},
      {{Collective::all_to_all, "direct", "all pairs at once"}, all_to_all_direct},
      {{Collective::all_to_all, "ring", "pairwise exchange, one partner per round"}, all_to_all_ring},
  };
  return entries;
}

}  // namespace

std::vector<std::int32_t> btree_parents(std::int32_t ranks, int which_tree) {
  // Tree 0 is an in-order binary tree over 0..n-1 built from the lowest set bit of each rank.
  auto tree0 = [ranks](std::int32_t r) -> std::int32_t {
    if (r == 0) return -1;
    const std::int32_t bit = r & -r;
    std::int32_t up = (r ^ bit) | (bit << 1);
    if (up >= ranks) up = r ^ bit;
    return up;
  };
  // Tree 1 mirrors tree 0 (even n) or shifts it by one (odd n), so that most ranks that are leaves
  // in one tree are interior in the other and every rank sends and receives about equally.
  std::vector<std::int32_t> parent(ranks);
  for (std::int32_t r = 0; r < ranks; ++r) {
    if (which_tree == 0) {
      parent[r] = tree0(r);
    } else if (ranks % 2 == 0) {
      const std::int32_t p = tree0(ranks - 1 - r);
      parent[r] = p < 0 ? -1 : ranks - 1 - p;
    } else {
      const std::int32_t p = tree0((r + ranks - 1) % ranks);
      parent[r] = p < 0 ? -1 : (p + 1) % ranks;
    }
  }
  return parent;
}

const std::vector<AlgorithmInfo>& algorithm_catalog() {
  static const std::vector<AlgorithmInfo> infos = [] {
    std::vector<AlgorithmInfo> v;
    for (const auto& e : registry()) v.push_back(e.info);
    return v;
  }();
  return infos;
}

std::vector<std::string> algorithms_for(Collective c) {
  std::vector<std::string> v;
  for (const auto& e : registry()) {
    if (e.info.collective == c) v.push_back(e.info.name);
  }
  return v;
}

namespace {

const Entry& find_entry(Collective c, const std::string& algorithm) {
  for (const auto& e : registry()) {
    if (e.info.collective == c && e.info.name == algorithm) return e;
  }
  std::string known;
  for (const auto& name : algorithms_for(c)) known += (known.empty() ? "" : ", ") + name;
  throw std::invalid_argument("unknown " + std::string(to_string(c)) + " algorithm \"" + algorithm +
                              "\" (known: " + known + ")");
}

void check_group(Collective c, const Group& group, const AlgoOptions& options) {
  const std::int32_t n = group.ranks;
  if (n < 1) throw std::invalid_argument("a collective needs at least 1 rank, got " + std::to_string(n));
  if (!group.host_of_rank.empty() && static_cast<std::int32_t>(group.host_of_rank.size()) != n) {
    throw std::invalid_argument("group: host_of_rank has " + std::to_string(group.host_of_rank.size()) +
                                " entries for " + std::to_string(n) + " ranks");
  }
  if (!group.nic_of_rank.empty() && static_cast<std::int32_t>(group.nic_of_rank.size()) != n) {
    throw std::invalid_argument("group: nic_of_rank has " + std::to_string(group.nic_of_rank.size()) +
                                " entries for " + std::to_string(n) + " ranks");
  }
  if ((c == Collective::broadcast || c == Collective::reduce) && (options.root < 0 || options.root >= n)) {
    throw std::invalid_argument("root " + std::to_string(options.root) + " is not a rank of a " +
                                std::to_string(n) + "-rank group (use 0.." + std::to_string(n - 1) + ")");
  }
}

// nccl-tests' rounding of a size to whole elements (and whole per-rank blocks where the collective
// splits the buffer across ranks): the element count, and each rank's input and output bytes.
struct Sizing {
  std::uint64_t count = 0;
  std::uint64_t in = 0;
  std::uint64_t out = 0;
};

Sizing sizing(Collective c, std::int32_t n, std::uint64_t size_bytes, std::uint64_t elem) {
  Sizing z;
  switch (c) {
    case Collective::all_reduce:
    case Collective::broadcast:
    case Collective::reduce:
      z.count = size_bytes / elem;
      z.in = z.out = z.count * elem;
      break;
    case Collective::reduce_scatter:
      z.count = size_bytes / (elem * n) * n;
      z.in = z.count * elem;
      z.out = z.in / n;
      break;
    case Collective::all_gather:
      z.count = size_bytes / (elem * n) * n;
      z.out = z.count * elem;
      z.in = z.out / n;
      break;
    case Collective::all_to_all:
      z.count = size_bytes / (elem * n) * n;
      z.in = z.out = z.count * elem;
      break;
  }
  return z;
}

}  // namespace

double estimate_plan_steps(Collective c, const std::string& algorithm, std::int32_t ranks,
                           std::uint64_t size_bytes, const AlgoOptions& options) {
  return estimated_steps(find_entry(c, algorithm).growth, ranks, size_bytes, options);
}

bool has_round_form(Collective c, const std::string& algorithm) {
  return static_cast<bool>(find_entry(c, algorithm).rounds);
}

bool prefers_round_form(Collective c, const std::string& algorithm, std::int32_t ranks,
                        std::uint64_t size_bytes, const AlgoOptions& options) {
  const Entry& e = find_entry(c, algorithm);
  return e.rounds && estimated_steps(e.growth, ranks, size_bytes, options) > e.rounds_above;
}

namespace {

void check_plan_size(Collective c, const std::string& algorithm, const Entry& entry, std::int32_t n,
                     double steps) {
  std::ostringstream name;
  name << to_string(c) << "/" << algorithm << " over " << n << " ranks";
  const std::string lower = std::string("use fewer ranks or --chunks") +
                            (entry.rounds ? ", or its round model (fabtwin sim uses it at scale)" : "");
  const double per_rank = steps / n;
  if (per_rank > kEstimateMargin * static_cast<double>(kMaxRaceCheckedSteps)) {
    std::ostringstream msg;
    msg << name.str() << " would have about " << static_cast<std::uint64_t>(per_rank)
        << " steps per rank, more than the " << kMaxRaceCheckedSteps
        << " a plan is checked for races at: " << lower;
    throw std::invalid_argument(msg.str());
  }
  check_memory("the plan of " + name.str() + " (about " + std::to_string(static_cast<std::uint64_t>(steps)) +
                   " steps)",
               steps * kBytesPerStep, lower);
}

}  // namespace

Plan make_plan(Collective c, const std::string& algorithm, const Group& group, std::uint64_t size_bytes,
               const AlgoOptions& options) {
  check_group(c, group, options);
  const Entry& entry = find_entry(c, algorithm);
  const std::int32_t n = group.ranks;
  Plan plan;
  plan.collective = c;
  plan.algorithm = algorithm;
  plan.dtype = options.dtype;
  plan.op = options.op;
  plan.root = (c == Collective::broadcast || c == Collective::reduce) ? options.root : -1;
  plan.ranks.resize(n);
  const std::uint64_t elem = element_size(options.dtype);
  const Sizing z = sizing(c, n, size_bytes, elem);
  plan.count = z.count;
  plan.size_bytes = plan.count * elem;
  check_plan_size(c, algorithm, entry, n, estimated_steps(entry.growth, n, plan.size_bytes, options));
  for (std::int32_t r = 0; r < n; ++r) {
    plan.ranks[r].input_bytes = z.in;
    plan.ranks[r].output_bytes = (c == Collective::reduce && r != plan.root) ? 0 : z.out;
  }
  PlanBuilder builder(plan);
  Context cx{builder, group, options, n, elem};
  entry.build(cx);
  return plan;
}

RoundPlan make_round_plan(Collective c, const std::string& algorithm, const Group& group,
                          std::uint64_t size_bytes, const AlgoOptions& options) {
  check_group(c, group, options);
  const Entry& entry = find_entry(c, algorithm);
  if (!entry.rounds) {
    std::string with;
    for (const auto& e : registry()) {
      if (e.rounds)
        with += (with.empty() ? "" : ", ") + std::string(to_string(e.info.collective)) + "/" + e.info.name;
    }
    const double steps = estimated_steps(entry.growth, group.ranks, size_bytes, options);
    std::ostringstream msg;
    msg << to_string(c) << "/" << algorithm << " over " << group.ranks << " ranks would have about " << steps
        << " steps, too large a plan to build, and it has no round model for such scales (those with one: "
        << with << "; or use fewer ranks)";
    throw std::invalid_argument(msg.str());
  }
  const std::uint64_t elem = element_size(options.dtype);
  RoundPlan rp;
  rp.collective = c;
  rp.algorithm = algorithm;
  rp.ranks = group.ranks;
  rp.count = sizing(c, group.ranks, size_bytes, elem).count;
  rp.size_bytes = rp.count * elem;
  rp.dtype = options.dtype;
  rp.op = options.op;
  const RoundContext rc{group, options, group.ranks, elem, rp.count};
  RoundPlan built = entry.rounds(rc);
  rp.phases = std::move(built.phases);
  rp.protocol = std::move(built.protocol);
  rp.channels = built.channels;
  rp.reducers = std::move(built.reducers);
  return rp;
}

}  // namespace fabtwin::coll
