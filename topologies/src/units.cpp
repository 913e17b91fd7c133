#include "fabtwin/units.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace fabtwin {

namespace {

constexpr const char* kBytesForms =
    "a non-negative byte count with an optional unit: B, K/KiB, M/MiB, G/GiB, T/TiB (powers of 1024) or "
    "KB, MB, GB, TB (powers of 1000), e.g. \"4096\", \"4K\", \"64MiB\", \"1GB\"";
constexpr const char* kRateForms =
    "a positive rate with an optional unit: bps, Kbps, Mbps, Gbps, Tbps (or b/s, or just K/M/G/T) for "
    "bits "
    "per second, KB/s, MB/s, GB/s, TB/s (or KBps ...) for bytes per second, all powers of 1000; a plain "
    "number "
    "is bits per second, e.g. \"400Gbps\", \"400G\", \"50GB/s\"";
constexpr const char* kDurationForms =
    "a non-negative duration with an optional unit: s, ms, us (or \xC2\xB5s), ns, ps; a plain number is "
    "seconds, e.g. \"1us\", \"500ns\", \"1.5ms\", \"1e-6\"";

[[noreturn]] void reject(std::string_view what, std::string_view text, const char* forms, const char* why) {
  std::string msg = "invalid ";
  msg += what;
  msg += " \"";
  msg += text;
  msg += "\"";
  if (why != nullptr) {
    msg += " (";
    msg += why;
    msg += ")";
  }
  msg += ": expected ";
  msg += forms;
  throw std::invalid_argument(msg);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

struct NumberAndUnit {
  double value = 0.0;
  std::string_view unit;
};

// Splits "1.5ms" into 1.5 and "ms". The number must be a plain non-negative decimal (exponent allowed);
// from_chars would otherwise accept "inf" and "nan".
NumberAndUnit split_number(std::string_view what, std::string_view text, const char* forms) {
  const std::string_view s = trim(text);
  if (s.empty()) reject(what, text, forms, "empty");
  if (s.front() == '-') reject(what, text, forms, "negative");
  if (!(s.front() >= '0' && s.front() <= '9') && s.front() != '.') reject(what, text, forms, "no number");
  NumberAndUnit r;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), r.value);
  if (ec == std::errc::result_out_of_range) reject(what, text, forms, "out of range");
  if (ec != std::errc()) reject(what, text, forms, "no number");
  if (!std::isfinite(r.value)) reject(what, text, forms, "not finite");
  r.unit = trim(std::string_view(end, static_cast<std::size_t>(s.data() + s.size() - end)));
  return r;
}

char upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// Position of a K/M/G/T prefix letter (case-insensitive), 1..4, or 0.
int prefix_power(char c) {
  switch (upper(c)) {
    case 'K':
      return 1;
    case 'M':
      return 2;
    case 'G':
      return 3;
    case 'T':
      return 4;
    default:
      return 0;
  }
}

