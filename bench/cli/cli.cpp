#include "cli.hpp"

#include <CLI/CLI.hpp>
#include <ostream>
#include <sstream>

#include "fabtwin/backend/errors.hpp"
#include "fabtwin/coll/plan.hpp"
#include "fabtwin/version.hpp"

namespace fabtwin::cli {

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app{"fabtwin: network-fabric emulator and collective benchmark suite"};
  app.require_subcommand(1);
  std::ostringstream version;
  version << "fabtwin " << kVersion << " (git " << kGitRevision << ")";
  app.set_version_flag("--version", version.str());
  int exit_code = 0;
  add_topo_command(app, out, exit_code);
  add_plan_command(app, out, exit_code);
  add_sim_command(app, out, err, exit_code);
  add_import_command(app, out, exit_code);
  add_compare_command(app, out, exit_code);
  add_calibrate_command(app, out, exit_code);
  add_check_command(app, out, err, exit_code);
  add_run_command(app, out, err, exit_code);

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::CallForVersion&) {
    out << version.str() << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    err << "fabtwin: " << e.what() << "\n";
    for (const CLI::App* sub : app.get_subcommands()) {
      err << "run 'fabtwin " << sub->get_name() << " --help' for the options\n";
      return 2;
    }
    err << "run 'fabtwin --help' for the subcommands\n";
    return 2;
  } catch (const coll::InvalidPlan& e) {
    err << "fabtwin: internal error: an algorithm built an invalid plan: " << e.what()
        << "\nplease report this with the command line\n";
    return 3;
  } catch (const backend::SimulationFailed& e) {
    // The fabric as configured cannot deliver the collective: a result, not a crash of ours.
    err << "fabtwin: simulation failed: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    err << "fabtwin: error: out of memory: use fewer ranks, a smaller size or fewer --chunks\n";
    return 2;
  } catch (const std::invalid_argument& e) {
    err << "fabtwin: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    err << "fabtwin: internal error: " << e.what() << "\nplease report this with the command line\n";
    return 3;
  }
  return exit_code;
}

}  // namespace fabtwin::cli
