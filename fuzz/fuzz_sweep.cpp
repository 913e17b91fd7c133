// A sweep file (fabtwin sweep FILE): its runs, or std::invalid_argument naming the field.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "fabtwin/experiment/sweep.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto sweep = fabtwin::experiment::expand_sweep(text, "fuzz.json");
    for (const auto& r : sweep.runs) {
      if (r.hash.size() != 16 || r.name.empty() || r.args.empty()) __builtin_trap();
    }
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
