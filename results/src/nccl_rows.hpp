// A row of an nccl-tests table as printed, and the check that its numbers are what nccl-tests computes
// from its size and time. Internal to the importer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fabtwin/coll/plan.hpp"
#include "fabtwin/results/results.hpp"

namespace fabtwin::results::nccl_words {

struct ParsedTiming {
  double time_us = 0;
  double algbw = 0;
  double busbw = 0;
  std::string wrong;
  double time_precision = 0;  // relative: half the printed time's last digit over the time
  bool present = true;        // false: the half printed N/A throughout (run --inplace or --outplace)
  // -C prints CPU time; time_us is then the GPU time nccl-tests' algbw was computed from.
  std::optional<double> cputime_us;
  std::vector<double> per_iteration;  // -I: min, max and p99 in microseconds, and cv in percent
  std::string error;                  // 2.11 and earlier: the maximum relative error, as printed
};

struct ParsedRow {
  int line = 0;
  std::uint64_t size = 0;
  std::uint64_t count = 0;
  std::string type;
  std::string redop;
  std::int32_t root = -1;
  ParsedTiming out_of_place;
  ParsedTiming in_place;
  std::string algo, proto, channels;  // fabtwin's (and rccl-tests -M) columns after nccl-tests' 13
  std::string timestamp;              // -S
  std::string json_path;              // "/results/3" for a row of a -J file, which has no lines
};

// -C prints CPU time, and the GPU time that the bandwidths come from is known only through algbw: a row
// whose printed algbw gives that time to worse than 1% has no time to import.
bool gpu_time_too_coarse(const ParsedRow& r);

// "log.txt:12" or "run.json: /results/3", to start a message about the row.
std::string row_place(const std::string& origin, const ParsedRow& r);

// The half's time with the bandwidths recomputed from it, refused (InvalidResults naming `origin` and
// the row's line) when the printed algbw is not size / time or busbw is not algbw times the collective's
// factor at `ranks`, within the digits printed.
Timing checked_timing(const std::string& origin, const ParsedRow& r, const ParsedTiming& t,
                      coll::Collective c, std::int32_t ranks, const char* which);

}  // namespace fabtwin::results::nccl_words
