// nccl-tests' output (all_reduce_perf and friends) as a results file, so a real cluster's NCCL run can
// be compared with fabtwin's predictions. Reads the text table of nccl-tests 2.x and rccl-tests in every
// layout they print (-C, -S, -I, rccl-tests -O and -M, the old "error" columns), pasted as people paste
// it, and nccl-tests' -J JSON; anything else is rejected with a message, never guessed at.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fabtwin/results/results.hpp"

namespace fabtwin::results {

struct NcclImportOptions {
  // all_reduce, ... when the log does not say ("# Collective test starting:" appears from 2.14 or
  // so); otherwise inferred from the table where that is unambiguous.
  std::string collective;
  std::string dtype;  // keep only rows of this type (logs of `-d all` hold several)
  std::string op;     // keep only rows of this reduction (`-o all`)
  // Import the rows of a log that stops before nccl-tests' closing summary (crashed or cut short).
  bool allow_partial = false;
  // The rank count of a log without nccl-tests' "# Using devices" list (published tables rarely have
  // it); 0: from the list. Given with a list, the two must agree.
  std::int32_t ranks = 0;
};

// `provenance` is the importer's own (fabtwin version, revision, time); the log's host, devices and
// NCCL and nccl-tests versions are added to it. Throws InvalidResults naming `origin` and the line.
ResultFile import_nccl_tests(std::istream& log, const std::string& origin, const NcclImportOptions& options,
                             nlohmann::json provenance);
// A file (text or -J JSON, told apart by their content), or "-" for standard input.
ResultFile import_nccl_tests_file(const std::string& path, const NcclImportOptions& options,
                                  nlohmann::json provenance);

// The text of a log or a -J file, told apart as import_nccl_tests_file does.
ResultFile import_nccl_tests_text(const std::string& text, const std::string& origin,
                                  const NcclImportOptions& options, nlohmann::json provenance);

// A log of -d all, -o all or -r -1 as one results file per (type, reduction[, root]) series, named
// "float.sum" (or "float.sum.root3" when the roots differ).
struct NcclSeries {
  std::string name;
  ResultFile results;
};
std::vector<NcclSeries> import_nccl_tests_series(const std::string& path, const NcclImportOptions& options,
                                                 const nlohmann::json& provenance);

}  // namespace fabtwin::results
