#include "errors.hpp"

#include <cstring>

namespace fabtwin::verbs {

std::string errno_text(int e) {
  return std::string(std::strerror(e)) + " (errno " + std::to_string(e) + ")";
}

}  // namespace fabtwin::verbs
