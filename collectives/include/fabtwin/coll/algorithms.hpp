// The algorithm library: pure functions from (group, size, options) to a plan.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fabtwin/coll/plan.hpp"
#include "fabtwin/coll/rounds.hpp"

namespace fabtwin::topo {
struct Topology;
}

namespace fabtwin::coll {

// Who takes part: rank count and, for topology-aware algorithms, which host each rank sits on and
// which of its host's NICs it sends through.
struct Group {
  std::int32_t ranks = 1;
  std::vector<std::int32_t> host_of_rank;  // empty: every rank on its own host
  std::vector<std::int32_t> nic_of_rank;   // local index of the rank's NIC; empty: one NIC per rank

  static Group flat(std::int32_t ranks);
  static Group uniform(std::int32_t ranks, std::int32_t ranks_per_host);
  static Group from_topology(const topo::Topology& t);
  std::int32_t host_of(std::int32_t rank) const;
};

struct AlgoOptions {
  DataType dtype = DataType::float32;
  ReduceOp op = ReduceOp::sum;
  std::int32_t root = 0;
  // Pipelining depth: each segment moves as this many chunks. 0 = pick from the size (about
  // kDefaultChunkBytes per chunk, at most kMaxChunks).
  std::int32_t chunks = 0;
  // NCCL's algorithms: the protocol (simple, ll, ll128; empty: simple) and the channels (0: as NCCL
  // derives them from the NICs of a host and the size).
  std::string protocol;
  std::int32_t channels = 0;
  // NCCL_MIN_NCHANNELS / NCCL_MAX_NCHANNELS: bounds on the channels NCCL derives (0: none).
  std::int32_t min_channels = 0;
  std::int32_t max_channels = 0;
  // A channel's protocol throughput ceiling (NCCL's tuner gives it from NCCL's tables); 0: none.
  BitsPerSecond channel_rate{0};
};

inline constexpr std::uint64_t kDefaultChunkBytes = 1ull << 20;
inline constexpr std::int32_t kMaxChunks = 16;

struct AlgorithmInfo {
  Collective collective;
  std::string name;
  std::string summary;
};

// Every (collective, algorithm) pair the library can build.
const std::vector<AlgorithmInfo>& algorithm_catalog();
std::vector<std::string> algorithms_for(Collective c);

// `size_bytes` is the nccl-tests size for the collective (for reduce-scatter, all-gather and
// all-to-all the whole buffer across ranks, for the others one rank's buffer). Sizes that are not a
// multiple of the element size (or of ranks x element size where the collective needs that) are
// rounded down as nccl-tests does. Throws std::invalid_argument for an unknown algorithm, a bad
// root, or a group the algorithm cannot serve (with what to do instead).
Plan make_plan(Collective c, const std::string& algorithm, const Group& group, std::uint64_t size_bytes,
               const AlgoOptions& options);

// Whether (c, algorithm) has a round form.
bool has_round_form(Collective c, const std::string& algorithm);
// Whether its round form should answer at this scale rather than a plan: past about 2e7 steps for the
// textbook algorithms (memory), 2e5 for NCCL's (evaluation time).
bool prefers_round_form(Collective c, const std::string& algorithm, std::int32_t ranks,
                        std::uint64_t size_bytes, const AlgoOptions& options);

// The round form of make_plan(c, algorithm, group, size_bytes, options). Throws std::invalid_argument
// for an unknown algorithm or one without a round form (naming those that have one).
RoundPlan make_round_plan(Collective c, const std::string& algorithm, const Group& group,
                          std::uint64_t size_bytes, const AlgoOptions& options);

// About how many steps make_plan would build, without building it (make_plan refuses above 1e8).
double estimate_plan_steps(Collective c, const std::string& algorithm, std::int32_t ranks,
                           std::uint64_t size_bytes, const AlgoOptions& options);

// The two binary trees of the double binary tree, as parent links (-1 for the root). Exposed for tests.
std::vector<std::int32_t> btree_parents(std::int32_t ranks, int which_tree);

}  // namespace fabtwin::coll
