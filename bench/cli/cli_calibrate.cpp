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
};

// Above this the two-parameter models do not describe the sweep (a knee, a second regime, noise), and
// the calibration should be read with care.
constexpr double kPoorFit = 0.2;

}  // namespace

void add_calibrate_command(CLI::App& app, std::ostream& out, int& exit_code) {
  auto args = std::make_shared<CalibrateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "calibrate",
      "Fit latency, bandwidth and per-message overhead to a point-to-point sweep (fabtwin run --p2p)");
  cmd->add_option("P2P", args->sweep, "point-to-point sweep results file")->required();
  cmd->add_option("-o,--output", args->output, "calibration file to write (- for standard output)")
      ->required();
  cmd->callback([args, &out, &exit_code] {
    refuse_overwriting_inputs({{"P2P", args->sweep}}, {{"-o", args->output}});
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
      if (c.stream_max_residual > kPoorFit || c.latency_max_residual > kPoorFit) {
        out << "  warning: the sweep departs from the latency + size / bandwidth model by more than "
            << static_cast<int>(kPoorFit * 100) << "% somewhere; check it for noise or a second regime\n";
      }
      out << "-> " << args->output << " (use with: fabtwin sim --calibration " << args->output << ")\n";
    }
    exit_code = 0;
  });
}

}  // namespace fabtwin::cli
