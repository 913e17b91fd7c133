// Results side by side: busbw per size for each source, the difference and the relative error
// against the first (the measured) source, and the summary a performance engineer quotes: median and
// worst |error| over small and over large messages.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "fabtwin/results/results.hpp"

namespace fabtwin::results {

inline constexpr std::uint64_t kSmallMessageMax = 1ull << 20;   // <= 1 MiB
inline constexpr std::uint64_t kLargeMessageMin = 16ull << 20;  // >= 16 MiB

struct ComparedRow {
  std::uint64_t size_bytes = 0;
  std::vector<double> busbw_gbps;  // per source
  // Against source 0, per source (source 0's own is 0): (busbw - busbw0) / busbw0. Absent when
  // busbw0 is 0.
  std::vector<std::optional<double>> rel_error;
};

struct ErrorSummary {
  std::size_t sizes = 0;
  double median_abs = 0.0;
  double worst_abs = 0.0;
  double worst_signed = 0.0;
  std::uint64_t worst_size = 0;
};

struct SourceSummary {
  std::optional<ErrorSummary> small;  // sizes <= 1 MiB
  std::optional<ErrorSummary> large;  // sizes >= 16 MiB
  std::optional<ErrorSummary> all;
};

struct Comparison {
  std::string collective;
  std::vector<std::string> labels;  // short, unique: backend, backend/algorithm or the file's name
  std::vector<std::string> files;
  std::vector<const ResultFile*> sources;
  std::vector<ComparedRow> rows;       // sizes every source has, increasing
  std::vector<SourceSummary> summary;  // per source; [0] is empty
  std::vector<std::string> notes;      // differences worth knowing that do not invalidate the table
};

// Throws InvalidResults (exit 2) when fewer than two sources, collectives differ, or no size is
// common to all of them. Different rank counts, types or algorithms are noted, not refused: they are
// what-ifs an engineer compares on purpose.
Comparison compare(const std::vector<const ResultFile*>& sources);

void print_comparison(std::ostream& out, const Comparison& c);
nlohmann::json to_json(const Comparison& c);

}  // namespace fabtwin::results
