// A topology spec on the command line (-t): a fabric within the memory budget, or std::invalid_argument.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "fabtwin/budget.hpp"
#include "fabtwin/topo/generators.hpp"
#include "fabtwin/topo/metrics.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Every spec the budget admits is built: keep each run a fraction of a second.
  fabtwin::set_memory_budget(fabtwin::Bytes(std::uint64_t{4} << 20));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string spec(reinterpret_cast<const char*>(data), size);
  // A spec naming a file would read whatever the fuzzer spelled; files have their own target.
  if (spec.find(':') == std::string::npos || spec.find(".json") != std::string::npos) return 0;
  try {
    fabtwin::topo::summarize(fabtwin::topo::topology_from_spec(spec), 1e6);
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
