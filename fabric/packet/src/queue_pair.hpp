// One reliable-connected queue pair from a source rank to a destination rank: the requester cuts
// messages into MTU frames and recovers losses by go-back-N on NAK or timeout; the responder
// acknowledges, places out-of-order frames where routing reorders, and sends CNPs for marked frames.
#pragma once

#include <ns3/packet.h>

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "dcqcn.hpp"
#include "fabric_device.hpp"
#include "routes.hpp"

namespace fabtwin::packet {

struct QueuePairStats {
  std::uint64_t data_packets = 0;
  std::uint64_t retransmitted = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t cnps = 0;
  std::uint64_t drops = 0;  // control frames with no port up to leave through
  std::uint64_t delivered_bytes = 0;
};

class QueuePair {
 public:
  // What the queue pair reports to whoever runs it; transfers are the rendezvous' indices.
  class Owner {
   public:
    virtual void received(std::uint32_t transfer) = 0;
    virtual void acknowledged(std::uint32_t transfer) = 0;
    virtual void fail(const std::string& why) = 0;

   protected:
    ~Owner() = default;
  };
  struct Ends {
    std::uint32_t id = 0;
    std::int32_t src = 0, dst = 0;
    topo::NodeId src_node = 0, dst_node = 0;
  };

  QueuePair(const Ends& ends, const PacketConfig& config, Routes& routes, Owner& owner);
  QueuePair(const QueuePair&) = delete;
  QueuePair& operator=(const QueuePair&) = delete;

  std::uint32_t id() const { return ends_.id; }
  topo::NodeId src_node() const { return ends_.src_node; }
  topo::NodeId dst_node() const { return ends_.dst_node; }
  std::uint32_t route() const { return route_; }
  std::uint32_t port() const { return port_; }
  // The source's port the first hop leaves through; the queue pair kicks it when it has data.
  void attach(std::uint32_t port, FabricDevice* device) {
    port_ = port;
    source_ = device;
  }
  // Moves to a path over the links still up (throws SimulationFailed when there is none).
  void reroute();
  const QueuePairStats& stats() const { return stats_; }
  bool outstanding() const { return una_ < end_psn_; }
  void describe_progress(std::ostream& os) const;

  // Requester.
  void add_message(std::uint32_t transfer, std::uint64_t bytes);
  // The next data frame if one may leave now; otherwise lowers *wake to when pacing allows one.
  std::optional<Frame> next_frame(std::int64_t now, std::int64_t* wake);
  void sent(const Frame& h, std::int64_t now);
  void on_ack(const Frame& h);
  void on_cnp() { cc_.on_cnp(); }
  // Responder.
  void on_data(const Frame& h);

 private:
  struct Message {
    std::uint32_t first_psn = 0;
    std::uint32_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint32_t transfer = 0;
    std::uint32_t end_psn() const { return first_psn + packets; }
  };

  void send_control(FrameType type, std::uint32_t psn);
  void go_back(std::uint32_t psn);
  void arm_timer();
  void retransmit_timer();
  std::string retries_exhausted() const;
  void kick() { source_->Kick(); }
  void place_in_sequence(const Frame& h);
  bool complete_received();

  Ends ends_;
  const PacketConfig& config_;
  Routes& routes_;
  Owner& owner_;
  std::uint32_t route_, back_;
  Dcqcn cc_;
  std::uint32_t port_ = 0;
  FabricDevice* source_ = nullptr;
  std::uint32_t mtu_ = 4096;
  topo::FrameFormat pacing_format_;
  std::vector<Message> messages_;
  QueuePairStats stats_;
  // Requester.
  std::size_t send_cursor_ = 0;  // message holding next_psn_
  std::size_t acked_msgs_ = 0;
  std::uint32_t next_psn_ = 0, end_psn_ = 0, una_ = 0, max_sent_ = 0;
  std::int64_t last_progress_ps_ = 0;
  bool timer_armed_ = false;
  std::uint32_t retries_ = 0;
  // Responder.
  std::uint32_t expected_ = 0;
  std::size_t recv_msgs_ = 0;
  std::uint32_t since_ack_ = 0;
  bool nak_sent_ = false;
  std::int64_t last_cnp_sent_ps_ = std::numeric_limits<std::int64_t>::min() / 2;
  std::map<std::uint32_t, std::uint32_t> out_of_order_;  // psn -> payload, placed but not yet in sequence
};

using QueuePairs = std::vector<std::unique_ptr<QueuePair>>;

}  // namespace fabtwin::packet
