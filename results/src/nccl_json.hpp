// nccl-tests' own JSON (-J FILE.json, nccl-tests 2.17.3 and later, file versions 1 to 3) read into the
// importer's ParsedLog, so it is checked and converted exactly as the text table is. Internal.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "fabtwin/results/nccl_tests.hpp"
#include "nccl_build.hpp"

namespace fabtwin::results::nccl_words {

// True when `j` has the shape nccl-tests writes (an object with "config" and "results").
bool is_nccl_tests_json(const nlohmann::json& j);

// Throws InvalidResults naming `origin` and the JSON path of the field that is not nccl-tests'.
ParsedLog read_nccl_tests_json(const nlohmann::json& j, const std::string& origin,
                               const NcclImportOptions& options);

}  // namespace fabtwin::results::nccl_words
