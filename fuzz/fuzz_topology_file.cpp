// A topology file: any bytes end in a topology or in std::invalid_argument, within bounded memory.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "fabtwin/files.hpp"
#include "fabtwin/topo/io.hpp"
#include "fabtwin/topo/metrics.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto t =
        fabtwin::topo::topology_from_json(fabtwin::parse_json_text(text, "fuzz.json"), "fuzz.json");
    fabtwin::topo::summarize(t, 1e6);
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
