// What a pasted nccl-tests log carries besides its table: the prefixes launchers put before each line,
// and the NCCL facts (version, settings, rank and channel counts) that NCCL's INFO lines and the
// launcher's command line state. Internal to the importer.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fabtwin::results::nccl_words {

// The line without what `srun -l` ("12: "), Open MPI's --tag-output ("[1,0]<stdout>:") or a markdown
// quote ("> ") put before it. Lines of nccl-tests itself never start that way.
std::string strip_launcher_prefix(const std::string& line);

// "# nThread 1 nGpus 8 minBytes 8 ... warmup iters: 5 iters: 20 ...": each number under its (one- or
// two-word, lower-cased) key.
nlohmann::json run_settings(const std::vector<std::string>& header_words);

// Facts gathered from the lines around the table, each recorded where it was read.
struct LogFacts {
  std::string library;                                     // "NCCL" or "RCCL"
  std::string version;                                     // "2.19.3+cuda12.3"
  nlohmann::json env = nlohmann::json::object();           // NCCL_* NCCL reports as set by environment
  nlohmann::json command_line = nlohmann::json::object();  // NCCL_* given to the launcher or a shell
  std::int32_t nranks = 0;                                 // "comm ... nranks 16 ... Init COMPLETE"
  std::int32_t coll_channels = 0;                          // "32 coll channels, ..."

  // True when `line` is one of NCCL's own (INFO/WARN, or the bare "NCCL version" line): read, then
  // not looked at further.
  bool nccl_line(const std::string& line);
  // NCCL_X=value words on any other line (`-x NCCL_ALGO=Ring`, `export NCCL_PROTO=LL128`, `--env`).
  void command_line_settings(const std::string& line);
  // fabtwin's own table header ("# fabtwin sim: backend analytic, 16 ranks on ...", then "# all_reduce,
  // algorithm ..."; "# fabtwin run: backend verbs, 4 ranks, all_reduce algorithm ring, ..."), so that
  // its output imports back. `words` are a header line's tokens after '#'; true when it was one.
  bool fabtwin_header(const std::vector<std::string>& words);
  std::string fabtwin_tool;     // "fabtwin sim", "fabtwin run"
  std::string fabtwin_backend;  // analytic, packet, verbs
  std::int32_t fabtwin_ranks = 0;
  std::string fabtwin_collective;

  // The algorithm NCCL was told to use, as the environment (or failing that the command line) says.
  std::string algorithm() const;
};

}  // namespace fabtwin::results::nccl_words
