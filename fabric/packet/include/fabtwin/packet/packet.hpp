// The packet-level backend: the plan's transfers become RDMA WRITE WITH IMMEDIATE messages on reliable
// connected queue pairs, cut into MTU packets that cross an ns-3 model of the fabric hop by hop. RoCE
// switches have a shared buffer, per-priority egress queues, ECN marking and PFC (or drop when PFC is
// off); InfiniBand links use per-VL credits. This header keeps ns-3 out of its users.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "fabtwin/backend/endpoint.hpp"
#include "fabtwin/backend/errors.hpp"
#include "fabtwin/backend/whatif.hpp"
#include "fabtwin/coll/runner.hpp"
#include "fabtwin/topo/routing.hpp"
#include "fabtwin/units.hpp"

namespace fabtwin::packet {

enum class FabricKind { roce, infiniband };
using backend::Routing;
enum class CongestionControl { none, dcqcn };

const char* to_string(FabricKind k);
using backend::to_string;
const char* to_string(CongestionControl c);

using backend::LinkEvent;
using backend::parse_link_event;

// ECN marking at a switch egress queue (RED-like, on the instantaneous queue as DCQCN switches do).
struct EcnConfig {
  Bytes kmin{100 * 1024};
  Bytes kmax{400 * 1024};
  double pmax = 0.2;
};

// DCQCN reaction point, with the parameters of the DCQCN paper scaled to the line rate.
struct DcqcnConfig {
  double g = 1.0 / 256;             // alpha gain
  Seconds alpha_period{55e-6};      // alpha decays when no CNP came for this long
  Seconds increase_period{55e-6};   // rate-increase timer
  Bytes byte_counter{10'000'000};   // rate-increase byte counter
  std::uint32_t fast_recovery = 5;  // stages of fast recovery before additive increase
  double additive_fraction = 1e-3;  // R_AI as a fraction of line rate
  double hyper_fraction = 5e-3;     // R_HAI as a fraction of line rate
  double min_fraction = 1e-3;       // lowest rate as a fraction of line rate
  Seconds cnp_interval{50e-6};      // notification point: at most one CNP per QP per interval
};

struct PacketConfig {
  FabricKind fabric = FabricKind::roce;
  Routing routing = Routing::ecmp;
  CongestionControl cc = CongestionControl::dcqcn;
  bool pfc = true;
  std::uint64_t seed = 0;
  // The same endpoint costs as the analytic model, so that the two differ only by what the network does.
  backend::EndpointCosts endpoint;
  Bytes switch_buffer{64ull << 20};  // shared packet buffer of a network switch
  Bytes pfc_xoff{512 * 1024};        // per ingress port and priority
  Bytes pfc_xon{256 * 1024};
  Bytes credit_buffer{256 * 1024};  // per VL receive buffer on InfiniBand links
  // Inside a host (PCIe, NVLink) flow control is credit-based too, with buffers deep enough for the
  // link's round trip; the network's settings do not apply there.
  Bytes host_credit_buffer{1024 * 1024};
  std::uint32_t data_priority = 3;
  EcnConfig ecn;
  DcqcnConfig dcqcn;
  std::uint32_t ack_every = 16;      // receiver acknowledges every this many packets, and each message end
  Seconds retransmit_timeout{1e-3};  // go-back-N after this long without acknowledgement progress
  std::uint32_t retry_limit = 7;     // consecutive timeouts before the QP fails, as IB's retry_cnt
  // Simulated time without any completion after which the run is declared stuck.
  Seconds stall_timeout{0.5};
  std::vector<LinkEvent> link_events;
  // Called about once per second of wall time on long runs: simulated time, wall time, events.
  std::function<void(Seconds simulated, double wall_s, std::uint64_t events)> on_progress;
};

struct LinkUse {
  topo::LinkId link = 0;
  bool forward = true;
  std::uint64_t wire_bytes = 0;  // headers included
  Seconds busy;                  // time spent serialising
};

struct FabricReport {
  std::vector<LinkUse> busiest;  // busiest link directions first, by busy time (up to 10)
  std::uint64_t peak_queue_bytes = 0;
  std::string peak_queue_port;   // "node -> node"
  std::uint64_t pfc_pauses = 0;  // PAUSE (XOFF) frames sent
  std::uint64_t drops = 0;
  std::uint64_t retransmitted_packets = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t ecn_marks = 0;
  std::uint64_t cnps = 0;
  std::uint64_t data_packets = 0;     // sent, retransmissions included
  std::uint64_t delivered_bytes = 0;  // payload the responders accepted in sequence, each byte once
  std::uint64_t packet_hops = 0;
  std::uint64_t events = 0;
  Seconds simulated;
  double wall_s = 0.0;
};

using backend::SimulationFailed;

// Drives one plan through the packet model. ns-3's simulator is a process-wide singleton, so only one
// PacketBackend may exist at a time; constructing a second one throws std::logic_error.
class PacketBackend final : public coll::Backend {
 public:
  PacketBackend(const coll::Plan& plan, const topo::Topology& topology, const PacketConfig& config);
  ~PacketBackend() override;
  PacketBackend(const PacketBackend&) = delete;
  PacketBackend& operator=(const PacketBackend&) = delete;

  void post(coll::StepRef ref, Seconds ready) override;
  std::vector<coll::Completion> progress() override;

  FabricReport report() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

struct PacketResult {
  Seconds time;
  coll::RunResult run;
  FabricReport fabric;
};

// Runs the plan to completion on the packet model. Throws SimulationFailed when the fabric cannot
// deliver, std::invalid_argument for a plan that does not fit the topology.
PacketResult simulate(const coll::Plan& plan, const topo::Topology& topology, const PacketConfig& config);

}  // namespace fabtwin::packet
