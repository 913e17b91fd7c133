// A results, point-to-point sweep or calibration file: parsed, or InvalidResults naming the field.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "fabtwin/files.hpp"
#include "fabtwin/results/calibration.hpp"
#include "fabtwin/results/results.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json j;
  try {
    j = fabtwin::parse_json_text(text, "fuzz.json");
  } catch (const std::invalid_argument&) {
    return 0;
  }
  try {
    fabtwin::dump_json(fabtwin::results::to_json(fabtwin::results::parse_results(j, "fuzz.json")));
  } catch (const std::invalid_argument&) {
  }
  try {
    fabtwin::results::parse_p2p(j, "fuzz.json");
  } catch (const std::invalid_argument&) {
  }
  try {
    fabtwin::results::parse_calibration(j, "fuzz.json");
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
