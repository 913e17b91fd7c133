// The words of perftest's output: its titles, banner, table headers and rows, and its --out_json file.
// Internal to the perftest importer.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fabtwin/results/perftest.hpp"

namespace fabtwin::results::perftest_words {

inline constexpr double kMebibyte = 1048576.0;     // perftest's MB and MiB
inline constexpr double kGigabit = 125'000'000.0;  // 10^9 bits, in bytes
// Bytes per second in one of a header's units ("MiB/sec", "MB/sec", "Gb/sec").
double unit_bytes(const std::string& unit);

// " #bytes     #iterations    BW peak[MiB/sec]    BW average[MiB/sec]   MsgRate[Mpps]" as
// {bytes, iterations, bw_peak, bw_average, msg_rate}; the latency, duration, per-port, QoS and
// CPU-utilisation headers likewise. Empty when a word is not one perftest prints.
std::vector<std::string> header_columns(const std::string& line);
// "MiB/sec", "MB/sec" or "Gb/sec" from a bandwidth header, "" when it has none.
std::string header_unit(const std::string& line);
// A row split by the header's columns; bandwidths in bytes per second, checked against the message
// rate. Throws InvalidResults prefixed by `at`.
PerftestRow parse_row(const std::vector<std::string>& columns, const std::vector<std::string>& words,
                      const std::string& at, const std::string& unit);

// "RDMA_Write BW Test", "Send Latency Test", "RDMA_Write Bidirectional BW Test", ...
bool is_title(const std::string& line);
// The verb, and whether the test is a latency or bidirectional one, from a title or a JSON test name
// ("RDMA_Write_Bidirectional_BW_Test"). Throws InvalidResults for a verb fabtwin does not model.
void title_facts(const std::string& title, PerftestLog& log);
// " Dual-port       : OFF\t\tDevice         : mlx5_0" and the like, each known key into `banner`.
void banner_facts(const std::string& line, nlohmann::json& banner);

PerftestLog read_perftest_json(const std::string& text, const std::string& origin);

}  // namespace fabtwin::results::perftest_words
