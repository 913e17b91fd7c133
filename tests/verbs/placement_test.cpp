// Where a rank runs and which NIC it takes: Slurm host lists, local ranks, NCCL_IB_HCA's syntax, and
// the root under Slurm. Expected values are spelled out from Slurm's and NCCL's documented rules.
#include "fabtwin/verbs/placement.hpp"

#include <gtest/gtest.h>

#include <map>

namespace fabtwin::verbs {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

using Names = std::vector<std::string>;

TEST(Placement, SlurmHostListsExpandInOrderKeepingTheirZeros) {
  EXPECT_EQ(expand_hostlist("L", "gpu[001-004,010],login1"),
            (Names{"gpu001", "gpu002", "gpu003", "gpu004", "gpu010", "login1"}));
  EXPECT_EQ(expand_hostlist("L", "node7"), (Names{"node7"}));
  EXPECT_EQ(expand_hostlist("L", "r[1-2]n[08-09]-ib"),
            (Names{"r1n08-ib", "r1n09-ib", "r2n08-ib", "r2n09-ib"}));
  EXPECT_EQ(expand_hostlist("L", "a[9-11]"), (Names{"a9", "a10", "a11"}));
  for (const char* bad : {"gpu[1-", "gpu]1[", "gpu[4-2]", "gpu[x]", "a,,b", "gpu[1-[2]]"}) {
    EXPECT_THROW(expand_hostlist("SLURM_JOB_NODELIST", bad), std::invalid_argument) << bad;
  }
  // Bounded: a list of 10^9 names is refused before it is built.
  EXPECT_THROW(expand_hostlist("L", "n[1-999999999]"), std::invalid_argument);
}

TEST(Placement, TheLocalRankComesFromTheLauncher) {
  std::string from;
  EXPECT_EQ(local_rank(env_of({{"SLURM_LOCALID", "3"}}), &from), 3);
  EXPECT_EQ(from, "SLURM_LOCALID");
  EXPECT_EQ(local_rank(env_of({{"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"SLURM_LOCALID", "3"}}), &from), 1);
  EXPECT_EQ(local_rank(env_of({{"PMIX_LOCAL_RANK", "2"}}), &from), 2);
  EXPECT_FALSE(local_rank(env_of({}), &from));
  EXPECT_THROW(local_rank(env_of({{"MPI_LOCALRANKID", "-1"}}), &from), std::invalid_argument);
  const auto info = detect_launch(
      -1, -1, "h:1", env_of({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"}}));
  EXPECT_EQ(info.local_rank, 1);
  EXPECT_EQ(info.local_source, "SLURM_LOCALID");
}

TEST(Placement, UnderSlurmTheRootIsTheFirstHostOnAPortOfTheJob) {
  const auto env = env_of({{"SLURM_PROCID", "3"},
                           {"SLURM_NTASKS", "8"},
                           {"SLURM_JOB_ID", "123456"},
                           {"SLURM_STEP_ID", "2"},
                           {"SLURM_JOB_NODELIST", "gpu[001-004,010]"},
                           {"SLURM_STEP_NODELIST", "gpu[003-004]"}});
  // 20000 + (123456 x 31 + 2) mod 20000 = 20000 + 3827138 mod 20000 = 27138, on the step's first host.
  EXPECT_EQ(slurm_root(env), "gpu003:27138");
  const auto info = detect_launch(-1, -1, "", env);
  EXPECT_EQ(info.root, "gpu003:27138");
  EXPECT_NE(info.root_source.find("Slurm"), std::string::npos);
  EXPECT_EQ(detect_launch(-1, -1, "h:9", env).root, "h:9");  // --root still wins
  EXPECT_FALSE(slurm_root(env_of({{"SLURM_JOB_ID", "1"}})));
}

TEST(Placement, NcclIbHcaSyntaxPicksEachLocalRanksNic) {
  const Names here = {"mlx5_0", "mlx5_1", "mlx5_10", "mlx5_2", "mlx5_4"};
  const auto list = parse_hca_list("--devices", "mlx5_0:1,mlx5_1:1");
  ASSERT_EQ(list.entries.size(), 2u);
  EXPECT_EQ(list.entries[1].port, 1);
  // Names are prefixes unless '=': mlx5_1 admits mlx5_10 too, as NCCL_IB_HCA does.
  const auto prefix = admitted_devices(list, here);
  ASSERT_EQ(prefix.size(), 3u);
  EXPECT_EQ(prefix[2].name, "mlx5_10");
  EXPECT_EQ(admitted_devices(parse_hca_list("--devices", "=mlx5_0,mlx5_1"), here).size(), 2u);
  const auto others = admitted_devices(parse_hca_list("--devices", "^mlx5_4"), here);
  EXPECT_EQ(others.size(), 4u);
  // Local rank i takes the i-th admitted device, round robin.
  const auto exact = parse_hca_list("--devices", "=mlx5_0,mlx5_2");
  EXPECT_EQ(device_for_local_rank("--devices", exact, here, 0).name, "mlx5_0");
  EXPECT_EQ(device_for_local_rank("--devices", exact, here, 1).name, "mlx5_2");
  EXPECT_EQ(device_for_local_rank("--devices", exact, here, 2).name, "mlx5_0");
  EXPECT_THROW(device_for_local_rank("--devices", parse_hca_list("--devices", "=rxe9"), here, 0),
               std::invalid_argument);
  EXPECT_THROW(parse_hca_list("--devices", "mlx5_0:0"), std::invalid_argument);
  EXPECT_THROW(parse_hca_list("--devices", "mlx5_0,,mlx5_1"), std::invalid_argument);
}

}  // namespace
}  // namespace fabtwin::verbs
