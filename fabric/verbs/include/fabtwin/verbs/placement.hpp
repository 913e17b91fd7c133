// Where a rank runs and which NIC it uses, from what launchers and users write: Slurm's compressed
// host lists ("gpu[001-004,010]"), the local rank each launcher exports, and NCCL_IB_HCA's device list
// syntax ("mlx5_0:1,mlx5_1:1", "^mlx5_4", "=mlx5_0"). Pure functions of their text, so every rule is
// tested without a NIC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fabtwin/verbs/bootstrap.hpp"

namespace fabtwin::verbs {

// "gpu[001-004,010],login1" -> gpu001 .. gpu004, gpu010, login1, in order; several bracket groups in one
// name multiply ("r[1-2]n[1-2]" -> r1n1 r1n2 r2n1 r2n2); leading zeros are kept as written. Throws
// std::invalid_argument naming `option` for a malformed list or one of more than `max_hosts` names.
std::vector<std::string> expand_hostlist(const std::string& option, const std::string& text,
                                         std::size_t max_hosts = std::size_t{1} << 20);

// The rank's index among the ranks of its host, from Open MPI (OMPI_COMM_WORLD_LOCAL_RANK), Slurm
// (SLURM_LOCALID), MPICH/Hydra (MPI_LOCALRANKID) or PMIx (PMIX_LOCAL_RANK), in that order; nullopt
// when none says. `source` receives the variable's name.
std::optional<std::int32_t> local_rank(const EnvLookup& env, std::string* source);

// Under Slurm without --root: rank 0 runs on the first host of the step's node list (block and cyclic
// distributions both put task 0 there), listening on a port derived from the job and step ids so that
// two steps on one node do not collide. nullopt outside Slurm.
std::optional<std::string> slurm_root(const EnvLookup& env);

struct HcaEntry {
  std::string name;  // a prefix, or the whole name with '='
  int port = 0;      // 0: the port --port names
};
struct HcaList {
  bool exclude = false;  // '^': every device but these
  bool exact = false;    // '=': names, not prefixes
  std::vector<HcaEntry> entries;
};
HcaList parse_hca_list(const std::string& option, const std::string& text);

// The devices (of `available`, as libibverbs lists them) the list admits, in libibverbs' order, each
// with its port (0: --port's). Local rank i takes the i-th, modulo their count.
std::vector<HcaEntry> admitted_devices(const HcaList& list, const std::vector<std::string>& available);
HcaEntry device_for_local_rank(const std::string& option, const HcaList& list,
                               const std::vector<std::string>& available, std::int32_t local_rank);

}  // namespace fabtwin::verbs
