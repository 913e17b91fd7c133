// Internal to the verbs transport: how its error messages describe an errno value.
#pragma once

#include <string>

namespace fabtwin::verbs {

// "strerror text (errno N)".
std::string errno_text(int e);

}  // namespace fabtwin::verbs
