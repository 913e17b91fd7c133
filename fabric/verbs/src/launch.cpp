// Who this process is in the job: rank and world from the command line or the launcher's variables
// (Open MPI, PMI, Slurm), and the root's address.
#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "fabtwin/verbs/bootstrap.hpp"
#include "fabtwin/verbs/placement.hpp"

namespace fabtwin::verbs {

namespace {

std::int32_t parse_int(const std::string& name, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v < 0 || v > (1 << 24)) {
    throw std::invalid_argument(name + ": expected a non-negative integer, got \"" + text + "\"");
  }
  return static_cast<std::int32_t>(v);
}

}  // namespace

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

namespace {

// A job id every rank of one job shares and no other job has: Slurm's job and step, PMIx's namespace
// (Open MPI 5, and mpirun/srun with PMIx), Open MPI 4's job id. Empty when no launcher says.
std::string job_token(const EnvLookup& env) {
  if (const auto job = env("SLURM_JOB_ID")) {
    const auto step = env("SLURM_STEP_ID");
    return "slurm:" + *job + "." + step.value_or("");
  }
  if (const auto ns = env("PMIX_NAMESPACE")) return "pmix:" + *ns;
  for (const char* var : {"OMPI_MCA_ess_base_jobid", "OMPI_MCA_orte_ess_jobid"}) {
    if (const auto id = env(var)) return std::string("ompi:") + *id;
  }
  return {};
}

}  // namespace

LaunchInfo detect_launch(std::int32_t rank, std::int32_t world, const std::string& root, const EnvLookup& env,
                         const std::string& token) {
  LaunchInfo info;
  struct Launcher {
    const char* name;
    const char* rank_var;
    const char* size_var;
  };
  static const Launcher launchers[] = {{"Open MPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                                       {"PMI", "PMI_RANK", "PMI_SIZE"},
                                       {"Slurm", "SLURM_PROCID", "SLURM_NTASKS"}};
  if (rank >= 0 || world >= 0) {
    if (rank < 0 || world < 0) throw std::invalid_argument("--rank and --world go together: give both");
    info.rank = rank;
    info.world = world;
    info.source = "command line";
  } else {
    bool found = false;
    for (const Launcher& l : launchers) {
      const auto r = env(l.rank_var);
      const auto s = env(l.size_var);
      if (!r && !s) continue;
      if (!r || !s) {
        throw std::invalid_argument(std::string(l.name) +
                                    " environment is incomplete: " + (r ? l.size_var : l.rank_var) +
                                    " is unset while " + (r ? l.rank_var : l.size_var) + " is set");
      }
      const std::int32_t lr = parse_int(l.rank_var, *r);
      const std::int32_t ls = parse_int(l.size_var, *s);
      if (!found) {
        info.rank = lr;
        info.world = ls;
        info.source = l.name;
        found = true;
      } else if (lr != info.rank || ls != info.world) {
        // Nested launchers (mpirun inside an sbatch allocation) leave both sets; say which one won.
        info.warnings.push_back(std::string(l.name) + " says rank " + std::to_string(lr) + " of " +
                                std::to_string(ls) + " (" + l.rank_var + ", " + l.size_var + ") but " +
                                info.source + " says rank " + std::to_string(info.rank) + " of " +
                                std::to_string(info.world) + ": using " + info.source +
                                "'s (pass --rank and --world to choose)");
      }
    }
    if (!found) {
      // A lone process is a job of one: useful for a smoke test on one node.
      info.rank = 0;
      info.world = 1;
      info.source = "default (no launcher variables)";
    }
  }
  if (info.world < 1)
    throw std::invalid_argument("world size must be at least 1, got " + std::to_string(info.world));
  if (info.rank >= info.world) {
    throw std::invalid_argument("rank " + std::to_string(info.rank) + " (from " + info.source +
                                ") is not below the world size " + std::to_string(info.world));
  }
  if (!root.empty()) {
    info.root = root;
    info.root_source = "--root";
  } else if (const auto v = env("FABTWIN_ROOT")) {
    info.root = *v;
    info.root_source = "FABTWIN_ROOT";
  } else if (const auto slurm = info.world > 1 ? slurm_root(env) : std::nullopt) {
    info.root = *slurm;
    info.root_source = "Slurm: the first host of the step's node list, a port from the job and step ids";
  }
  if (info.root.empty() && info.world > 1) {
    throw std::invalid_argument(
        "--root HOST:PORT (or FABTWIN_ROOT) is required with more than one rank outside Slurm: rank 0 "
        "listens there and the others connect to it");
  }
  info.local_rank = info.rank;
  info.local_source = "the rank (no launcher says which rank of its host it is)";
  if (const auto l = local_rank(env, &info.local_source)) info.local_rank = *l;
  if (!token.empty()) {
    info.token = token;
  } else if (const auto v = env("FABTWIN_TOKEN")) {
    info.token = *v;
  } else {
    info.token = job_token(env);
  }
  if (!info.root.empty()) parse_host_port(info.root_source, info.root);
  return info;
}

std::pair<std::string, std::uint16_t> parse_host_port(const std::string& option, const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("]:");
    if (close == std::string::npos)
      throw std::invalid_argument(option + ": expected [ADDR]:PORT, got \"" + text + "\"");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      throw std::invalid_argument(option + ": expected HOST:PORT, got \"" + text + "\"");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  const std::int32_t p = parse_int(option + " port", port);
  if (p < 1 || p > 65535) throw std::invalid_argument(option + ": port must be 1..65535, got " + port);
  return {host, static_cast<std::uint16_t>(p)};
}

}  // namespace fabtwin::verbs
