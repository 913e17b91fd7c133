// The ns-3 side of the packet model: a layer-2 frame header, a full-duplex point-to-point channel and a
// port (NetDevice) with strict-priority egress queues, PFC pause state and link-level credits. What a
// node does with a frame (forward it, or terminate queue pairs) belongs to its Element.
#pragma once

#include <ns3/channel.h>
#include <ns3/header.h>
#include <ns3/net-device.h>
#include <ns3/node.h>
#include <ns3/packet.h>

#include <array>
#include <cstdint>
#include <deque>

#include "fabtwin/topo/topology.hpp"
#include "fabtwin/topo/wire.hpp"

namespace fabtwin::packet {

enum class FrameType : std::uint8_t { data = 0, ack = 1, nak = 2, cnp = 3, pause = 4 };

constexpr std::uint8_t kFirst = 1;  // first packet of a message (carries RETH)
constexpr std::uint8_t kLast = 2;   // last packet (carries the immediate)
constexpr std::uint8_t kCe = 4;     // ECN congestion experienced
constexpr std::uint8_t kXoff = 8;   // pause frame: stop (else resume)
constexpr std::uint32_t kControlPriority = 7;
constexpr std::uint32_t kPriorities = 8;
constexpr std::uint32_t kBurst = 4;

// What the RDMA transport and the link layer need from a frame. The byte counts that cost link time
// come from the link's FrameFormat, not from this header's own size.
struct Frame {
  FrameType type = FrameType::data;
  std::uint8_t flags = 0;
  std::uint8_t priority = 0;
  std::uint32_t qp = 0;
  std::uint32_t route = 0;  // the source route the frame follows (data: forward, control: reverse)
  std::uint32_t psn = 0;
  std::uint32_t payload = 0;
};

// The frame's header as ns-3 serialises it into the packet. The simulation passes the parsed Frame along
// with the packet rather than parse the bytes again at every hop.
class FabricHeader : public ns3::Header {
 public:
  FabricHeader() = default;
  explicit FabricHeader(const Frame& f) : frame(f) {}
  static ns3::TypeId GetTypeId();
  ns3::TypeId GetInstanceTypeId() const override;
  std::uint32_t GetSerializedSize() const override;
  void Serialize(ns3::Buffer::Iterator start) const override;
  std::uint32_t Deserialize(ns3::Buffer::Iterator start) override;
  void Print(std::ostream& os) const override;

  Frame frame;
};

class FabricDevice;

// A node's behaviour behind its ports.
class Element {
 public:
  virtual ~Element() = default;
  // `header` is the frame's header as parsed once at the port, so the element need not parse it again.
  virtual void Receive(std::uint32_t port, ns3::Ptr<ns3::Packet> packet, const Frame& header) = 0;
  // A data frame that entered through `in_port` left through another port's queue (buffer release).
  virtual void Dequeued(std::uint32_t in_port, std::uint32_t priority, std::uint32_t bytes) = 0;
  // Sources (endpoints) hand a port its next frame when the port is idle and its queues empty. Returns
  // null when nothing may be sent now; *wake_ps is then the time to ask again, or -1.
  virtual ns3::Ptr<ns3::Packet> Pull(std::uint32_t port, std::int64_t credit_bytes, std::int64_t* wake_ps,
                                     Frame* header) = 0;
};

class FabricChannel : public ns3::Channel {
 public:
  static ns3::TypeId GetTypeId();
  std::size_t GetNDevices() const override { return 2; }
  ns3::Ptr<ns3::NetDevice> GetDevice(std::size_t i) const override;

  void Connect(ns3::Ptr<FabricDevice> a, ns3::Ptr<FabricDevice> b, const topo::Link& link);
  FabricDevice* Peer(const FabricDevice* self) const;
  std::int64_t delay_ps() const { return delay_ps_; }
  topo::LinkId link() const { return link_; }
  bool up() const { return up_; }
  void set_up(bool up) { up_ = up; }

 private:
  ns3::Ptr<FabricDevice> dev_[2];
  std::int64_t delay_ps_ = 0;
  topo::LinkId link_ = 0;
  bool up_ = true;
};

struct DeviceStats {
  std::uint64_t wire_bytes = 0;
  std::int64_t busy_ps = 0;
  std::uint64_t frames = 0;
  std::uint64_t peak_queue_bytes = 0;
  std::uint64_t drops = 0;  // frames lost because the link was down
};

class FabricDevice : public ns3::NetDevice {
 public:
  static ns3::TypeId GetTypeId();

  // `forward`: this port transmits from link.a to link.b. Credit-based ports start with the peer's
  // receive buffer as credit per priority; others are unlimited (PFC or drop decides instead).
  void Configure(Element* owner, std::uint32_t port, const topo::Link& link, bool forward, bool credit_based,
                 std::int64_t credit_bytes);
  void SetChannel(ns3::Ptr<FabricChannel> channel) { channel_ = channel; }
  FabricChannel* channel() const { return ns3::PeekPointer(channel_); }
  topo::LinkId link() const { return link_; }
  bool forward() const { return forward_; }
  bool credit_based() const { return credit_based_; }
  void set_rate_factor(double f) { rate_factor_ = f; }
  // A source port asks its owner for frames of this priority when its queues are empty.
  void MakeSource(std::uint32_t priority) {
    is_source_ = true;
    source_priority_ = priority;
  }

