// The `fabtwin` command line, as a library so tests can drive it without spawning processes.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace fabtwin::cli {

// Exit codes: 0 success, 1 a check failed (wrong data, regression), 2 unusable input, 3 internal error.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Each subcommand registers itself; `out` receives tables and summaries.
void add_topo_command(CLI::App& app, std::ostream& out, int& exit_code);
void add_plan_command(CLI::App& app, std::ostream& out, int& exit_code);
void add_sim_command(CLI::App& app, std::ostream& out, std::ostream& err, int& exit_code);
void add_import_command(CLI::App& app, std::ostream& out, int& exit_code);
void add_import_perftest_command(CLI::App& app, std::ostream& out, int& exit_code);
void add_compare_command(CLI::App& app, std::ostream& out, int& exit_code);
void add_calibrate_command(CLI::App& app, std::ostream& out, int& exit_code);
void add_check_command(CLI::App& app, std::ostream& out, std::ostream& err, int& exit_code);
// `sweep` runs its share of a what-if matrix, each run in a child process that calls run() again.
void add_sweep_command(CLI::App& app, std::ostream& out, std::ostream& err, int& exit_code);
// `run` reports a run that could not finish (peer died, timeout) on `err` with exit code 4.
void add_run_command(CLI::App& app, std::ostream& out, std::ostream& err, int& exit_code);

}  // namespace fabtwin::cli
