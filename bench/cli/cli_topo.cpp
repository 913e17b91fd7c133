#include <CLI/CLI.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "cli.hpp"
#include "fabtwin/files.hpp"
#include "fabtwin/topo/generators.hpp"
#include "fabtwin/topo/io.hpp"
#include "fabtwin/topo/metrics.hpp"
#include "options.hpp"

namespace fabtwin::cli {

namespace {

struct TopoArgs {
  std::string spec = topo::kDefaultTopologySpec;
  std::string json;
  std::string export_file;
  std::string dot;
  bool exhaustive = false;
};

}  // namespace

void add_topo_command(CLI::App& app, std::ostream& out, int& exit_code) {
  auto args = std::make_shared<TopoArgs>();
  CLI::App* cmd = app.add_subcommand("topo", "Build a fabric and print its summary");
  cmd->add_option("-t,--topology", args->spec,
                  "preset with parameters (fat-tree:k=8, fat-tree:tiers=2,hosts=64,oversub=2, "
                  "rail:hosts=64,gpus=8,hosts_per_leaf=32, rail-only:...) or a topology .json file")
      ->capture_default_str();
  cmd->add_option("--json", args->json, "write the summary as JSON to FILE (- for standard output)");
  cmd->add_option("--export", args->export_file,
                  "write the whole topology in fabtwin's file format to FILE (- for standard output)");
  cmd->add_option("--dot", args->dot, "write a Graphviz view to FILE (- for standard output)");
  cmd->add_flag("--exhaustive", args->exhaustive,
                "compute the diameter even where its searches take minutes (fabrics of 100k+ hosts)");
  cmd->callback([args, &out, &exit_code] {
    refuse_overwriting_inputs(
        {{"-t", args->spec}},
        {{"--json", args->json}, {"--export", args->export_file}, {"--dot", args->dot}});
    const topo::Topology t = topo::topology_from_spec(args->spec);
    const topo::Summary s = topo::summarize(t, args->exhaustive ? HUGE_VAL : topo::kPathSearchWork);
    // Standard output carries one document: the summary text only when nothing else goes there.
    const bool stdout_taken = args->json == "-" || args->export_file == "-" || args->dot == "-";
    if (!stdout_taken) out << topo::to_text(s);
    if (!args->json.empty()) write_json_output(args->json, topo::to_json(s), out);
    if (args->export_file == "-") {
      out << topo::to_json(t).dump(2) << "\n";
    } else if (!args->export_file.empty()) {
      topo::write_topology_file(t, args->export_file);
    }
    if (args->dot == "-") {
      topo::write_dot(t, out);
    } else if (!args->dot.empty()) {
      std::ostringstream dot;
      topo::write_dot(t, dot);
      write_file_atomically(args->dot, dot.str());
    }
    exit_code = 0;
  });
}

}  // namespace fabtwin::cli
