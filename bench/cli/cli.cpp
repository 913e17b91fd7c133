#include "cli.hpp"

#include <CLI/CLI.hpp>
#include <ostream>
#include <sstream>

#include "fabtwin/backend/errors.hpp"
#include "fabtwin/budget.hpp"
#include "fabtwin/coll/plan.hpp"
#include "fabtwin/version.hpp"
#include "options.hpp"
#include "terminal.hpp"

namespace fabtwin::cli {

namespace {

// CLI11 reads an unsigned option with strtoull, which takes "-2" as 2^64-2: a step factor or a seed
// would wrap silently. Every unsigned option of every subcommand refuses a minus sign instead.
void refuse_negative_unsigned(CLI::App& app) {
  const CLI::Validator not_negative(
      [](std::string& text) {
        const auto first = text.find_first_not_of(" \t");
        return first != std::string::npos && text[first] == '-' ? "must not be negative, got " + text
                                                                : std::string();
      },
      "", "not negative");
  for (CLI::Option* o : app.get_options()) {
    if (o->get_type_name().rfind("UINT", 0) == 0) o->check(not_negative);
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) refuse_negative_unsigned(*sub);
}

}  // namespace

int run(const std::vector<std::string>& args, std::ostream& raw_out, std::ostream& raw_err) {
  EscapingStream out(raw_out);
  EscapingStream err(raw_err);
  CLI::App app{"fabtwin: network-fabric emulator and collective benchmark suite"};
  app.require_subcommand(1);
  std::ostringstream version;
  version << "fabtwin " << kVersion << " (git " << kGitRevision << ")";
  app.set_version_flag("--version", version.str());
  std::string max_memory;
  app.add_option("--max-memory", max_memory,
                 "memory the fabrics, plans and packet models of this run may use (default: half of this "
                 "machine's); larger ones are refused with their estimate")
      ->each([](const std::string& text) { set_memory_budget(parse_bytes_option("--max-memory", text)); });
  app.fallthrough();
  int exit_code = 0;
  add_topo_command(app, out, exit_code);
  add_plan_command(app, out, exit_code);
  add_sim_command(app, out, err, exit_code);
  add_import_command(app, out, exit_code);
  add_import_perftest_command(app, out, exit_code);
  add_compare_command(app, out, exit_code);
  add_calibrate_command(app, out, exit_code);
  add_check_command(app, out, err, exit_code);
  add_sweep_command(app, out, err, exit_code);
  add_run_command(app, out, err, exit_code);
  refuse_negative_unsigned(app);

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
