#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli.hpp"
#include "fabtwin/files.hpp"
#include "fabtwin/results/nccl_tests.hpp"
#include "options.hpp"

namespace fabtwin::cli {

namespace {

struct ImportArgs {
  std::string log;
  std::string output;
  results::NcclImportOptions options;
};

}  // namespace

void add_import_command(CLI::App& app, std::ostream& out, int& exit_code) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* cmd =
      app.add_subcommand("import-nccl", "Turn an nccl-tests log (all_reduce_perf, ...) into a results file");
  cmd->add_option("LOG", args->log, "the text nccl-tests printed (- for standard input)")->required();
  cmd->add_option("-o,--output", args->output, "results file to write (- for standard output)")->required();
  cmd->add_option("--collective", args->options.collective,
                  "all_reduce, ... when the log does not name its test (nccl-tests before 2.14)");
  cmd->add_option("--dtype", args->options.dtype, "keep the rows of this type (logs of -d all)");
  cmd->add_option("--op", args->options.op, "keep the rows of this reduction (logs of -o all)");
  cmd->add_option("--ranks", args->options.ranks,
                  "rank count of a log without nccl-tests' \"# Using devices\" list (a published table)")
      ->check(CLI::Range(1, 1 << 24));
  cmd->add_flag("--allow-partial", args->options.allow_partial,
                "import the rows of a log that ends before nccl-tests' summary");
  cmd->callback([args, &out, &exit_code] {
    refuse_overwriting_inputs({{"LOG", args->log}}, {{"-o", args->output}});
    const results::ResultFile f =
        results::import_nccl_tests_file(args->log, args->options, provenance(nullptr));
    write_json_output(args->output, results::to_json(f), out);
    if (args->output != "-") {
      double peak = 0;
      std::uint64_t peak_size = 0;
      for (const auto& r : f.rows) {
        if (r.timing.busbw_gbps > peak) {
          peak = r.timing.busbw_gbps;
          peak_size = r.size_bytes;
        }
      }
      char line[512];
      std::snprintf(
          line, sizeof line,
          "imported %zu sizes of %s (%s %s) over %d ranks on %s from %s: peak busbw %.2f GB/s at %s -> %s\n",
          f.rows.size(), f.run.collective.c_str(), f.run.dtype.c_str(), f.run.op.c_str(), f.run.ranks,
          f.provenance_string("device").empty() ? "devices it does not name"
                                                : f.provenance_string("device").c_str(),
          args->log == "-" ? "standard input" : args->log.c_str(), peak,
          format_bytes(Bytes(peak_size)).c_str(), args->output.c_str());
      out << line;
      const auto& ranks = f.provenance.at("source").at("ranks");
      const std::string from = ranks.value("from", "");
      if (from.rfind("inferred", 0) == 0) {
        out << "note: " << ranks.value("value", 0) << " ranks " << from << " (--ranks N to set it)\n";
      }
    }
    exit_code = 0;
  });
}

}  // namespace fabtwin::cli
