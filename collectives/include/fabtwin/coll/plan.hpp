// A collective as data: per rank, a list of steps with dependencies. Nothing here knows which
// backend runs it; the in-memory reference, the ns-3 fabric and RDMA verbs all execute this.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fabtwin/coll/datatype.hpp"
#include "fabtwin/units.hpp"

namespace fabtwin::coll {

enum class Collective { all_reduce, reduce_scatter, all_gather, broadcast, reduce, all_to_all };
enum class StepKind { send, recv, reduce, copy };
enum class BufferKind : std::uint8_t { input, output, scratch };

const char* to_string(Collective c);
const char* to_string(StepKind k);
const char* to_string(BufferKind b);
std::optional<Collective> collective_from_string(const std::string& s);
// Whether the collective combines ranks' data with a reduction (nccl-tests prints redop "none" otherwise).
constexpr bool has_reduction(Collective c) {
  return c == Collective::all_reduce || c == Collective::reduce_scatter || c == Collective::reduce;
}

struct Region {
  BufferKind buffer = BufferKind::output;
  std::uint64_t offset = 0;  // bytes
  std::uint64_t bytes = 0;
  std::uint64_t end() const { return offset + bytes; }
};

using StepIndex = std::uint32_t;

// send:   `src` leaves for `peer`; complete once the local region may be reused.
// recv:   data from `peer` lands in `dst`; complete once it is all there.
// reduce: dst = dst op src, element-wise, on this rank.
// copy:   dst = src on this rank.
// A send and a recv pair up by (sender, receiver, tag); tags are unique per ordered rank pair.
// Dependencies name earlier steps of the same rank; a step is posted once all have completed.
struct Step {
  StepKind kind = StepKind::copy;
  std::int32_t peer = -1;
  Region src;
  Region dst;
  std::uint32_t tag = 0;
  std::vector<StepIndex> deps;

  std::uint64_t bytes() const { return kind == StepKind::recv ? dst.bytes : src.bytes; }
};

// A transfer is named exactly by (sender, receiver, tag); every backend pairs sends and receives by it.
struct TransferKey {
  std::int32_t from = 0;
  std::int32_t to = 0;
  std::uint32_t tag = 0;
  bool operator==(const TransferKey&) const = default;
};

struct TransferKeyHash {
  std::size_t operator()(const TransferKey& k) const noexcept {
    std::uint64_t x = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(k.from)) << 32 |
                       static_cast<std::uint32_t>(k.to)) ^
                      (static_cast<std::uint64_t>(k.tag) * 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return static_cast<std::size_t>(x ^ (x >> 31));
  }
};

// How a plan's transfers travel, as NCCL's protocols (Simple, LL, LL128) differ: the fraction of the
// bytes on the wire that is payload, and fixed costs once per call and per transfer, inside a host or
// across the network. Every timed backend charges these instead of its endpoint's per-message cost; a
// plan whose protocol has no name is charged the endpoint costs only (the textbook algorithms).
struct Protocol {
  std::string name;
  double payload_fraction = 1.0;
  Seconds call{0};
  Seconds intra_hop{0};
  Seconds network_hop{0};
  // The most one channel's transfers move per second (its GPU threads, as NCCL's per-channel tables
  // have it); zero when the links alone decide.
  BitsPerSecond channel_rate{0};
  bool empty() const { return name.empty(); }
};

// A participant that is not a rank: a switch that reduces in the network (NVLS in a host's NVSwitch,
// Hopper and later). Reducers follow the group's ranks in Plan::ranks, have no input or output, and
// are placed by backends on the switch they name. Several may share one switch (one per channel).
struct InNetworkReducer {
  std::int32_t host = 0;  // the host, as the group numbers them (Group::host_of), whose NVSwitch it is
};

struct RankPlan {
  std::vector<Step> steps;
  std::uint64_t input_bytes = 0;
  std::uint64_t output_bytes = 0;
  std::uint64_t scratch_bytes = 0;
};

struct Plan {
  Collective collective = Collective::all_reduce;
  std::string algorithm;
  DataType dtype = DataType::float32;
  ReduceOp op = ReduceOp::sum;
  std::int32_t root = 0;
  std::uint64_t count = 0;       // elements, as nccl-tests counts them for this collective
  std::uint64_t size_bytes = 0;  // nccl-tests "size": count * element size
  Protocol protocol;
  std::int32_t channels = 1;    // independent slices of the buffer, each run by its own ring or tree
  std::vector<RankPlan> ranks;  // the group's ranks, then the in-network reducers
  std::vector<InNetworkReducer> reducers;

  // Every participant (ranks and reducers); the runner and validator treat them alike.
  std::int32_t rank_count() const { return static_cast<std::int32_t>(ranks.size()); }
  // The group's ranks alone: what holds data, what busbw counts.
  std::int32_t group_ranks() const { return rank_count() - static_cast<std::int32_t>(reducers.size()); }
  // The reducer participant `p` is, or nullptr for a rank.
  const InNetworkReducer* reducer(std::int32_t p) const {
    return p >= group_ranks() && p < rank_count() ? &reducers[static_cast<std::size_t>(p - group_ranks())]
                                                  : nullptr;
  }
  std::size_t step_count() const;
};

// A plan that breaks the rules below. Derives from std::invalid_argument, but a command that built the
// plan itself treats it as an internal error, not as bad input.
class InvalidPlan : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Throws InvalidPlan naming the rank and step at fault: dependencies that are not earlier
// steps, regions outside their buffer or misaligned to the element size, a send or recv without its
// partner or with a different size, cross-rank cycles (a plan that would deadlock), two steps that
// may touch one region at once with at least one writing, or output bytes that no step writes.
// The race check orders every pair of a rank's steps (steps^2 / 8 bytes, 128 MiB here): plans with more
// steps on one rank are refused by validate, and builders refuse them from their estimate up front.
inline constexpr std::size_t kMaxRaceCheckedSteps = 32768;
void validate(const Plan& plan);

// Every send paired with its receive, for backends that move data between ranks.
struct TransferPairs {
  struct Pair {
    std::int32_t from = 0;
    StepIndex send = 0;
    std::int32_t to = 0;
    StepIndex recv = 0;
  };
  std::vector<Pair> pairs;                           // in (sender rank, step) order
  std::vector<std::vector<std::uint32_t>> index_of;  // [rank][step] -> pair, UINT32_MAX for local steps
};
// Throws std::invalid_argument naming the rank and step of a recv without its send.
TransferPairs pair_transfers(const Plan& plan);

// Stable 64-bit digest of a plan's content, for result provenance.
std::uint64_t plan_hash(const Plan& plan);

}  // namespace fabtwin::coll
