// Runs the fabtwin command in-process, as a user or CI would, capturing what it prints.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"

namespace fabtwin::cli {

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

inline Outcome fabtwin(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = run(args, out, err);
  return {code, out.str(), err.str()};
}

}  // namespace fabtwin::cli
