// `fabtwin sweep FILE -o DIR`: a what-if matrix run as `sim` runs, this task's share of them (Slurm array,
// srun, mpirun or --shard), --jobs at a time in child processes, each result kept under its scenario
// hash so that a second call runs only what is missing; `--merge` ranks the designs per size.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <ostream>

#include "cli.hpp"
#include "fabtwin/experiment/sweep.hpp"
#include "fabtwin/files.hpp"
#include "fabtwin/results/results.hpp"
#include "sweep_merge.hpp"

namespace fabtwin::cli {

namespace {

struct SweepArgs {
  std::string file;
  std::string dir;
  std::string shard;
  int jobs = 1;
  bool merge = false;
  bool list = false;
  std::string plot;
  std::string json;
};

std::string result_path(const std::string& dir, const experiment::SweepRun& r, const char* ext) {
  return dir + "/" + r.file_stem() + ext;
}

// A run counts as done when its results file is there and reads: `sim --json` writes it atomically,
// so an interrupted run leaves none.
bool done(const std::string& dir, const experiment::SweepRun& r) {
  struct stat st {};
  if (::stat(result_path(dir, r, ".json").c_str(), &st) != 0) return false;
  try {
    results::load_results(result_path(dir, r, ".json"));
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// In a child process: the run's table to DIR/STEM.txt, its messages to DIR/STEM.err, its exit code out.
[[noreturn]] void run_child(const std::string& dir, const experiment::SweepRun& r) {
  std::ofstream table(result_path(dir, r, ".txt")), messages(result_path(dir, r, ".err"));
  std::vector<std::string> args = {"sim"};
  args.insert(args.end(), r.args.begin(), r.args.end());
  args.insert(args.end(), {"--json", result_path(dir, r, ".json")});
  const int code = cli::run(args, table, messages);
  table.flush();
  messages.flush();
  ::_exit(code);
}

struct Progress {
  std::size_t total = 0, finished = 0, failed = 0;
  std::chrono::steady_clock::time_point begin = std::chrono::steady_clock::now();
  bool terminal = ::isatty(STDERR_FILENO) != 0;
  void report(std::ostream& err, const experiment::SweepRun& r) const {
    if (!terminal) return;
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    const double eta =
        finished > 0 ? wall / static_cast<double>(finished) * static_cast<double>(total - finished) : 0;
    char line[256];
    std::snprintf(line, sizeof line,
                  "\r  sweep: %zu of %zu done (%zu failed), last %s, %.0f s, ETA %.0f s   ", finished, total,
                  failed, r.name.c_str(), wall, eta);
    err << line << std::flush;
  }
};

// Runs `todo` with at most `jobs` children at once. Returns the runs that failed.
std::vector<const experiment::SweepRun*> run_all(const std::vector<const experiment::SweepRun*>& todo,
                                                 const std::string& dir, int jobs, std::ostream& err) {
  std::map<pid_t, const experiment::SweepRun*> running;
  std::vector<const experiment::SweepRun*> failed;
  Progress progress;
  progress.total = todo.size();
  std::size_t next = 0;
  std::cout.flush();
  while (next < todo.size() || !running.empty()) {
    while (next < todo.size() && static_cast<int>(running.size()) < jobs) {
      const pid_t pid = ::fork();
      if (pid < 0) throw std::runtime_error("sweep: fork failed; lower --jobs");
      if (pid == 0) run_child(dir, *todo[next]);
      running[pid] = todo[next++];
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) throw std::runtime_error("sweep: lost track of its runs (waitpid failed)");
    const experiment::SweepRun* r = running.at(pid);
    running.erase(pid);
    ++progress.finished;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      failed.push_back(r);
      ++progress.failed;
    } else {
      std::remove(result_path(dir, *r, ".err").c_str());
    }
    progress.report(err, *r);
  }
  if (progress.terminal && !todo.empty()) err << "\n";
  return failed;
}

void run_share(const SweepArgs& a, const experiment::Sweep& sweep, std::ostream& out, std::ostream& err,
               int& exit_code) {
  const experiment::Shard shard =
      experiment::shard_of(a.shard, [](const char* name) { return std::getenv(name); });
  ::mkdir(a.dir.c_str(), 0777);
  struct stat st {};
  if (::stat(a.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || ::access(a.dir.c_str(), W_OK) != 0) {
    throw std::invalid_argument("-o/--output \"" + a.dir +
                                "\" is not a folder fabtwin can create or write into");
  }
  std::vector<const experiment::SweepRun*> mine, todo;
  for (const auto& r : sweep.runs) {
    if (!shard.takes(r)) continue;
    mine.push_back(&r);
    if (!done(a.dir, r)) todo.push_back(&r);
  }
  const auto failed = run_all(todo, a.dir, a.jobs, err);
  out << "# sweep " << a.file << ": " << sweep.runs.size() << " runs in the matrix; task " << shard.task
      << " of " << shard.tasks << " (" << shard.source << ") takes " << mine.size() << ": "
      << mine.size() - todo.size() << " done before, " << todo.size() - failed.size() << " run now, "
      << failed.size() << " failed\n";
  for (const auto& s : sweep.skipped) out << "# skipped " << s << "\n";
  for (const auto* r : failed) {
    out << "# failed " << r->name << ": see " << result_path(a.dir, *r, ".err") << "\n";
  }
  out << "# results: " << a.dir << "/NAME.HASH.json (tables beside them as .txt); merge with --merge\n";
  if (!failed.empty()) exit_code = 1;
}

}  // namespace

void add_sweep_command(CLI::App& app, std::ostream& out, std::ostream& err, int& exit_code) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sweep",
      "Run a what-if matrix (topologies x algorithms x backends x routing x what-ifs x seeds) as sim runs, "
      "this task's share of it, resuming what is done; --merge ranks the designs per size");
  cmd->add_option("FILE", args->file, "the sweep file (JSON; see README, What-if sweeps)")->required();
  cmd->add_option("-o,--output", args->dir, "folder of the runs' results (shared by every task)")->required();
  cmd->add_option("--jobs", args->jobs, "runs at once on this machine")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--shard", args->shard,
                  "take runs I, I+N, ... of the matrix (I/N; default: from Slurm or MPI)");
  cmd->add_flag("--list", args->list, "print the runs (index, name, hash, sim arguments) and run nothing");
  cmd->add_flag("--merge", args->merge, "rank the designs per size from the results in the folder");
  cmd->add_option("--plot", args->plot,
                  "with --merge: busbw against size, one curve per run, to FILE.png/.svg");
  cmd->add_option("--json", args->json, "with --merge: the ranking as JSON to FILE (- for standard output)");
  cmd->callback([args, &out, &err, &exit_code] {
    const experiment::Sweep sweep =
        experiment::expand_sweep(read_input_file(args->file, "sweep file"), args->file);
    if ((!args->plot.empty() || !args->json.empty()) && !args->merge) {
      throw std::invalid_argument("--plot and --json go with --merge");
    }
    if (args->list) {
      for (const auto& r : sweep.runs) {
        out << r.index << "  " << r.name << "  " << r.hash << "  sim";
        for (const auto& a : r.args) out << " " << a;
        out << "\n";
      }
      return;
    }
    if (args->merge) {
      merge_sweep(args->file, sweep, args->dir, args->plot, args->json, out, exit_code);
      return;
    }
    run_share(*args, sweep, out, err, exit_code);
  });
}

}  // namespace fabtwin::cli
