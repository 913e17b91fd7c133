#include "node.hpp"

#include <algorithm>

#include "fabtwin/hash.hpp"
#include "sim.hpp"

namespace fabtwin::packet {

Rng::Rng(std::uint64_t seed) : state_(splitmix64(seed ^ 0x5eed)) {}

double Rng::uniform() {
  state_ = splitmix64(state_);
  return static_cast<double>(state_ >> 11) * 0x1.0p-53;
}

Node::Node(const topo::Node& n, const PacketConfig& config, Routes& routes, QueuePairs& qps, Rng& rng)
    : config_(config),
      routes_(routes),
      qps_(qps),
      rng_(rng),
      id_(n.id),
      kind_(n.kind),
      node_(ns3::CreateObject<ns3::Node>()),
      capacity_(config.switch_buffer.count()) {}

std::uint32_t Node::add_port(ns3::Ptr<FabricDevice> dev) {
  node_->AddDevice(dev);
  ports_.push_back(PeekPointer(dev));
  ingress_.push_back({});
  xoff_.push_back({});
  return static_cast<std::uint32_t>(ports_.size() - 1);
}

std::uint32_t Node::port_of(const FabricDevice* device) const {
  std::uint32_t port = 0;
  for (std::uint32_t i = 0; i < ports_.size(); ++i) {
    if (ports_[i] == device) port = i;
  }
  return port;
}

void Node::add_source(std::uint32_t port, QueuePair& qp) {
  if (sources_.size() <= port) sources_.resize(ports_.size());
  sources_[port].qps.push_back(&qp);
  qp.attach(port, ports_[port]);
}

void Node::move_source(QueuePair& qp, std::uint32_t port) {
  if (port == qp.port()) return;
  Source& old = sources_[qp.port()];
  old.qps.erase(std::remove(old.qps.begin(), old.qps.end(), &qp), old.qps.end());
  old.rr = 0;
  add_source(port, qp);
}

ns3::Ptr<ns3::Packet> Node::Pull(std::uint32_t port, std::int64_t credit, std::int64_t* wake, Frame* header) {
  if (port >= sources_.size() || sources_[port].qps.empty()) return nullptr;
  Source& source = sources_[port];
  const std::int64_t now = now_ps();
  const std::size_t n = source.qps.size();
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t slot = (source.rr + k) % n;
    QueuePair& qp = *source.qps[slot];
    const std::optional<Frame> h = qp.next_frame(now, wake);
    if (!h) continue;
    if (credit < static_cast<std::int64_t>(h->payload + header_bytes())) return nullptr;
    source.rr = (slot + 1) % n;
    qp.sent(*h, now);
    *header = *h;
    return make_frame(*h);
  }
  return nullptr;
}

bool Node::pfc_port(std::uint32_t port) const {
  return !ports_[port]->credit_based() && config_.pfc;
}

void Node::return_credit(std::uint32_t port, std::uint32_t priority, std::uint32_t bytes) {
  FabricDevice* in = ports_[port];
  if (!in->credit_based()) return;
  FabricDevice* upstream = in->channel()->Peer(in);
  upstream->AddCreditAt(now_ps() + in->channel()->delay_ps(), priority, bytes);
}

void Node::Receive(std::uint32_t port, ns3::Ptr<ns3::Packet> packet, const Frame& header) {
  Frame h = header;
  if (h.type == FrameType::pause) {
    ports_[port]->SetPaused(h.priority, (h.flags & kXoff) != 0);
    return;
  }
  const QueuePair& qp = *qps_[h.qp];
  const bool data = h.type == FrameType::data;
  if ((data ? qp.dst_node() : qp.src_node()) == id_) {
    terminate(port, packet, h);
    return;
  }
  FabricDevice* out = routes_.next_device(id_, h);
  const bool out_up = out != nullptr && out->channel()->up();
  if (!data) {
    if (out_up) {
      out->EnqueueControl(packet, h);
    } else {
      ++stats_.drops;
    }
    return;
  }
  const std::uint32_t size = packet->GetSize();
  if (!out_up) {
    ++stats_.drops;
    return_credit(port, h.priority, size);
    return;
  }
  if (!admit(port, h, size)) return;
  if (kind_ == topo::NodeKind::network_switch && config_.fabric == FabricKind::roce)
    mark_ecn(*out, packet, h);
  out->EnqueueData(h, packet, port, size);
}

void Node::terminate(std::uint32_t port, const ns3::Ptr<ns3::Packet>& packet, const Frame& h) {
  QueuePair& qp = *qps_[h.qp];
  if (h.type == FrameType::data) {
    // Endpoints drain at line rate: the buffer slot is free as soon as the frame is in.
    return_credit(port, h.priority, packet->GetSize());
    qp.on_data(h);
  } else if (h.type == FrameType::cnp) {
    qp.on_cnp();
  } else {
    qp.on_ack(h);
  }
}

// Takes the frame into the shared buffer, pausing the upstream port when its priority passes XOFF.
bool Node::admit(std::uint32_t port, const Frame& h, std::uint32_t size) {
  FabricDevice* in = ports_[port];
  // Lossy ports drop on a full buffer. With PFC the headroom above XOFF should absorb what is in
  // flight; overflowing it anyway is a drop a lossless fabric reports as a misconfiguration.
  if (!in->credit_based() && used_ + size > capacity_) {
    ++stats_.drops;
    return false;
  }
  used_ += size;
  ingress_[port][h.priority] += size;
  if (pfc_port(port) && !xoff_[port][h.priority] && ingress_[port][h.priority] >= config_.pfc_xoff.count()) {
    xoff_[port][h.priority] = true;
    ++stats_.pauses;
    Frame pause;
    pause.type = FrameType::pause;
    pause.priority = h.priority;
    pause.flags = kXoff;
    in->EnqueueControl(make_frame(pause), pause);
  }
  return true;
}

void Node::mark_ecn(const FabricDevice& out, const ns3::Ptr<ns3::Packet>& packet, Frame& h) {
  const double q = static_cast<double>(out.queued_bytes(h.priority));
  const auto& ecn = config_.ecn;
  const double kmin = static_cast<double>(ecn.kmin.count()), kmax = static_cast<double>(ecn.kmax.count());
  double p = 0;
  if (q >= kmax) {
    p = 1;
  } else if (q > kmin) {
    p = ecn.pmax * (q - kmin) / (kmax - kmin);
  }
  if (p > 0 && (h.flags & kCe) == 0 && rng_.uniform() < p) {
    FabricHeader wire;
    packet->RemoveHeader(wire);
    wire.frame.flags |= kCe;
    packet->AddHeader(wire);
    h.flags |= kCe;
    ++stats_.marks;
  }
}

void Node::Dequeued(std::uint32_t in_port, std::uint32_t priority, std::uint32_t bytes) {
  if (in_port >= ingress_.size()) return;
  used_ -= bytes;
  ingress_[in_port][priority] -= bytes;
  if (xoff_[in_port][priority] && ingress_[in_port][priority] <= config_.pfc_xon.count()) {
    xoff_[in_port][priority] = false;
    Frame resume;
    resume.type = FrameType::pause;
    resume.priority = static_cast<std::uint8_t>(priority);
    ports_[in_port]->EnqueueControl(make_frame(resume), resume);
  }
  return_credit(in_port, priority, bytes);
}

}  // namespace fabtwin::packet
