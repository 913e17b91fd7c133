// The perftest importer on output rendered from perftest's own printf formats (tests/data/perftest):
// units as perftest means them, the row checks, and the sweep calibrate fits. Expected numbers are
// worked out by hand from the printed values.
#include <gtest/gtest.h>

#include "fabtwin/results/calibration.hpp"
#include "fabtwin/results/perftest.hpp"

namespace fabtwin::results {
namespace {

const std::string kPerftest = std::string(FABTWIN_SOURCE_DIR) + "/tests/data/perftest/";

PerftestLog read(const std::string& name) {
  return read_perftest_file(kPerftest + name);
}

std::string error_of(const std::string& text) {
  try {
    read_perftest(text, "log");
  } catch (const InvalidResults& e) {
    return e.what();
  }
  return "";
}

TEST(Perftest, BandwidthTableInMebibytesPerSecond) {
  const PerftestLog log = read("ib_write_bw_a.txt");
  EXPECT_EQ(log.test, "RDMA_Write BW Test");
  EXPECT_EQ(log.verb, "write");
  EXPECT_FALSE(log.latency);
  EXPECT_EQ(log.unit, "MiB/sec");
  EXPECT_EQ(log.banner.at("device"), "mlx5_0");
  EXPECT_EQ(log.banner.at("mtu"), 4096);
  EXPECT_EQ(log.banner.at("link_type"), "IB");
  EXPECT_EQ(log.banner.at("qps"), 1);
  ASSERT_EQ(log.rows.size(), 23u);  // -a: 2 B .. 8 MiB
  EXPECT_EQ(log.rows[15].size_bytes, 65536u);
  EXPECT_EQ(log.rows[15].iterations, 5000u);
  // 11701.30 MiB/s = 11701.30 x 2^20 B/s.
  EXPECT_DOUBLE_EQ(log.rows[15].bytes_per_second, 11701.30 * 1048576);
  EXPECT_DOUBLE_EQ(log.rows[15].message_rate, 0.187221e6);
}

TEST(Perftest, TheOldMegabyteLabelIsTheSameUnitAndGigabitsAreDecimal) {
  const PerftestLog gbits = read("ib_write_bw_report_gbits.txt");
  EXPECT_EQ(gbits.unit, "Gb/sec");
  ASSERT_EQ(gbits.rows.size(), 1u);
  EXPECT_DOUBLE_EQ(gbits.rows[0].bytes_per_second, 96.47e9 / 8);
  const std::string old =
      "                    RDMA_Write BW Test\n"
      " #bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]   MsgRate[Mpps]\n"
      " 65536      5000             11708.32            11701.30\t\t     0.187221\n"
      "---------------------------------------------------------------------------------------\n";
  const PerftestLog mb = read_perftest(old, "old.txt");
  EXPECT_EQ(mb.unit, "MB/sec");
  EXPECT_DOUBLE_EQ(mb.rows[0].bytes_per_second, 11701.30 * 1048576);
}

TEST(Perftest, ARowWhoseBandwidthIsNotItsMessageRateTimesSizeIsRefused) {
  // 11701.30 labelled Gb/sec would be 1.46e12 B/s; 0.187221 Mpps x 65536 B is 1.227e10.
  const std::string e = error_of(
      "                    RDMA_Write BW Test\n"
      " #bytes     #iterations    BW peak[Gb/sec]    BW average[Gb/sec]   MsgRate[Mpps]\n"
      " 65536      5000             11708.32            11701.30\t\t     0.187221\n");
  EXPECT_NE(e.find("log:3: BW average 11701.30 Gb/sec is not MsgRate x size"), std::string::npos) << e;
  EXPECT_NE(error_of("Disabling dynamic polling\n6.123\n").find("--output="), std::string::npos);
  EXPECT_NE(error_of(" #bytes     #iterations    BW peak[MiB/sec]    BW average[MiB/sec]   MsgRate[Mpps]\n"
                     " 65536      5000             11708.32            11701.30\t\t     0.187221\n")
                .find("no test title line"),
            std::string::npos);
  const std::string cut = error_of(
      "                    RDMA_Write BW Test\n"
      " #bytes     #iterations    BW peak[MiB/sec]    BW average[MiB/sec]   MsgRate[Mpps]\n"
      " 65536      5000             11708.32\n");
  EXPECT_NE(cut.find("log:3: a row of 3 fields under a header of 5"), std::string::npos) << cut;
  EXPECT_NE(error_of("                    Atomic FETCH_AND_ADD BW Test\n").find("not this one"),
            std::string::npos);
}

TEST(Perftest, LatencyTableAndItsStatistics) {
  const PerftestLog log = read("ib_send_lat_a.txt");
  EXPECT_TRUE(log.latency);
  EXPECT_EQ(log.verb, "send");
  ASSERT_EQ(log.rows.size(), 23u);
  const PerftestRow& r = log.rows[15];  // 65536 B
  EXPECT_EQ(r.size_bytes, 65536u);
  EXPECT_DOUBLE_EQ(r.t_min.count(), 7.54e-6);
  EXPECT_DOUBLE_EQ(r.t_typical.count(), 7.59e-6);
  EXPECT_DOUBLE_EQ(r.t_avg.count(), 7.61e-6);
  EXPECT_DOUBLE_EQ(r.p99.count(), 7.69e-6);
  EXPECT_DOUBLE_EQ(r.p99_9.count(), 13.76e-6);
}

TEST(Perftest, OutJsonInfersItsUnitFromTheMessageRate) {
  const PerftestLog log = read("ib_write_bw_out.json");
  EXPECT_EQ(log.format, "json");
  EXPECT_EQ(log.verb, "write");
  EXPECT_EQ(log.unit, "MiB/sec");  // 11751.80 x 2^20 = 0.001469 Mpps x 8 MiB, to the digits printed
  ASSERT_EQ(log.rows.size(), 1u);  // perftest rewrites the file for every size: the last one is left
  EXPECT_EQ(log.rows[0].size_bytes, 8388608u);
  EXPECT_NE(error_of("{\ntest_info: {\n").find("unquoted keys"), std::string::npos);
}

TEST(Perftest, BandwidthAndLatencyRunsMakeTheSweepCalibrateFits) {
  const nlohmann::json provenance = {{"fabtwin_version", "0.1.0"}, {"git_revision", "t"}, {"time", "t"}};
  const nlohmann::json j = perftest_sweep(read("ib_write_bw_a.txt"), read("ib_write_lat_a.txt"), provenance);
  const P2PSweep s = parse_p2p(j, "sweep");
  EXPECT_EQ(s.run.collective, "p2p_write");
  EXPECT_EQ(s.run.backend, "perftest");
  ASSERT_EQ(s.rows.size(), 23u);
  // 65536 B at 11701.30 MiB/s: 65536 / (11701.30 x 2^20) s = 5.3413 us per message.
  EXPECT_NEAR(s.rows[15].time.count(), 65536 / (11701.30 * 1048576), 1e-15);
  EXPECT_DOUBLE_EQ(s.rows[15].latency.count(), 7.59e-6);
  // Small messages stream at a rate (9 Mpps) that hides the transfer, large ones at the 98.58 Gb/s
  // plateau: time = overhead + size / bandwidth cannot follow both, and on a 100 Gb/s link its fitted
  // bandwidth is more than the wire carries. calibrate says so, naming the sizes.
  const Calibration c = fit_calibration(s);
  EXPECT_GT(c.bandwidth.count(), 100e9);
  const auto warnings = calibration_warnings(c, s, BitsPerSecond(100e9));
  ASSERT_GE(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("is above the line rate 100.00 Gb/s"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("the streaming fit is off by more than 10% at "), std::string::npos)
      << warnings[1];
  EXPECT_TRUE(calibration_warnings(c, s, BitsPerSecond(0)).size() < warnings.size());
  // -b sums both directions: 2 x 11751.80 MiB/s is above 100 Gb/s at 8 MiB.
  PerftestLog both = read("ib_write_bw_a.txt");
  for (auto& r : both.rows) r.bytes_per_second *= 2;
  const P2PSweep summed = parse_p2p(perftest_sweep(both, read("ib_write_lat_a.txt"), provenance), "summed");
  const auto over = calibration_warnings(fit_calibration(summed), summed, BitsPerSecond(100e9));
  EXPECT_NE(over[1].find("measured above the line rate 100.00 Gb/s at "), std::string::npos) << over[1];
  EXPECT_NE(over[1].find("8388608 B"), std::string::npos) << over[1];
  EXPECT_THROW(perftest_sweep(read("ib_write_bw_a.txt"), read("ib_send_lat_a.txt"), {}), InvalidResults);
  EXPECT_THROW(perftest_sweep(read("ib_write_bw_a.txt"), read("ib_write_bw_a.txt"), {}), InvalidResults);
}

// Found by fuzz_perftest: a device named by digits made the sweep's device lookup throw a JSON type
// error (exit 3). A device is a name, whatever its characters.
TEST(Perftest, ADeviceNamedByDigitsIsStillAName) {
  const PerftestLog bw = read_perftest(
      "                    RDMA_Write BW Test\n"
      " Dual-port       : OFF\t\tDevice         : 1234\n"
      " #bytes     #iterations    BW peak[MiB/sec]    BW average[MiB/sec]   MsgRate[Mpps]\n"
      " 65536      5000             11708.32            11701.30\t\t     0.187221\n",
      "digits.txt");
  EXPECT_EQ(bw.banner.at("device"), "1234");
  const nlohmann::json j = perftest_sweep(bw, read("ib_write_lat_a.txt"), {});
  EXPECT_EQ(j.at("run").at("device"), "1234");
}

}  // namespace
}  // namespace fabtwin::results