// Trims a printf %g rendering; %.6g is enough for every rate and duration engineers write.
std::string number_text(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

Bytes parse_bytes(std::string_view text) {
  const auto [value, unit] = split_number("byte size", text, kBytesForms);
  double scale = 1.0;
  if (!unit.empty() && unit != "B") {
    const int power = prefix_power(unit.front());
    const std::string_view rest = unit.substr(1);
    if (power == 0) reject("byte size", text, kBytesForms, "unknown unit");
    double base = 0.0;
    if (rest.empty() || rest == "i" || rest == "iB") {
      base = 1024.0;
    } else if (rest == "B") {
      base = 1000.0;
    } else {
      reject("byte size", text, kBytesForms, "unknown unit");
    }
    scale = std::pow(base, power);
  }
  const double bytes = value * scale;
  if (bytes >= 18446744073709551616.0) reject("byte size", text, kBytesForms, "too large");
  if (bytes != std::floor(bytes)) reject("byte size", text, kBytesForms, "not a whole number of bytes");
  return Bytes(static_cast<std::uint64_t>(bytes));
}

BitsPerSecond parse_rate(std::string_view text) {
  const auto [value, unit] = split_number("rate", text, kRateForms);
  std::string_view rest = unit;
  int power = 0;
  if (!rest.empty() && prefix_power(rest.front()) != 0) {
    power = prefix_power(rest.front());
    rest.remove_prefix(1);
  }
  double per_unit = 0.0;
  if (rest.empty() || rest == "bps" || rest == "b/s" || rest == "bit/s") {
    per_unit = 1.0;
  } else if (rest == "Bps" || rest == "B/s") {
    per_unit = 8.0;
  } else {
    reject("rate", text, kRateForms, "unknown unit");
  }
  const double bps = value * std::pow(1000.0, power) * per_unit;
  if (!(bps <= kMaxRateBps)) reject("rate", text, kRateForms, "above 1 Pbit/s, faster than any link");
  if (!(bps >= kMinRateBps)) reject("rate", text, kRateForms, "below 1 kbit/s (a rate must be positive)");
  return BitsPerSecond(bps);
}

Seconds parse_duration(std::string_view text) {
  const auto [value, unit] = split_number("duration", text, kDurationForms);
  // Dividing by an exact power of ten keeps "1us" == 1e-6 exactly; multiplying by 1e-6 would not.
  double divisor = 0.0;
  if (unit.empty() || unit == "s") {
    divisor = 1.0;
  } else if (unit == "ms") {
    divisor = 1e3;
  } else if (unit == "us" || unit == "\xC2\xB5s") {
    divisor = 1e6;
  } else if (unit == "ns") {
    divisor = 1e9;
  } else if (unit == "ps") {
    divisor = 1e12;
  } else {
    reject("duration", text, kDurationForms, "unknown unit");
  }
  const double seconds = value / divisor;
  if (!(seconds >= 0)) reject("duration", text, kDurationForms, "negative");
  if (!(seconds <= kMaxDurationS)) reject("duration", text, kDurationForms, "longer than 10^6 s");
  return Seconds(seconds);
}

std::string format_bytes(Bytes b) {
  static constexpr const char* kUnits[] = {"TiB", "GiB", "MiB", "KiB"};
  const std::uint64_t n = b.count();
  if (n == 0) return "0B";
  for (int i = 0; i < 4; ++i) {
    const std::uint64_t unit = std::uint64_t{1} << (10 * (4 - i));
    if (n % unit == 0) return std::to_string(n / unit) + kUnits[i];
  }
  return std::to_string(n) + "B";
}

std::string format_rate(BitsPerSecond r) {
  static constexpr struct {
    double scale;
    const char* unit;
  } kUnits[] = {{1e12, "Tbps"}, {1e9, "Gbps"}, {1e6, "Mbps"}, {1e3, "Kbps"}};
  const double v = r.count();
  for (const auto& u : kUnits) {
    if (std::fabs(v) >= u.scale) return number_text(v / u.scale) + u.unit;
  }
  return number_text(v) + "bps";
}

std::string format_byte_rate(BitsPerSecond r) {
  static constexpr struct {
    double scale;
    const char* unit;
  } kUnits[] = {{1e12, "TB/s"}, {1e9, "GB/s"}, {1e6, "MB/s"}, {1e3, "KB/s"}};
  const double v = r.count() / 8.0;
  for (const auto& u : kUnits) {
    if (std::fabs(v) >= u.scale) return number_text(v / u.scale) + u.unit;
  }
  return number_text(v) + "B/s";
}

std::string format_duration(Seconds s) {
  static constexpr struct {
    double scale;
    const char* unit;
  } kUnits[] = {{1.0, "s"}, {1e-3, "ms"}, {1e-6, "us"}};
  const double v = s.count();
  if (v == 0.0) return "0s";
  for (const auto& u : kUnits) {
    if (std::fabs(v) >= u.scale) return number_text(v / u.scale) + u.unit;
  }
  return number_text(v * 1e9) + "ns";
}

}  // namespace fabtwin
