// Which rank am I: the command line first, then the launchers clusters use.
#include <gtest/gtest.h>

#include <map>

#include "fabtwin/verbs/bootstrap.hpp"

namespace fabtwin::verbs {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Launch, CommandLineWinsOverTheEnvironment) {
  const auto info = detect_launch(2, 4, "node1:5000",
                                  env_of({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "8"}}));
  EXPECT_EQ(info.rank, 2);
  EXPECT_EQ(info.world, 4);
  EXPECT_EQ(info.root, "node1:5000");
  EXPECT_EQ(info.source, "command line");
}

TEST(Launch, ReadsOpenMpiThenPmiThenSlurm) {
  const auto ompi = detect_launch(-1, -1, "h:1",
                                  env_of({{"OMPI_COMM_WORLD_RANK", "3"},
                                          {"OMPI_COMM_WORLD_SIZE", "4"},
                                          {"SLURM_PROCID", "0"},
                                          {"SLURM_NTASKS", "2"}}));
  EXPECT_EQ(ompi.rank, 3);
  EXPECT_EQ(ompi.world, 4);
  EXPECT_EQ(ompi.source, "Open MPI");
  const auto pmi = detect_launch(
      -1, -1, "h:1",
      env_of({{"PMI_RANK", "1"}, {"PMI_SIZE", "2"}, {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}}));
  EXPECT_EQ(pmi.rank, 1);
  EXPECT_EQ(pmi.source, "PMI");
  const auto slurm = detect_launch(
      -1, -1, "", env_of({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "6"}, {"FABTWIN_ROOT", "head:7000"}}));
  EXPECT_EQ(slurm.rank, 5);
  EXPECT_EQ(slurm.world, 6);
  EXPECT_EQ(slurm.root, "head:7000");
  EXPECT_EQ(slurm.source, "Slurm");
}

// mpirun inside an sbatch allocation leaves both sets of variables: the first launcher wins, loudly.
TEST(Launch, DisagreeingLaunchersAreNamedInAWarning) {
  const auto info = detect_launch(-1, -1, "h:1",
                                  env_of({{"OMPI_COMM_WORLD_RANK", "3"},
                                          {"OMPI_COMM_WORLD_SIZE", "4"},
                                          {"PMI_RANK", "3"},
                                          {"PMI_SIZE", "4"},
                                          {"SLURM_PROCID", "0"},
                                          {"SLURM_NTASKS", "2"}}));
  EXPECT_EQ(info.rank, 3);
  ASSERT_EQ(info.warnings.size(), 1u);
  EXPECT_NE(info.warnings[0].find(
                "Slurm says rank 0 of 2 (SLURM_PROCID, SLURM_NTASKS) but Open MPI says rank 3 of 4: "
                "using Open MPI's"),
            std::string::npos)
      << info.warnings[0];
  EXPECT_TRUE(detect_launch(-1, -1, "h:1", env_of({{"PMI_RANK", "1"}, {"PMI_SIZE", "2"}})).warnings.empty());
}

TEST(Launch, TheJobTokenComesFromTheOptionTheVariableOrTheJobId) {
  const auto slurm = env_of(
      {{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}, {"SLURM_JOB_ID", "4242"}, {"SLURM_STEP_ID", "0"}});
  EXPECT_EQ(detect_launch(-1, -1, "h:1", slurm).token, "slurm:4242.0");
  EXPECT_EQ(detect_launch(-1, -1, "h:1", slurm, "mine").token, "mine");
  EXPECT_EQ(detect_launch(-1, -1, "h:1", env_of({{"PMIX_NAMESPACE", "prterun-x-1@1"}})).token,
            "pmix:prterun-x-1@1");
  EXPECT_EQ(detect_launch(-1, -1, "h:1", env_of({{"FABTWIN_TOKEN", "t"}, {"SLURM_JOB_ID", "1"}})).token, "t");
  EXPECT_EQ(detect_launch(-1, -1, "", env_of({})).token, "");
}

TEST(Launch, NoLauncherIsAJobOfOne) {
  const auto info = detect_launch(-1, -1, "", env_of({}));
  EXPECT_EQ(info.rank, 0);
  EXPECT_EQ(info.world, 1);
}

void expect_error(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    FAIL() << "expected an error containing \"" << fragment << "\"";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Launch, ErrorsNameTheOptionOrVariable) {
  expect_error([] { detect_launch(1, -1, "h:1", env_of({})); }, "--rank and --world go together");
  expect_error([] { detect_launch(4, 4, "h:1", env_of({})); }, "not below the world size 4");
  expect_error([] { detect_launch(0, 2, "", env_of({})); }, "--root HOST:PORT (or FABTWIN_ROOT) is required");
  expect_error([] { detect_launch(-1, -1, "h:1", env_of({{"PMI_RANK", "0"}})); }, "PMI_SIZE is unset");
  expect_error(
      [] {
        detect_launch(-1, -1, "h:1", env_of({{"SLURM_PROCID", "x"}, {"SLURM_NTASKS", "2"}}));
      },
      "SLURM_PROCID: expected a non-negative integer");
  expect_error([] { detect_launch(0, 2, "nohostport", env_of({})); }, "--root: expected HOST:PORT");
  expect_error(
      [] {
        detect_launch(-1, -1, "", env_of({{"PMI_RANK", "0"}, {"PMI_SIZE", "2"}, {"FABTWIN_ROOT", "h:0"}}));
      },
      "FABTWIN_ROOT: port must be 1..65535");
}

TEST(Launch, HostPortForms) {
  EXPECT_EQ(parse_host_port("--root", "10.0.0.1:5000"),
            (std::pair<std::string, std::uint16_t>{"10.0.0.1", 5000}));
  EXPECT_EQ(parse_host_port("--root", "[fe80::1]:80"),
            (std::pair<std::string, std::uint16_t>{"fe80::1", 80}));
  EXPECT_THROW(parse_host_port("--root", "[fe80::1]80"), std::invalid_argument);
  EXPECT_THROW(parse_host_port("--root", "host:70000"), std::invalid_argument);
}

}  // namespace
}  // namespace fabtwin::verbs
