// A check --history file: its entries, with damaged lines skipped and named, or InvalidResults.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

#include "fabtwin/results/check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto h = fabtwin::results::parse_history(text, "fuzz.jsonl");
    std::ostringstream out;
    fabtwin::results::print_trend(out, h.trends);
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
