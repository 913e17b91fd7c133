#include "fabric_device.hpp"

#include <ns3/simulator.h>

#include <algorithm>
#include <cmath>
#include <ostream>

namespace fabtwin::packet {

// These TypeIds register at static-initialisation time, which is why this file is built into an OBJECT
// library: linked from a static archive, nothing would pull it in and the registrations would vanish.
NS_OBJECT_ENSURE_REGISTERED(FabricHeader);
NS_OBJECT_ENSURE_REGISTERED(FabricChannel);
NS_OBJECT_ENSURE_REGISTERED(FabricDevice);

namespace {

// Ethernet PAUSE (802.1Qbb) is a minimum frame: 64 bytes plus preamble and inter-frame gap.
constexpr std::uint32_t kPauseWireBytes = 84;
// AETH on acknowledgements; CNPs carry 16 reserved bytes after the BTH.
constexpr std::uint32_t kAethBytes = 4;
constexpr std::uint32_t kCnpBytes = 16;

}  // namespace

ns3::TypeId FabricHeader::GetTypeId() {
  static ns3::TypeId tid = ns3::TypeId("fabtwin::FabricHeader")
                               .SetParent<ns3::Header>()
                               .SetGroupName("fabtwin")
                               .AddConstructor<FabricHeader>();
  return tid;
}

ns3::TypeId FabricHeader::GetInstanceTypeId() const {
  return GetTypeId();
}

std::uint32_t FabricHeader::GetSerializedSize() const {
  return 3 + 4 * 4;
}

void FabricHeader::Serialize(ns3::Buffer::Iterator i) const {
  i.WriteU8(static_cast<std::uint8_t>(frame.type));
  i.WriteU8(frame.flags);
  i.WriteU8(frame.priority);
  i.WriteU32(frame.qp);
  i.WriteU32(frame.route);
  i.WriteU32(frame.psn);
  i.WriteU32(frame.payload);
}

std::uint32_t FabricHeader::Deserialize(ns3::Buffer::Iterator i) {
  frame.type = static_cast<FrameType>(i.ReadU8());
  frame.flags = i.ReadU8();
  frame.priority = i.ReadU8();
  frame.qp = i.ReadU32();
  frame.route = i.ReadU32();
  frame.psn = i.ReadU32();
  frame.payload = i.ReadU32();
  return GetSerializedSize();
}

void FabricHeader::Print(std::ostream& os) const {
  os << "type=" << static_cast<int>(frame.type) << " flags=" << static_cast<int>(frame.flags)
     << " prio=" << static_cast<int>(frame.priority) << " qp=" << frame.qp << " psn=" << frame.psn
     << " payload=" << frame.payload;
}

ns3::TypeId FabricChannel::GetTypeId() {
  static ns3::TypeId tid = ns3::TypeId("fabtwin::FabricChannel")
                               .SetParent<ns3::Channel>()
                               .SetGroupName("fabtwin")
                               .AddConstructor<FabricChannel>();
  return tid;
}

ns3::Ptr<ns3::NetDevice> FabricChannel::GetDevice(std::size_t i) const {
  return dev_[i & 1];
}

void FabricChannel::Connect(ns3::Ptr<FabricDevice> a, ns3::Ptr<FabricDevice> b, const topo::Link& link) {
  dev_[0] = a;
  dev_[1] = b;
  link_ = link.id;
  delay_ps_ = std::llround(link.latency.count() * 1e12);
}

FabricDevice* FabricChannel::Peer(const FabricDevice* self) const {
  return ns3::PeekPointer(dev_[0]) == self ? ns3::PeekPointer(dev_[1]) : ns3::PeekPointer(dev_[0]);
}

ns3::TypeId FabricDevice::GetTypeId() {
  static ns3::TypeId tid = ns3::TypeId("fabtwin::FabricDevice")
                               .SetParent<ns3::NetDevice>()
                               .SetGroupName("fabtwin")
                               .AddConstructor<FabricDevice>();
  return tid;
}

void FabricDevice::Configure(Element* owner, std::uint32_t port, const topo::Link& link, bool forward,
                             bool credit_based, std::int64_t credit_bytes) {
  owner_ = owner;
  port_ = port;
  link_ = link.id;
  forward_ = forward;
  bits_per_second_ = link.bandwidth.count();
  format_ = topo::frame_format(link.layer);
  ethernet_ = link.layer == topo::LinkLayer::roce;
  mtu_ = static_cast<std::uint16_t>(std::min<std::uint64_t>(link.mtu.count(), 65535));
  credit_based_ = credit_based;
  credits_.fill(credit_based ? credit_bytes : 0);
}

bool FabricDevice::SetMtu(const std::uint16_t mtu) {
  mtu_ = mtu;
  return true;
}

bool FabricDevice::Send(ns3::Ptr<ns3::Packet>, const ns3::Address&, std::uint16_t) {
  return false;
}

bool FabricDevice::SendFrom(ns3::Ptr<ns3::Packet>, const ns3::Address&, const ns3::Address&, std::uint16_t) {
  return false;
}

void FabricDevice::DoDispose() {
  control_.clear();
  for (auto& q : queues_) q.clear();
  channel_ = nullptr;
  node_ = nullptr;
  owner_ = nullptr;
  ns3::NetDevice::DoDispose();
}

std::uint32_t FabricDevice::WireBytes(const Frame& h) const {
  switch (h.type) {
    case FrameType::data:
      return h.payload + format_.per_packet + ((h.flags & kFirst) ? format_.first_extra : 0) +
             ((h.flags & kLast) ? format_.last_extra : 0);
    case FrameType::ack:
    case FrameType::nak:
      return format_.per_packet + kAethBytes;
    case FrameType::cnp:
      return format_.per_packet + kCnpBytes;
    case FrameType::pause:
      return kPauseWireBytes;
  }
  return format_.per_packet;
}

void FabricDevice::EnqueueControl(ns3::Ptr<ns3::Packet> packet, const Frame& h) {
  control_.push_back({packet, h, 0, 0});
  Kick();
}

void FabricDevice::EnqueueData(const Frame& h, ns3::Ptr<ns3::Packet> packet, std::uint32_t in_port,
                               std::uint32_t bytes) {
  const std::uint32_t priority = h.priority;
  queues_[priority].push_back({packet, h, in_port, bytes});
  queued_bytes_[priority] += bytes;
  queued_total_ += bytes;
  stats_.peak_queue_bytes = std::max<std::uint64_t>(stats_.peak_queue_bytes, queued_total());
  Kick();
}

void FabricDevice::SetPaused(std::uint32_t priority, bool paused) {
  paused_[priority] = paused;
  if (!paused) Kick();
}

void FabricDevice::AddCreditAt(std::int64_t at_ps, std::uint32_t priority, std::uint32_t bytes) {
  pending_credit_[priority].push_back({at_ps, bytes});
  if (starved_[priority]) {
    starved_[priority] = false;
    WakeAt(at_ps);
  }
}

std::int64_t FabricDevice::Credit(std::uint32_t priority) {
  const std::int64_t now = ns3::Simulator::Now().GetPicoSeconds();
  auto& pending = pending_credit_[priority];
  while (!pending.empty() && pending.front().at_ps <= now) {
    credits_[priority] += pending.front().bytes;
    pending.pop_front();
  }
  return credits_[priority];
}

void FabricDevice::WaitForCredit(std::uint32_t priority) {
  // Credits return in the order frames left the peer, so the first pending one is the earliest. With
  // none on the way, the next credit to be sent wakes the port.
  if (!pending_credit_[priority].empty()) {
    WakeAt(pending_credit_[priority].front().at_ps);
  } else {
    starved_[priority] = true;
  }
}

void FabricDevice::WakeAt(std::int64_t at_ps) {
  if (wake_at_ps_ >= 0 && wake_at_ps_ <= at_ps) return;
  wake_at_ps_ = at_ps;
  const std::int64_t now = ns3::Simulator::Now().GetPicoSeconds();
  ns3::Simulator::Schedule(ns3::PicoSeconds(std::max<std::int64_t>(at_ps - now, 0)), &FabricDevice::Wake,
                           this);
}

void FabricDevice::Wake() {
  if (wake_at_ps_ > ns3::Simulator::Now().GetPicoSeconds()) return;  // an earlier wake superseded it
  wake_at_ps_ = -1;
  Kick();
}

void FabricDevice::Kick() {
  if (owner_ == nullptr) return;
  const std::int64_t now = ns3::Simulator::Now().GetPicoSeconds();
  if (now < busy_until_ps_) {
    WakeAt(busy_until_ps_);
    return;
  }
  // Frames go out in short bursts, back to back, with one wake-up per burst rather than per frame: the
  // wake-ups were a third of all events. A burst is decided when it starts, so a PAUSE or a control
  // frame arriving meanwhile waits for at most kBurst - 1 frames (about 250 ns at 400G with a 4 KiB MTU),
  // which PFC headroom and the control queue's latency absorb.
  std::int64_t start = now;
  for (std::uint32_t k = 0; k < kBurst && SendOne(start); ++k) start = busy_until_ps_;
  // A port with nothing waiting needs no event when it goes idle: the next enqueue kicks it.
  if (busy_until_ps_ > now && (is_source_ || !control_.empty() || queued_total() > 0)) WakeAt(busy_until_ps_);
}

bool FabricDevice::SendOne(std::int64_t start) {
  if (!control_.empty()) {
    Queued item = control_.front();
    control_.pop_front();
    Transmit(item.packet, item.header, start);
    return true;
  }
  for (std::int32_t prio = kPriorities - 1; prio >= 0 && queued_total_ > 0; --prio) {
    auto& q = queues_[prio];
    if (q.empty() || paused_[prio]) continue;
    if (credit_based_ && Credit(prio) < static_cast<std::int64_t>(q.front().bytes)) {
      WaitForCredit(prio);
      continue;
    }
    Queued item = q.front();
    q.pop_front();
    queued_bytes_[prio] -= item.bytes;
    queued_total_ -= item.bytes;
    if (credit_based_) credits_[prio] -= item.bytes;
    Transmit(item.packet, item.header, start);
    owner_->Dequeued(item.in_port, static_cast<std::uint32_t>(prio), item.bytes);
    return true;
  }
  if (!is_source_ || paused_[source_priority_]) return false;
  std::int64_t wake = -1;
  const std::int64_t credit = credit_based_ ? Credit(source_priority_) : INT64_MAX;
  Frame h;
  ns3::Ptr<ns3::Packet> p = owner_->Pull(port_, credit, &wake, &h);
  if (p) {
    if (credit_based_ && h.type == FrameType::data) credits_[h.priority] -= p->GetSize();
    Transmit(p, h, start);
    return true;
  }
  if (wake >= 0) WakeAt(std::max(wake, start));
  if (credit_based_) WaitForCredit(source_priority_);
  return false;
}

void FabricDevice::Transmit(ns3::Ptr<ns3::Packet> packet, const Frame& h, std::int64_t start) {
  const std::uint32_t wire = WireBytes(h);
  const double rate = bits_per_second_ * rate_factor_;
  if (!channel_->up() || rate <= 0) {
    ++stats_.drops;
    return;
  }
  const auto tx_ps = static_cast<std::int64_t>(std::ceil(wire * 8.0 * 1e12 / rate));
  busy_until_ps_ = start + tx_ps;
  stats_.wire_bytes += wire;
  stats_.busy_ps += tx_ps;
  ++stats_.frames;
  FabricDevice* peer = channel_->Peer(this);
  const std::int64_t now = ns3::Simulator::Now().GetPicoSeconds();
  // The parsed header rides along with the frame: parsing the bytes again at every hop cost about a
  // sixth of the simulation's time and yields the same fields.
  ns3::Simulator::Schedule(ns3::PicoSeconds(busy_until_ps_ - now + channel_->delay_ps()),
                           &FabricDevice::Deliver, peer, packet, h);
}

void FabricDevice::Deliver(ns3::Ptr<ns3::Packet> packet, Frame header) {
  if (owner_ == nullptr) return;
  if (!channel_->up()) {
    ++stats_.drops;
    return;
  }
  owner_->Receive(port_, packet, header);
}

void FabricDevice::FlushOnFailure() {
  for (std::uint32_t prio = 0; prio < kPriorities; ++prio) {
    auto& q = queues_[prio];
    while (!q.empty()) {
      Queued item = q.front();
      q.pop_front();
      queued_bytes_[prio] -= item.bytes;
      queued_total_ -= item.bytes;
      ++stats_.drops;
      owner_->Dequeued(item.in_port, prio, item.bytes);
    }
  }
  stats_.drops += control_.size();
  control_.clear();
}

}  // namespace fabtwin::packet
