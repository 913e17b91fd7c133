#include "dcqcn.hpp"

#include <algorithm>

#include "sim.hpp"

namespace fabtwin::packet {

Dcqcn::Dcqcn(const PacketConfig& config, double line_bps)
    : config_(config), line_bps_(line_bps), rc_(line_bps), rt_(line_bps) {}

void Dcqcn::on_cnp() {
  if (config_.cc != CongestionControl::dcqcn) return;
  const auto& c = config_.dcqcn;
  rt_ = rc_;
  rc_ = std::max(line_bps_ * c.min_fraction, rc_ * (1 - alpha_ / 2));
  alpha_ = (1 - c.g) * alpha_ + c.g;
  t_stage_ = b_stage_ = 0;
  byte_count_ = 0;
  last_cnp_ps_ = now_ps();
  if (!timer_armed_) {
    timer_armed_ = true;
    ns3::Simulator::Schedule(ns3::PicoSeconds(ps_of(c.increase_period)), &Dcqcn::tick, this);
  }
}

void Dcqcn::on_sent(std::uint32_t wire_bytes, std::int64_t now) {
  if (config_.cc != CongestionControl::dcqcn || rc_ >= line_bps_) return;
  next_send_ps_ = now + static_cast<std::int64_t>(wire_bytes * 8.0 * 1e12 / rc_);
  byte_count_ += wire_bytes;
  if (byte_count_ >= config_.dcqcn.byte_counter.count()) {
    byte_count_ = 0;
    ++b_stage_;
    rate_increase();
  }
}

void Dcqcn::tick() {
  const auto& c = config_.dcqcn;
  if (now_ps() - last_cnp_ps_ >= ps_of(c.alpha_period)) alpha_ *= 1 - c.g;
  ++t_stage_;
  rate_increase();
  if (rc_ >= line_bps_) {
    rc_ = rt_ = line_bps_;
    timer_armed_ = false;
    next_send_ps_ = 0;
    return;
  }
  ns3::Simulator::Schedule(ns3::PicoSeconds(ps_of(c.increase_period)), &Dcqcn::tick, this);
}

void Dcqcn::rate_increase() {
  const auto& c = config_.dcqcn;
  const std::uint32_t hi = std::max(t_stage_, b_stage_), lo = std::min(t_stage_, b_stage_);
  if (hi >= c.fast_recovery) {
    rt_ += line_bps_ * (lo > c.fast_recovery ? c.hyper_fraction : c.additive_fraction);
  }
  rt_ = std::min(rt_, line_bps_);
  rc_ = std::min((rt_ + rc_) / 2, line_bps_);
}

}  // namespace fabtwin::packet
