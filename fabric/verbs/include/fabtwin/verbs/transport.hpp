// The verbs transport: one registered buffer per process and one reliable-connected QP per peer, and
// the collective backend that runs a rank's share of a plan over them. Data moves as RDMA WRITE WITH
// IMMEDIATE into the receiver's region, the immediate carrying the plan's tag; a receiver first grants
// each transfer with a zero-byte write (clear-to-send), because a region may still be in use by the
// receiver's earlier steps until its recv step is posted. A recv whose region no step touches before
// it is granted when the iteration starts instead, saving the sender a round trip.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "fabtwin/coll/runner.hpp"
#include "fabtwin/verbs/bootstrap.hpp"
#include "fabtwin/verbs/device.hpp"

namespace fabtwin::verbs {

struct TransportOptions {
  std::string device;  // empty: the first device
  std::uint8_t port = 1;
  int gid_index = -1;  // -1: choose (see select_port)
  // Longest wait for any completion before the run is declared stuck.
  Seconds timeout{30.0};
  // Busy-poll this long before sleeping on the completion channel: spinning gives the lowest latency
  // on a dedicated core; sleeping keeps oversubscribed hosts (and emulators) moving.
  Seconds spin{50e-6};
};

// Work requests a QP may have outstanding; beyond this the transport queues them itself.
inline constexpr std::uint32_t kSendDepth = 128;
// Receives pre-posted per QP for writes with immediate; each completion re-posts one.
inline constexpr std::uint32_t kRecvDepth = 256;
// The top bit of an immediate marks a clear-to-send grant; plan tags must stay below it.
inline constexpr std::uint32_t kClearToSendBit = 0x80000000u;

class Transport {
 public:
  struct Event {
    enum class Kind { write_done, immediate } kind = Kind::write_done;
    std::int32_t peer = -1;
    std::uint64_t wr_id = 0;  // write_done: the caller's id
    std::uint32_t immediate = 0;
  };
  // Names a work request in error messages (which step, which tag).
  using Describe = std::function<std::string(std::uint64_t wr_id)>;

  // Collective over every rank of `boot`: opens the device, registers `buffer_bytes`, creates a QP to
  // every rank in `peers` (which must be symmetric: a lists b iff b lists a) and connects them.
  Transport(Bootstrap& boot, const TransportOptions& options, std::uint64_t buffer_bytes,
            const std::vector<std::int32_t>& peers);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  std::int32_t rank() const { return boot_.rank(); }
  Bootstrap& bootstrap() { return boot_; }
  const PortAddress& address() const { return address_; }
  const TransportOptions& options() const { return options_; }
  std::byte* buffer() { return buffer_.get(); }
  std::uint64_t buffer_bytes() const { return buffer_bytes_; }

  // RDMA WRITE of `bytes` from this buffer at `local_offset` to the peer's at `remote_offset`, with
  // an immediate when given. Queued in software when the QP's send queue is full.
  void write(std::int32_t peer, std::uint64_t local_offset, std::uint64_t remote_offset, std::uint64_t bytes,
             std::optional<std::uint32_t> immediate, std::uint64_t wr_id);

  // Completions within `max_wait` (empty when none came). Throws RunError on a failed work
  // completion (naming status, QP, peer and, through `describe`, the step) or when the bootstrap
  // reports another rank's failure.
  std::vector<Event> poll(Seconds max_wait, const Describe& describe);

 private:
  struct Connection;
  struct PendingWrite {
    std::uint64_t local_offset, remote_offset, bytes;
    std::optional<std::uint32_t> immediate;
    std::uint64_t wr_id;
  };
  void post_now(Connection& c, const PendingWrite& w);
  void post_recvs(Connection& c, std::uint32_t n);
  std::int32_t peer_of_qp(std::uint32_t qp_num) const;

  Bootstrap& boot_;
  TransportOptions options_;
  VerbsPtr<ibv_context> ctx_;
  PortAddress address_;
  std::uint64_t max_message_bytes_ = 0;
  VerbsPtr<ibv_pd> pd_;
  struct FreeDeleter {
    void operator()(std::byte* p) const noexcept { std::free(p); }
  };
  // Declared before the MR that registers it, so it is freed after the deregistration.
  std::unique_ptr<std::byte, FreeDeleter> buffer_;
  std::uint64_t buffer_bytes_ = 0;
  VerbsPtr<ibv_mr> mr_;
  VerbsPtr<ibv_comp_channel> channel_;
  VerbsPtr<ibv_cq> cq_;
  std::vector<Connection> connections_;  // by peer rank; unused slots have no QP
};

// Where a rank's input, output and scratch sit in its registered buffer for one plan. Every rank
// computes every rank's layout from the plan, so a sender knows where its bytes land.
struct Layout {
  std::uint64_t input = 0;
  std::uint64_t output = 0;
  std::uint64_t scratch = 0;
  std::uint64_t bytes = 0;
};
Layout layout_for(const coll::Plan& plan, std::int32_t rank, bool in_place);

// The recvs of `rank` that may be granted when an iteration starts rather than when posted: every
// other step touching the recv's bytes (in `layout`, so in-place aliasing counts) depends on it
// directly. Empty above kEarlyGrantMaxSteps steps (the check is quadratic).
std::vector<coll::StepIndex> early_grant_steps(const coll::Plan& plan, std::int32_t rank,
                                               const Layout& layout);

// The ranks a plan makes `rank` exchange data with.
std::vector<std::int32_t> peers_of(const coll::Plan& plan, std::int32_t rank);

class VerbsBackend final : public coll::Backend {
 public:
  // The plan must outlive the backend; the transport's buffer must hold layout_for(plan, rank).
  VerbsBackend(Transport& transport, const coll::Plan& plan, bool in_place);
  void post(coll::StepRef ref, Seconds ready) override;
  // Blocks until a posted step completes; throws RunError after the transport's timeout without any
  // completion, naming every step still waiting and on whom.
  std::vector<coll::Completion> progress() override;

  // Where one of this rank's regions sits in the registered buffer.
  std::uint64_t offset_of(const coll::Region& r) const;

 private:
  Seconds now() const;
  void start_send(coll::StepIndex step);
  std::string describe(std::uint64_t wr_id) const;
  std::string waiting_report() const;

  Transport& transport_;
  const coll::Plan& plan_;
  std::int32_t rank_;
  Layout mine_;
  std::vector<std::uint64_t> remote_offset_;  // per own step: where a send lands at its peer
  std::uint64_t epoch_ns_ = 0;
  std::vector<Seconds> started_;
  // Keyed by (peer << 32 | tag): grants that came before their send was posted, and posted halves.
  std::unordered_map<std::uint64_t, std::uint32_t> grants_;
  std::unordered_map<std::uint64_t, coll::StepIndex> sends_waiting_;
  std::unordered_map<std::uint64_t, coll::StepIndex> recvs_waiting_;
  std::vector<coll::Completion> done_;
  // Recvs granted at the start of each iteration, and data that landed before its recv was posted.
  std::vector<coll::StepIndex> early_grants_;
  std::unordered_map<std::uint64_t, bool> granted_early_;  // by (peer, tag): whether that recv is one
  std::unordered_map<std::uint64_t, std::uint32_t> arrived_;
  bool iteration_open_ = false;
  std::size_t completed_ = 0;
};

// Steps per rank above which early grants are not worked out (the check is quadratic in steps).
inline constexpr std::size_t kEarlyGrantMaxSteps = 4096;

}  // namespace fabtwin::verbs