  void EnqueueControl(ns3::Ptr<ns3::Packet> packet, const Frame& h);
  void EnqueueData(const Frame& h, ns3::Ptr<ns3::Packet> packet, std::uint32_t in_port, std::uint32_t bytes);
  std::uint64_t queued_bytes(std::uint32_t priority) const { return queued_bytes_[priority]; }
  std::uint64_t queued_total() const { return queued_total_; }
  void SetPaused(std::uint32_t priority, bool paused);
  // Credit that reaches this port at `at_ps`. Kept in a list rather than scheduled as an event: a port
  // with credit to spare never looks at it, and a starved one schedules a single wake for it.
  void AddCreditAt(std::int64_t at_ps, std::uint32_t priority, std::uint32_t bytes);
  // Transmit if idle and something may go; otherwise make sure the port looks again when it can.
  void Kick();
  // Called by the channel when a frame arrives at this port.
  void Deliver(ns3::Ptr<ns3::Packet> packet, Frame header);
  // The link went down: queued frames are lost (their buffer is released through the owner).
  void FlushOnFailure();

  std::uint32_t WireBytes(const Frame& h) const;
  const DeviceStats& stats() const { return stats_; }

  // ns3::NetDevice: this is a layer-2 port owned by our elements, not an IP interface.
  void SetIfIndex(const std::uint32_t index) override { if_index_ = index; }
  std::uint32_t GetIfIndex() const override { return if_index_; }
  ns3::Ptr<ns3::Channel> GetChannel() const override { return channel_; }
  void SetAddress(ns3::Address address) override { address_ = address; }
  ns3::Address GetAddress() const override { return address_; }
  bool SetMtu(const std::uint16_t mtu) override;
  std::uint16_t GetMtu() const override { return mtu_; }
  bool IsLinkUp() const override { return channel_ && channel_->up(); }
  void AddLinkChangeCallback(ns3::Callback<void>) override {}
  bool IsBroadcast() const override { return false; }
  ns3::Address GetBroadcast() const override { return ns3::Address(); }
  bool IsMulticast() const override { return false; }
  ns3::Address GetMulticast(ns3::Ipv4Address) const override { return ns3::Address(); }
  ns3::Address GetMulticast(ns3::Ipv6Address) const override { return ns3::Address(); }
  bool IsBridge() const override { return false; }
  bool IsPointToPoint() const override { return true; }
  // Frames enter through the elements (EnqueueData / EnqueueControl), which know their priority.
  bool Send(ns3::Ptr<ns3::Packet> packet, const ns3::Address& dest, std::uint16_t protocol) override;
  bool SendFrom(ns3::Ptr<ns3::Packet> packet, const ns3::Address& source, const ns3::Address& dest,
                std::uint16_t protocol) override;
  ns3::Ptr<ns3::Node> GetNode() const override { return node_; }
  void SetNode(ns3::Ptr<ns3::Node> node) override { node_ = node; }
  bool NeedsArp() const override { return false; }
  void SetReceiveCallback(ns3::NetDevice::ReceiveCallback cb) override { rx_ = cb; }
  void SetPromiscReceiveCallback(ns3::NetDevice::PromiscReceiveCallback) override {}
  bool SupportsSendFrom() const override { return false; }

 protected:
  void DoDispose() override;

 private:
  struct Queued {
    ns3::Ptr<ns3::Packet> packet;
    Frame header;  // parsed once on arrival, not again at every dequeue
    std::uint32_t in_port;
    std::uint32_t bytes;
  };
  bool SendOne(std::int64_t start);
  void Transmit(ns3::Ptr<ns3::Packet> packet, const Frame& h, std::int64_t start);
  std::int64_t Credit(std::uint32_t priority);
  void WaitForCredit(std::uint32_t priority);
  void WakeAt(std::int64_t at_ps);
  void Wake();

  Element* owner_ = nullptr;
  std::uint32_t port_ = 0;
  ns3::Ptr<FabricChannel> channel_;
  ns3::Ptr<ns3::Node> node_;
  ns3::NetDevice::ReceiveCallback rx_;
  ns3::Address address_;
  std::uint32_t if_index_ = 0;
  std::uint16_t mtu_ = 4096;
  topo::LinkId link_ = 0;
  bool forward_ = true;
  double bits_per_second_ = 0;
  double rate_factor_ = 1.0;
  topo::FrameFormat format_;
  bool ethernet_ = false;
  bool credit_based_ = false;
  bool is_source_ = false;
  std::uint32_t source_priority_ = 0;

  std::deque<Queued> control_;
  std::array<std::deque<Queued>, kPriorities> queues_;
  std::array<std::uint64_t, kPriorities> queued_bytes_{};
  std::uint64_t queued_total_ = 0;
  std::array<bool, kPriorities> paused_{};
  std::array<std::int64_t, kPriorities> credits_{};
  struct PendingCredit {
    std::int64_t at_ps;
    std::uint32_t bytes;
  };
  std::array<std::deque<PendingCredit>, kPriorities> pending_credit_;
  std::array<bool, kPriorities> starved_{};
  std::int64_t busy_until_ps_ = 0;
  std::int64_t wake_at_ps_ = -1;
  DeviceStats stats_;
};

}  // namespace fabtwin::packet
