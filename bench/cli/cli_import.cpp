#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli.hpp"
#include "fabtwin/files.hpp"
#include "fabtwin/results/csv.hpp"
#include "fabtwin/results/nccl_tests.hpp"
#include "options.hpp"

namespace fabtwin::cli {

namespace {

struct ImportArgs {
  std::string log;
  std::string output;
  results::NcclImportOptions options;
  bool split = false;
  std::string csv;
};

// "run.json" and "float.sum" make "run.float.sum.json".
std::string series_path(const std::string& output, const std::string& series) {
  const auto slash = output.find_last_of('/');
  const auto dot = output.rfind('.');
  const bool has_extension = dot != std::string::npos && (slash == std::string::npos || dot > slash + 1);
  return has_extension ? output.substr(0, dot) + "." + series + output.substr(dot) : output + "." + series;
}

void report(std::ostream& out, const ImportArgs& args, const results::ResultFile& f,
            const std::string& output) {
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
      args.log == "-" ? "standard input" : args.log.c_str(), peak, format_bytes(Bytes(peak_size)).c_str(),
      output.c_str());
  out << line;
  const auto& source = f.provenance.at("source");
  const auto& ranks = source.at("ranks");
  const std::string from = ranks.value("from", "");
  if (from.rfind("inferred", 0) == 0) {
    out << "note: " << ranks.value("value", 0) << " ranks " << from << " (--ranks N to set it)\n";
  }
  if (const auto it = source.find("rows_dropped"); it != source.end()) {
    for (const auto& d : *it) {
      out << "note: left out the row at " << d.value("at", "") << ": " << d.value("why", "") << "\n";
    }
  }
}

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
  cmd->add_option("--csv", args->csv,
                  "also write one CSV row per size and placement (- for standard output)");
  cmd->add_flag("--split", args->split,
                "write one file per type, reduction and root of a -d all / -o all / -r -1 log, named "
                "OUTPUT.float.sum.json and so on");
  cmd->callback([args, &out, &exit_code] {
    if (args->split && !args->csv.empty())
      throw std::invalid_argument("--csv writes one file: not with --split");
    if (args->split && args->output == "-") {
      throw std::invalid_argument("--split writes one file per series: give -o a file name, not -");
    }
    if (!args->split) {
      refuse_overwriting_inputs({{"LOG", args->log}}, {{"-o", args->output}, {"--csv", args->csv}});
      if (args->output == "-" && args->csv == "-") {
        throw std::invalid_argument("-o - and --csv -: only one can go to standard output");
      }
      const results::ResultFile f =
          results::import_nccl_tests_file(args->log, args->options, provenance(nullptr));
      write_json_output(args->output, results::to_json(f), out);
      write_csv_output(args->csv, results::to_csv(f), out);
      if (args->output != "-" && args->csv != "-") report(out, *args, f, args->output);
      exit_code = 0;
      return;
    }
    const auto series = results::import_nccl_tests_series(args->log, args->options, provenance(nullptr));
    std::vector<NamedPath> outputs;
    for (const auto& s : series)
      outputs.push_back({"-o (" + s.name + ")", series_path(args->output, s.name)});
    refuse_overwriting_inputs({{"LOG", args->log}}, outputs);
    for (std::size_t i = 0; i < series.size(); ++i) {
      write_json_output(outputs[i].path, results::to_json(series[i].results), out);
      report(out, *args, series[i].results, outputs[i].path);
    }
    exit_code = 0;
  });
}

}  // namespace fabtwin::cli
