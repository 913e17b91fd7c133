// Strong types for the three quantities every fabtwin number is built from. Mixing bits and bytes,
// or GB/s and GiB/s, is the classic benchmark-report bug; these types make it a compile error.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace fabtwin {

class Bytes {
 public:
  constexpr Bytes() = default;
  constexpr explicit Bytes(std::uint64_t v) : value_(v) {}
  constexpr std::uint64_t count() const { return value_; }
  constexpr double bits() const { return static_cast<double>(value_) * 8.0; }
  constexpr auto operator<=>(const Bytes&) const = default;
  constexpr Bytes operator+(Bytes o) const { return Bytes(value_ + o.value_); }
  constexpr Bytes& operator+=(Bytes o) {
    value_ += o.value_;
    return *this;
  }

 private:
  std::uint64_t value_ = 0;
};

class Seconds {
 public:
  constexpr Seconds() = default;
  constexpr explicit Seconds(double v) : value_(v) {}
  constexpr double count() const { return value_; }
  constexpr double micros() const { return value_ * 1e6; }
  constexpr double millis() const { return value_ * 1e3; }
  constexpr auto operator<=>(const Seconds&) const = default;
  constexpr Seconds operator+(Seconds o) const { return Seconds(value_ + o.value_); }
  constexpr Seconds operator-(Seconds o) const { return Seconds(value_ - o.value_); }
  constexpr Seconds operator*(double k) const { return Seconds(value_ * k); }
  constexpr Seconds& operator+=(Seconds o) {
    value_ += o.value_;
    return *this;
  }

 private:
  double value_ = 0.0;
};

class BitsPerSecond {
 public:
  constexpr BitsPerSecond() = default;
  constexpr explicit BitsPerSecond(double v) : value_(v) {}
  constexpr double count() const { return value_; }
  // GB/s in the nccl-tests sense: 10^9 bytes per second.
  constexpr double gigabytes_per_second() const { return value_ / 8e9; }
  constexpr auto operator<=>(const BitsPerSecond&) const = default;
  constexpr BitsPerSecond operator*(double k) const { return BitsPerSecond(value_ * k); }
  constexpr BitsPerSecond operator+(BitsPerSecond o) const { return BitsPerSecond(value_ + o.value_); }

 private:
  double value_ = 0.0;
};

// Time to push `b` through a pipe of rate `r` (serialisation delay only).
constexpr Seconds transfer_time(Bytes b, BitsPerSecond r) {
  return Seconds(b.bits() / r.count());
}

// The rates and durations any fabric, NIC or memory can have, with margin: outside them a time or a
// bandwidth computed downstream is zero, infinite or denormal, so the parsers refuse them.
inline constexpr double kMinRateBps = 1e3;    // 1 kbit/s
inline constexpr double kMaxRateBps = 1e15;   // 1 Pbit/s, over 500x the fastest link of 2026
inline constexpr double kMaxDurationS = 1e6;  // about 11 days

// Parsers accept what engineers write: "400Gbps", "400G", "50GB/s" (10^9 bytes), "1us", "500ns",
// "64MiB", "4K". They throw std::invalid_argument with a message naming the text and the accepted forms.
// Rates must lie in [kMinRateBps, kMaxRateBps], durations in [0, kMaxDurationS].
Bytes parse_bytes(std::string_view text);
BitsPerSecond parse_rate(std::string_view text);
Seconds parse_duration(std::string_view text);

// Short human forms: "64MiB", "400Gbps", "1.5us".
std::string format_bytes(Bytes b);
std::string format_rate(BitsPerSecond r);
// In bytes per second with a decimal prefix ("500GB/s"), as memory and reduction throughput are quoted.
std::string format_byte_rate(BitsPerSecond r);
std::string format_duration(Seconds s);

}  // namespace fabtwin
