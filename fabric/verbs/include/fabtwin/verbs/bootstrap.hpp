// Out-of-band exchange for the verbs transport: who is which rank, and a small TCP star through rank 0
// that carries QP numbers, GIDs and rkeys, barriers, results and failures. Every wait has a deadline,
// and a rank that dies closes its socket, which every survivor learns about within one wait.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fabtwin/units.hpp"

namespace fabtwin::verbs {

// The run cannot go on: a peer died, a wait timed out, the fabric reported an error. Distinct from
// std::invalid_argument (bad options, no device), which the command reports as unusable input.
class RunError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where this process sits in the job, and which launcher said so.
struct LaunchInfo {
  std::int32_t rank = 0;
  std::int32_t world = 1;
  std::string root;    // HOST:PORT of rank 0's listener
  std::string source;  // "command line", "Open MPI", "PMI", "Slurm"
  // What every rank of this job shows in its hello: --token, FABTWIN_TOKEN, or the launcher's job id.
  // Empty when none is known; then only the rank and world size tell the job's ranks from strangers.
  std::string token;
  std::vector<std::string> warnings;  // launcher variables that disagree, and which were used
  std::int32_t local_rank = 0;        // among the ranks of this host: which NIC of --devices it takes
  std::string local_source;           // the variable it came from, or "rank (no launcher says)"
  std::string root_source;            // "--root", "FABTWIN_ROOT" or how Slurm's node list gave it
};

// Reads a variable; empty optional when unset. Tests pass a map instead of the real environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_environment();

// Command-line values (negative / empty: not given) win over the launchers' variables, which are
// tried in the order Open MPI (OMPI_COMM_WORLD_RANK/SIZE), PMI (PMI_RANK/PMI_SIZE), Slurm
// (SLURM_PROCID/SLURM_NTASKS). The root comes from `root` or FABTWIN_ROOT. Throws
// std::invalid_argument naming the option or variable at fault.
// The token comes from `token`, else FABTWIN_TOKEN, else the job (and step) id of Slurm, PMIx or
// Open MPI. When several launchers' variables are set and disagree, the first is used and a warning
// names them all.
LaunchInfo detect_launch(std::int32_t rank, std::int32_t world, const std::string& root, const EnvLookup& env,
                         const std::string& token = "");

// "host:port" or "[v6addr]:port"; throws std::invalid_argument naming `option`.
std::pair<std::string, std::uint16_t> parse_host_port(const std::string& option, const std::string& text);

class Bootstrap {
 public:
  // Said about each connection the root refuses (a stranger, another job's rank, a malformed hello).
  using Log = std::function<void(const std::string&)>;
  // Rank 0 listens on the root's address and port (0.0.0.0 or [::]: every local address) and accepts
  // world-1 ranks whose hello carries the job's token; the others connect, retrying until `timeout`
  // (the root may start later than they do).
  Bootstrap(const LaunchInfo& launch, Seconds timeout, Log log = nullptr);
  ~Bootstrap();
  Bootstrap(const Bootstrap&) = delete;
  Bootstrap& operator=(const Bootstrap&) = delete;

  std::int32_t rank() const { return rank_; }
  std::int32_t world() const { return world_; }
  Seconds timeout() const { return timeout_; }

  // Every rank's blob, indexed by rank. `what` names the exchange in timeout messages.
  std::vector<std::string> allgather(const std::string& mine, const std::string& what);
  void barrier(const std::string& what) { allgather({}, what); }

  // Sockets to watch while waiting on something else (the verbs completion channel): readable means
  // check() has news.
  std::vector<int> watch_fds() const;
  // Reads what has arrived without blocking; throws RunError if another rank failed or vanished.
  void check();
  // Tells every other rank (through the root) that this one failed. Never throws; best effort.
  void abort(const std::string& message) noexcept;

 private:
  struct Peer;
  void accept_all(Seconds deadline_after);
  void listen_on_root();
  // A pending connection's hello, once whole: true when it joined; false when still incomplete;
  // refuses (closes, logs) a stranger and throws on a rank of this job with the wrong rank or world.
  bool admit(Peer& p, bool gone);
  void refuse(Peer& p, const std::string& why);
  void connect_root(Seconds deadline_after);
  // Reads frames from every readable socket within `wait_ms`; throws RunError on failure news.
  void pump(int wait_ms);
  void send_frame(Peer& p, std::uint8_t type, const std::string& payload);
  [[noreturn]] void fail(const std::string& message);
  [[noreturn]] void fail_closed(const Peer& p);

  std::int32_t rank_;
  std::int32_t world_;
  std::string root_;
  std::string token_;
  Seconds timeout_;
  Log log_;
  std::vector<std::string> refused_;
  int listen_fd_ = -1;
  std::vector<Peer> peers_;  // root: one per rank (own slot unused); others: one, the root
};

}  // namespace fabtwin::verbs
