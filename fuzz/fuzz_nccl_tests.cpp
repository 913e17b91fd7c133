// An nccl-tests log as people paste it, or its -J JSON: a results file, or InvalidResults naming the
// line or JSON path.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "fabtwin/files.hpp"
#include "fabtwin/results/nccl_tests.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fabtwin::results::NcclImportOptions options;
  options.allow_partial = size % 2 == 1;
  try {
    fabtwin::dump_json(
        fabtwin::results::to_json(fabtwin::results::import_nccl_tests_text(text, "fuzz.log", options, {})));
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
