// What the importer reads from an nccl-tests log or -J file, and the results file made of it: the
// collective, the rank count and the rows, each checked against what nccl-tests computes. The text and
// JSON readers fill a ParsedLog; everything after is shared. Internal to the importer.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "fabtwin/results/nccl_tests.hpp"
#include "nccl_log_lines.hpp"
#include "nccl_rows.hpp"

namespace fabtwin::results::nccl_words {

struct ParsedLog {
  std::string format = "text";  // "text", or "json" for nccl-tests -J
  std::string tests_version;    // "2.19.6"; for rccl-tests its git version
  std::string binary;           // all_reduce_perf
  LogFacts facts;
  nlohmann::json settings = nlohmann::json::object();        // the "# nThread" line's, or -J's config
  std::map<int, std::pair<std::string, std::string>> ranks;  // rank -> (host, device) as listed
  std::int32_t listed_ranks = 0;  // ranks the list accounts for; 0: one per entry of `ranks`
  std::string listed_from;        // where that count was read
  bool finished = false;          // nccl-tests' closing summary was reached
  std::vector<ParsedRow> rows;
  nlohmann::json dropped = nlohmann::json::array();  // rows left out, each {"at", "why"}
  std::string run_error;                             // what NCCL last reported, when the run ended in one
  std::string table_header;                          // how the columns were known, when not from a header
};

// The rows of one (type, reduction, root) series of a log run with -d all, -o all or -r -1, in the
// order they were printed, each named as "float.sum" or "float.sum.root3".
std::vector<std::pair<std::string, std::vector<ParsedRow>>> split_series(const std::vector<ParsedRow>& rows);

// Throws InvalidResults naming `origin` (and the row) when the log does not make a results file.
ResultFile build_results(const std::string& origin, const NcclImportOptions& options, const ParsedLog& log,
                         nlohmann::json provenance);

}  // namespace fabtwin::results::nccl_words
