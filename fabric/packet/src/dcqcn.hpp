// DCQCN's reaction point for one queue pair: CNPs cut the rate, a timer and a byte counter raise it back
// towards the line rate, and frames are paced at the current rate while it is below the line.
#pragma once

#include <cstdint>
#include <limits>

#include "fabtwin/packet/packet.hpp"

namespace fabtwin::packet {

class Dcqcn {
 public:
  Dcqcn(const PacketConfig& config, double line_bps);
  Dcqcn(const Dcqcn&) = delete;
  Dcqcn& operator=(const Dcqcn&) = delete;

  void on_cnp();
  // A frame of `wire_bytes` left at `now`: it delays the next one while the rate is cut.
  void on_sent(std::uint32_t wire_bytes, std::int64_t now);
  std::int64_t next_send_ps() const { return next_send_ps_; }

 private:
  void tick();
  void rate_increase();

  const PacketConfig& config_;
  double line_bps_;
  double rc_, rt_, alpha_ = 1.0;
  std::uint64_t byte_count_ = 0;
  std::uint32_t t_stage_ = 0, b_stage_ = 0;
  std::int64_t next_send_ps_ = 0;
  std::int64_t last_cnp_ps_ = std::numeric_limits<std::int64_t>::min() / 2;
  bool timer_armed_ = false;
};

}  // namespace fabtwin::packet
