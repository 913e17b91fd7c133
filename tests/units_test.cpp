#include "fabtwin/units.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace fabtwin {
namespace {

std::string error_of(void (*call)(const char*), const char* text) {
  try {
    call(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(ParseBytes, AcceptsBinaryAndDecimalUnits) {
  const struct {
    const char* text;
    std::uint64_t bytes;
  } cases[] = {
      {"4096", 4096},
      {"0", 0},
      {"8B", 8},
      {"4K", 4096},
      {"4k", 4096},
      {"4KiB", 4096},
      {"4KB", 4000},
      {"1.5K", 1536},
      {"64MiB", 64ull << 20},
      {"64M", 64ull << 20},
      {"64MB", 64'000'000},
      {"1G", 1ull << 30},  // nccl-tests' -e 1G
      {"1GiB", 1ull << 30},
      {"1GB", 1'000'000'000},
      {"2TiB", 2ull << 40},
      {" 4 K ", 4096},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(parse_bytes(c.text).count(), c.bytes) << c.text;
  }
}

TEST(ParseBytes, RejectsBadText) {
  for (const char* text : {"", "  ", "-1", "-4K", "4X", "4KBx", "K", "1.5", "0.1K", "nan", "inf", "1e30",
                           "4Kb", "4 K B", "+4"}) {
    EXPECT_THROW(parse_bytes(text), std::invalid_argument) << '"' << text << '"';
  }
  const std::string msg = error_of([](const char* t) { parse_bytes(t); }, "12 parsecs");
  EXPECT_NE(msg.find("\"12 parsecs\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("MiB"), std::string::npos) << msg;
}

TEST(ParseRate, AcceptsBitsAndBytesPerSecond) {
  const struct {
    const char* text;
    double bps;
  } cases[] = {
      {"400Gbps", 400e9}, {"400Gb/s", 400e9}, {"400G", 400e9},  {"400gbps", 400e9},   {"50GB/s", 400e9},
      {"50GBps", 400e9},  {"100Mbps", 100e6}, {"1000", 1000.0}, {"12.5Gbps", 12.5e9}, {"10Kbps", 10e3},
      {"1Tbps", 1e12},    {"1Kbps", 1e3},     {"2e9", 2e9},
  };
  for (const auto& c : cases) {
    EXPECT_DOUBLE_EQ(parse_rate(c.text).count(), c.bps) << c.text;
  }
  EXPECT_EQ(parse_rate("400Gbps").count(), 400e9);  // exact, not merely close
}

TEST(ParseRate, RejectsBadText) {
  for (const char* text :
       {"", "-400G", "400Gbpsx", "fast", "nan", "inf", "400Q", "Gbps", "400 G bps", "400GiB/s",
        // Zero, denormal and absurd rates would make every time computed from them 0 or infinite.
        "0", "0Gbps", "5e-324", "999", "1e16", "2000Tbps"}) {
    EXPECT_THROW(parse_rate(text), std::invalid_argument) << '"' << text << '"';
  }
  const std::string msg = error_of([](const char* t) { parse_rate(t); }, "400Qbps");
  EXPECT_NE(msg.find("\"400Qbps\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("Gbps"), std::string::npos) << msg;
  EXPECT_NE(msg.find("GB/s"), std::string::npos) << msg;
}

TEST(ParseDuration, AcceptsUnitsAndPlainSeconds) {
  EXPECT_EQ(parse_duration("1us").count(), 1e-6);
  EXPECT_EQ(parse_duration("500ns").count(), 500e-9);
  EXPECT_EQ(parse_duration("1.5ms").count(), 1.5e-3);
  EXPECT_EQ(parse_duration("2s").count(), 2.0);
  EXPECT_EQ(parse_duration("1e-6").count(), 1e-6);
  EXPECT_EQ(parse_duration("0").count(), 0.0);
  EXPECT_EQ(parse_duration("250ps").count(), 250e-12);
  EXPECT_EQ(parse_duration("3\xC2\xB5s").count(), 3e-6);
}

TEST(ParseDuration, RejectsBadText) {
  for (const char* text :
       {"", "-1us", "1 parsec", "1usx", "nan", "inf", "us", "1min", "1..5s", "--1", "1e7", "1e300s"}) {
    EXPECT_THROW(parse_duration(text), std::invalid_argument) << '"' << text << '"';
  }
  const std::string msg = error_of([](const char* t) { parse_duration(t); }, "5 fortnights");
  EXPECT_NE(msg.find("\"5 fortnights\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("us"), std::string::npos) << msg;
}

TEST(Format, ShortHumanForms) {
  EXPECT_EQ(format_bytes(Bytes(64ull << 20)), "64MiB");
  EXPECT_EQ(format_bytes(Bytes(4099)), "4099B");
  EXPECT_EQ(format_bytes(Bytes(0)), "0B");
  EXPECT_EQ(format_bytes(Bytes(1024)), "1KiB");
  EXPECT_EQ(format_bytes(Bytes(1536)), "1536B");
  EXPECT_EQ(format_bytes(Bytes(1ull << 30)), "1GiB");
  EXPECT_EQ(format_bytes(Bytes(3ull << 40)), "3TiB");

  EXPECT_EQ(format_rate(BitsPerSecond(400e9)), "400Gbps");
  EXPECT_EQ(format_rate(BitsPerSecond(3.6e12)), "3.6Tbps");
  EXPECT_EQ(format_rate(BitsPerSecond(100e6)), "100Mbps");
  EXPECT_EQ(format_rate(BitsPerSecond(12.5e9)), "12.5Gbps");
  EXPECT_EQ(format_rate(BitsPerSecond(800)), "800bps");

  EXPECT_EQ(format_duration(Seconds(1.5e-6)), "1.5us");
  EXPECT_EQ(format_duration(Seconds(500e-9)), "500ns");
  EXPECT_EQ(format_duration(Seconds(1.5e-3)), "1.5ms");
  EXPECT_EQ(format_duration(Seconds(2.0)), "2s");
  EXPECT_EQ(format_duration(Seconds(0.0)), "0s");
}

TEST(Format, ParsesBackToTheSameValue) {
  for (std::uint64_t b : {1ull, 4096ull, 4099ull, 64ull << 20, 1ull << 30}) {
    EXPECT_EQ(parse_bytes(format_bytes(Bytes(b))).count(), b);
  }
  for (double r : {400e9, 100e6, 3.6e12, 12.5e9}) {
    EXPECT_DOUBLE_EQ(parse_rate(format_rate(BitsPerSecond(r))).count(), r);
  }
  for (double s : {1e-6, 1.5e-6, 500e-9, 2.0}) {
    EXPECT_DOUBLE_EQ(parse_duration(format_duration(Seconds(s))).count(), s);
  }
}

TEST(Units, TransferTime) {
  // 1 MB over 400 Gbps = 8e6 bits / 4e11 bits/s = 20 us.
  EXPECT_DOUBLE_EQ(transfer_time(Bytes(1'000'000), BitsPerSecond(400e9)).micros(), 20.0);
  EXPECT_DOUBLE_EQ(parse_rate("50GB/s").gigabytes_per_second(), 50.0);
}

}  // namespace
}  // namespace fabtwin
