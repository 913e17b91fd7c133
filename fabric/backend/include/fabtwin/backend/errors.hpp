// Failures a backend reports as results rather than as bugs.
#pragma once

#include <stdexcept>

namespace fabtwin::backend {

// The simulated fabric could not deliver: a queue pair exhausted its retries, a failure partitioned the
// fabric, or nothing completed for the stall timeout. The message names the queue pairs and links
// involved. The command line reports it with exit code 1.
class SimulationFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace fabtwin::backend
