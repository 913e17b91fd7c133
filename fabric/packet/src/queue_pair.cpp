#include "queue_pair.hpp"

#include <algorithm>
#include <sstream>

#include "sim.hpp"

namespace fabtwin::packet {

namespace {

double line_bps(const topo::Topology& topology, const Route& route) {
  double bps = std::numeric_limits<double>::max();
  for (const auto& hop : route.hops) bps = std::min(bps, topology.links[hop.link].bandwidth.count());
  return bps;
}

}  // namespace

QueuePair::QueuePair(const Ends& ends, const PacketConfig& config, Routes& routes, Owner& owner)
    : ends_(ends),
      config_(config),
      routes_(routes),
      owner_(owner),
      route_(routes.add(ends.src, ends.dst)),
      back_(routes.reverse(route_)),
      cc_(config, line_bps(routes.topology(), routes.route(route_))) {
  const Route& route = routes_.route(route_);
  if (route.hops.empty()) {
    throw std::invalid_argument("ranks " + std::to_string(ends.src) + " and " + std::to_string(ends.dst) +
                                " share a GPU: the packet model needs a link between every pair that talks");
  }
  std::uint64_t mtu = std::numeric_limits<std::uint64_t>::max();
  for (const auto& hop : route.hops) {
    const auto& l = routes_.topology().links[hop.link];
    mtu = std::min<std::uint64_t>(mtu, l.mtu.count());
    if (l.layer == topo::LinkLayer::roce || l.layer == topo::LinkLayer::infiniband) {
      pacing_format_ = topo::frame_format(l.layer);
    }
  }
  mtu_ = static_cast<std::uint32_t>(std::max<std::uint64_t>(mtu, 1));
}

void QueuePair::reroute() {
  route_ = routes_.add(ends_.src, ends_.dst);
  back_ = routes_.reverse(route_);
}

void QueuePair::describe_progress(std::ostream& os) const {
  os << " [rank " << ends_.src << " -> " << ends_.dst << ": acknowledged " << una_ << " of " << end_psn_
     << " packets]";
}

void QueuePair::add_message(std::uint32_t transfer, std::uint64_t bytes) {
  Message m;
  m.first_psn = end_psn_;
  m.packets = static_cast<std::uint32_t>(std::max<std::uint64_t>(1, (bytes + mtu_ - 1) / mtu_));
  m.bytes = bytes;
  m.transfer = transfer;
  end_psn_ += m.packets;
  messages_.push_back(m);
  kick();
}

std::optional<Frame> QueuePair::next_frame(std::int64_t now, std::int64_t* wake) {
  if (next_psn_ >= end_psn_) return std::nullopt;
  if (cc_.next_send_ps() > now) {
    if (*wake < 0 || cc_.next_send_ps() < *wake) *wake = cc_.next_send_ps();
    return std::nullopt;
  }
  while (messages_[send_cursor_].end_psn() <= next_psn_) ++send_cursor_;
  const Message& m = messages_[send_cursor_];
  const std::uint32_t i = next_psn_ - m.first_psn;
  Frame h;
  h.type = FrameType::data;
  h.priority = static_cast<std::uint8_t>(config_.data_priority);
  h.qp = ends_.id;
  h.route = route_;
  h.psn = next_psn_;
  h.payload = static_cast<std::uint32_t>(i + 1 == m.packets ? m.bytes - std::uint64_t(i) * mtu_ : mtu_);
  h.flags = (i == 0 ? kFirst : 0) | (i + 1 == m.packets ? kLast : 0);
  return h;
}

void QueuePair::sent(const Frame& h, std::int64_t now) {
  if (next_psn_ < max_sent_) ++stats_.retransmitted;
  ++next_psn_;
  max_sent_ = std::max(max_sent_, next_psn_);
  ++stats_.data_packets;
  arm_timer();
  cc_.on_sent(h.payload + pacing_format_.per_packet, now);
}

void QueuePair::send_control(FrameType type, std::uint32_t psn) {
  Frame h;
  h.type = type;
  h.priority = kControlPriority;
  h.qp = ends_.id;
  h.route = back_;
  h.psn = psn;
  FabricDevice* out = routes_.next_device(ends_.dst_node, h);
  if (out == nullptr || !out->channel()->up()) {
    ++stats_.drops;
    return;
  }
  out->EnqueueControl(make_frame(h), h);
}

void QueuePair::on_data(const Frame& h) {
  const std::int64_t now = now_ps();
  if ((h.flags & kCe) && config_.cc == CongestionControl::dcqcn &&
      now - last_cnp_sent_ps_ >= ps_of(config_.dcqcn.cnp_interval)) {
    last_cnp_sent_ps_ = now;
    ++stats_.cnps;
    send_control(FrameType::cnp, 0);
  }
  if (h.psn < expected_) {
    send_control(FrameType::ack, expected_);  // a duplicate after go-back-N
    return;
  }
  if (h.psn > expected_) {
    // Sprayed and adaptively routed frames arrive out of order by design; the responder places them by
    // their address (as NICs built for spraying do). In order-preserving routing a gap is a loss.
    if (config_.routing != Routing::ecmp) {
      out_of_order_.emplace(h.psn, h.payload);
    } else if (!nak_sent_) {
      nak_sent_ = true;
      send_control(FrameType::nak, expected_);
    }
    return;
  }
  place_in_sequence(h);
  if (complete_received() || since_ack_ >= config_.ack_every) {
    since_ack_ = 0;
    send_control(FrameType::ack, expected_);
  }
}

void QueuePair::place_in_sequence(const Frame& h) {
  ++expected_;
  ++since_ack_;
  stats_.delivered_bytes += h.payload;
  nak_sent_ = false;
  while (!out_of_order_.empty() && out_of_order_.begin()->first <= expected_) {
    if (out_of_order_.begin()->first == expected_) {
      ++expected_;
      ++since_ack_;
      stats_.delivered_bytes += out_of_order_.begin()->second;
    }
    out_of_order_.erase(out_of_order_.begin());
  }
}

bool QueuePair::complete_received() {
  bool finished = false;
  while (recv_msgs_ < messages_.size() && expected_ >= messages_[recv_msgs_].end_psn()) {
    owner_.received(messages_[recv_msgs_].transfer);
    ++recv_msgs_;
    finished = true;
  }
  return finished;
}

void QueuePair::on_ack(const Frame& h) {
  if (h.psn > una_) {
    una_ = h.psn;
    retries_ = 0;
    last_progress_ps_ = now_ps();
    while (acked_msgs_ < messages_.size() && una_ >= messages_[acked_msgs_].end_psn()) {
      owner_.acknowledged(messages_[acked_msgs_].transfer);
      ++acked_msgs_;
    }
  }
  if (h.type == FrameType::nak) go_back(h.psn);
}

void QueuePair::go_back(std::uint32_t psn) {
  if (next_psn_ <= psn) return;
  next_psn_ = psn;
  std::size_t lo = 0, hi = messages_.size();
  while (lo + 1 < hi) {
    const std::size_t mid = (lo + hi) / 2;
    (messages_[mid].first_psn <= psn ? lo : hi) = mid;
  }
  send_cursor_ = lo;
  kick();
}

void QueuePair::arm_timer() {
  if (timer_armed_) return;
  timer_armed_ = true;
  last_progress_ps_ = now_ps();
  ns3::Simulator::Schedule(ns3::PicoSeconds(ps_of(config_.retransmit_timeout)), &QueuePair::retransmit_timer,
                           this);
}

void QueuePair::retransmit_timer() {
  if (una_ >= max_sent_) {
    timer_armed_ = false;
    return;
  }
  const std::int64_t rto = ps_of(config_.retransmit_timeout);
  const std::int64_t due = last_progress_ps_ + rto;
  if (now_ps() < due) {
    ns3::Simulator::Schedule(ns3::PicoSeconds(due - now_ps()), &QueuePair::retransmit_timer, this);
    return;
  }
  ++stats_.timeouts;
  if (++retries_ > config_.retry_limit) {
    owner_.fail(retries_exhausted());
    return;
  }
  last_progress_ps_ = now_ps();
  go_back(una_);
  ns3::Simulator::Schedule(ns3::PicoSeconds(rto), &QueuePair::retransmit_timer, this);
}

std::string QueuePair::retries_exhausted() const {
  std::ostringstream msg;
  msg << "queue pair rank " << ends_.src << " -> rank " << ends_.dst << " exhausted " << config_.retry_limit
      << " retries: no acknowledgement beyond PSN " << una_ << " of " << end_psn_ << " for "
      << config_.retransmit_timeout.micros() * (config_.retry_limit + 1)
      << " us (path:" << routes_.path_names(route_) << ")";
  return msg.str();
}

}  // namespace fabtwin::packet
