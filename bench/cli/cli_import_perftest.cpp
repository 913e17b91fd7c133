#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli.hpp"
#include "fabtwin/files.hpp"
#include "fabtwin/results/calibration.hpp"
#include "fabtwin/results/perftest.hpp"
#include "options.hpp"

namespace fabtwin::cli {

namespace {

struct PerftestArgs {
  std::vector<std::string> logs;
  std::string output;
};

}  // namespace

void add_import_perftest_command(CLI::App& app, std::ostream& out, int& exit_code) {
  auto args = std::make_shared<PerftestArgs>();
  CLI::App* cmd = app.add_subcommand("import-perftest",
                                     "Join a perftest bandwidth run and latency run (ib_write_bw and "
                                     "ib_write_lat, text or --out_json) into the "
                                     "point-to-point sweep that fabtwin calibrate fits");
  cmd->add_option("LOGS", args->logs, "the two outputs, in either order (ib_*_bw -a and ib_*_lat -a)")
      ->required()
      ->expected(2);
  cmd->add_option("-o,--output", args->output, "point-to-point results file to write (- for standard output)")
      ->required();
  cmd->callback([args, &out, &exit_code] {
    refuse_overwriting_inputs({{"LOGS", args->logs[0]}, {"LOGS", args->logs[1]}}, {{"-o", args->output}});
    results::PerftestLog a = results::read_perftest_file(args->logs[0]);
    results::PerftestLog b = results::read_perftest_file(args->logs[1]);
    if (a.latency && !b.latency) std::swap(a, b);
    const nlohmann::json sweep = results::perftest_sweep(a, b, provenance(nullptr));
    // Read back as calibrate will, so that a file this writes is one it accepts.
    const results::P2PSweep checked = results::parse_p2p(sweep, args->output);
    write_json_output(args->output, sweep, out);
    if (args->output == "-") {
      exit_code = 0;
      return;
    }
    const auto& rows = checked.rows;
    char line[512];
    std::snprintf(line, sizeof line,
                  "imported %zu sizes (%llu B .. %llu B) of %s on %s: %s from %s, latency from %s -> %s\n",
                  rows.size(), static_cast<unsigned long long>(rows.front().size_bytes),
                  static_cast<unsigned long long>(rows.back().size_bytes), checked.run.collective.c_str(),
                  sweep["provenance"].value("device", "").c_str(), a.unit.c_str(), a.origin.c_str(),
                  b.origin.c_str(), args->output.c_str());
    out << line;
    const auto& source = sweep["provenance"]["source"];
    if (const auto it = source.find("sizes_in_one_run_only"); it != source.end()) {
      out << "note: sizes measured by one run only, left out: " << it->dump() << "\n";
    }
    if (rows.size() < 3) {
      out << "note: calibrate needs at least 3 sizes; perftest's --out_json keeps only the last size, and a "
             "write/read server prints only the last row: import the client's text output of -a\n";
    }
    exit_code = 0;
  });
}

}  // namespace fabtwin::cli
