#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli.hpp"
#include "fabtwin/files.hpp"
#include "fabtwin/results/calibration.hpp"
#include "options.hpp"

namespace fabtwin::cli {

namespace {

struct CalibrateArgs {
  std::string sweep;
  std::string output;
  std::string line_rate;
};

}  // namespace

void add_calibrate_command(CLI::App& app, std::ostream& out, int& exit_code) {
  auto args = std::make_shared<CalibrateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "calibrate",
      "Fit latency, bandwidth and per-message overhead to a point-to-point sweep (fabtwin run --p2p)");
  cmd->add_option("P2P", args->sweep, "point-to-point sweep results file")->required();
  cmd->add_option("-o,--output", args->output, "calibration file to write (- for standard output)")
      ->required();
  cmd->add_option("--line-rate", args->line_rate,
                  "the link's signalling rate (100Gbps, 400Gbps): warn when the fit or a size exceeds it");
  cmd->callback([args, &out, &exit_code] {
    refuse_overwriting_inputs({{"P2P", args->sweep}}, {{"-o", args->output}});
    const BitsPerSecond line_rate =
        args->line_rate.empty() ? BitsPerSecond(0) : parse_rate_option("--line-rate", args->line_rate);
    const results::P2PSweep sweep = results::load_p2p(args->sweep);
    const results::Calibration c = results::fit_calibration(sweep);
    write_json_output(args->output, results::to_json(c, provenance(nullptr)), out);
    if (args->output != "-") {
      char line[512];
      std::snprintf(line, sizeof line,
                    "calibration from %zu sizes (%s .. %s) of %s:\n"
                    "  latency      %s (one way, ping-pong intercept)\n"
                    "  bandwidth    %s = %.2f GB/s (streaming, payload)\n"
                    "  per-message  %s (streaming intercept)\n"
                    "  fit          worst residual %.1f%% streaming, %.1f%% ping-pong\n",
                    sweep.rows.size(), format_bytes(Bytes(sweep.rows.front().size_bytes)).c_str(),
                    format_bytes(Bytes(sweep.rows.back().size_bytes)).c_str(), args->sweep.c_str(),
                    format_duration(c.latency).c_str(), format_rate(c.bandwidth).c_str(),
                    c.bandwidth.gigabytes_per_second(), format_duration(c.per_message).c_str(),
                    c.stream_max_residual * 100.0, c.latency_max_residual * 100.0);
      out << line;
      for (const auto& w : results::calibration_warnings(c, sweep, line_rate))
        out << "  warning: " << w << "\n";
      out << "-> " << args->output << " (use with: fabtwin sim --calibration " << args->output << ")\n";
    }
    exit_code = 0;
  });
}

}  // namespace fabtwin::cli
