// `fabtwin run` in a build without rdma-core's headers: the simulators are all there, the measured
// side is not, and the command says how to get it.
#include <CLI/CLI.hpp>
#include <stdexcept>

#include "cli.hpp"

namespace fabtwin::cli {

void add_run_command(CLI::App& app, std::ostream&, std::ostream&, int&) {
  CLI::App* cmd = app.add_subcommand("run", "run a collective over RDMA verbs (unavailable in this build)");
  cmd->allow_extras();
  cmd->prefix_command();
  cmd->callback([] {
    throw std::invalid_argument(
        "fabtwin run is unavailable: this fabtwin was built without rdma-core (install libibverbs-dev, e.g. "
        "`apt-get install libibverbs-dev`, and rebuild)");
  });
}

}  // namespace fabtwin::cli
