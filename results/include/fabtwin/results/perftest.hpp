// perftest's output (ib_write_bw, ib_read_bw, ib_send_bw and their _lat tests, as text or --out_json)
// read as it is pasted, and a bandwidth run joined with a latency run of the same verb into the
// point-to-point sweep `fabtwin calibrate` fits. Units as perftest means them: its "MB/sec" and
// "MiB/sec" are 2^20 bytes per second (the label changed in perftest 6.22, the unit never did), Gb/sec is
// 10^9 bits per second; every bandwidth row is checked against its message rate, which pins the unit.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fabtwin/units.hpp"

namespace fabtwin::results {

struct PerftestRow {
  std::string at;  // "bw.txt:23" or "bw.json: /results", for messages
  std::uint64_t size_bytes = 0;
  std::uint64_t iterations = 0;
  // Bandwidth tests: the average, in bytes per second (both directions summed with -b).
  double bytes_per_second = 0;
  double peak_bytes_per_second = 0;  // 0: not measured (-D, -N, --run_infinitely, ...)
  double message_rate = 0;           // messages per second
  // Latency tests, as perftest reports them (half a round trip for write and send, a whole one for read).
  Seconds t_min, t_max, t_typical, t_avg, t_stdev, p99, p99_9;
};

struct PerftestLog {
  std::string origin;
  std::string test;  // "RDMA_Write BW Test" (text) or "RDMA_Write_BW_Test" (JSON)
  std::string verb;  // write, write_imm, read, send, send_imm
  bool latency = false;
  bool bidirectional = false;
  std::string unit;    // as the header printed it: "MiB/sec", "MB/sec", "Gb/sec"; "usec" for latency
  std::string format;  // "text" or "json"
  nlohmann::json banner = nlohmann::json::object();  // device, link_type, connection_type, mtu, qps, ...
  std::vector<PerftestRow> rows;                     // sizes strictly increasing
};

// Text or --out_json, told apart by the content. Throws InvalidResults naming the file and the line or
// JSON path, and what to do.
PerftestLog read_perftest_file(const std::string& path);
PerftestLog read_perftest(const std::string& text, const std::string& origin);

// The sweep of a bandwidth run and a latency run of one verb, on the sizes both measured, as a
// "fabtwin-results" point-to-point file (run.collective p2p_write, p2p_read or p2p_send). `provenance`
// is the importer's; the device and the sources are added. Throws InvalidResults when they do not pair.
nlohmann::json perftest_sweep(const PerftestLog& bandwidth, const PerftestLog& latency,
                              nlohmann::json provenance);

}  // namespace fabtwin::results
