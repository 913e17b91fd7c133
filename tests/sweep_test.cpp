// What-if sweeps: the matrix expanded into named, hashed runs; shards that together run every run
// once; a second call that runs only what is missing; the merged ranking.
#include "fabtwin/experiment/sweep.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cli_harness.hpp"
#include "fabtwin/files.hpp"

namespace fabtwin::experiment {
namespace {

const char* const kMatrix = R"({
  "sizes": {"min": "64KiB", "max": "1MiB", "factor": 4},
  "topologies": {"ft": "fat-tree:tiers=2,hosts=8,hosts_per_leaf=4", "ft2to1": "fat-tree:tiers=2,hosts=8,hosts_per_leaf=4,oversub=2"},
  "algorithms": ["ring", "direct"],
  "backends": ["analytic", "flow"],
  "routing": ["ecmp", "spray"]
})";

TEST(Sweep, TheMatrixExpandsIntoNamedHashedRunsLeavingOutWhatCannotRun) {
  const Sweep s = expand_sweep(kMatrix, "m.json");
  // 2 topologies x 2 algorithms x (analytic, flow/ecmp, flow/spray): analytic has no spraying.
  ASSERT_EQ(s.runs.size(), 12u);
  EXPECT_EQ(s.skipped.size(), 4u);
  std::set<std::string> names, hashes;
  for (const auto& r : s.runs) {
    names.insert(r.name);
    hashes.insert(r.hash);
    EXPECT_EQ(r.hash.size(), 16u);
  }
  EXPECT_EQ(names.size(), 12u);
  EXPECT_EQ(hashes.size(), 12u);
  // The analytic model has no routing modes: its runs leave that label out.
  EXPECT_EQ(s.runs[0].name, "ft-ring-analytic");
  EXPECT_EQ(s.runs[1].name, "ft-ring-flow-ecmp");
  EXPECT_EQ(s.runs[2].name, "ft-ring-flow-spray");
  const std::vector<std::string> first = {
      "--collective", "all_reduce", "--topology", "fat-tree:tiers=2,hosts=8,hosts_per_leaf=4",
      "--algo",       "ring",       "--backend",  "analytic",
      "--seed",       "0",          "-b",         "64KiB",
      "-e",           "1MiB",       "-f",         "4"};
  EXPECT_EQ(s.runs.front().args, first);
  // The same file hashes alike; a changed value renames only the runs it is part of.
  EXPECT_EQ(expand_sweep(kMatrix, "m.json").runs[5].hash, s.runs[5].hash);
  std::string changed = kMatrix;
  changed.replace(changed.find("oversub=2"), 9, "oversub=4");
  const Sweep c = expand_sweep(changed, "m.json");
  for (std::size_t i = 0; i < s.runs.size(); ++i) {
    EXPECT_EQ(c.runs[i].hash == s.runs[i].hash, s.runs[i].name.rfind("ft-", 0) == 0) << s.runs[i].name;
  }
}

TEST(Sweep, BadSweepFilesNameTheField) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"sizes": {"min": "1KiB", "max": "1MiB"}, "topologies": {"a": "fat-tree:k=4"}, "algorithms": ["ring"], "size": 1})",
       "\"size\" is not a sweep key"},
      {R"({"sizes": {"min": "1KiB", "max": "1MiB"}, "topologies": {}, "algorithms": ["ring"]})",
       "\"topologies\""},
      {R"({"sizes": {"min": "1KiB", "max": "1MiB"}, "topologies": {"a b": "x"}, "algorithms": ["ring"]})",
       "label \"a b\""},
      {R"({"sizes": {"min": "lots", "max": "1MiB"}, "topologies": {"a": "x"}, "algorithms": ["ring"]})",
       "\"sizes.min\""},
      {R"({"sizes": {"min": "1KiB", "max": "1MiB"}, "topologies": {"a": "x"}, "algorithms": ["ring", "ring"]})",
       "twice"},
      {R"({"sizes": {"min": "1KiB", "max": "1MiB"}, "topologies": {"a": "x"}, "algorithms": ["ring"], "what_ifs": {"w": {"cut": []}}})",
       "(known: fail, degrade)"},
      {R"({"sizes": {"min": "1KiB", "max": "1MiB"}, "topologies": {"a": "x"}})", "\"algorithms\" is missing"},
      {"[1, 2]", "one JSON object"},
      {R"({"sizes": {"min": "1KiB", "max": "1MiB"}, "topologies": {"a-b": "x", "a": "y"}, "algorithms": ["c", "b-c"]})",
       "both be named \"a-b-c-analytic\""},
  };
  for (const auto& [text, message] : bad) {
    try {
      expand_sweep(text, "bad.json");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
    }
  }
  std::string seeds =
      R"({"sizes": {"min": "1KiB", "max": "1MiB"}, "topologies": {"a": "x", "b": "y"}, "algorithms": ["ring"], "seeds": [)";
  for (int i = 0; i < 60000; ++i) {
    if (i > 0) seeds += ',';
    seeds += std::to_string(i);
  }
  seeds += "]}";
  try {
    expand_sweep(seeds, "big.json");
    ADD_FAILURE() << "a matrix of 120000 runs was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("expands into 120000 runs"), std::string::npos) << e.what();
  }
}

TEST(Sweep, ShardsTogetherTakeEveryRunExactlyOnce) {
  const Sweep s = expand_sweep(kMatrix, "m.json");
  std::map<std::size_t, int> taken;
  for (std::size_t task = 0; task < 2; ++task) {
    const Shard shard{task, 2, "test"};
    for (const auto& r : s.runs) {
      if (shard.takes(r)) ++taken[r.index];
    }
  }
  ASSERT_EQ(taken.size(), s.runs.size());
  for (const auto& [index, times] : taken) EXPECT_EQ(times, 1) << index;
}

TEST(Sweep, TheShardComesFromTheOptionSlurmOrMpi) {
  auto from = [](std::map<std::string, std::string> vars, const std::string& option = "") {
    return shard_of(option, [vars](const char* name) -> const char* {
      const auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    });
  };
  EXPECT_EQ(from({}).tasks, 1u);
  const Shard array =
      from({{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_MIN", "4"}, {"SLURM_ARRAY_TASK_COUNT", "3"}});
  EXPECT_EQ(array.task, 1u);
  EXPECT_EQ(array.tasks, 3u);
  const Shard srun = from({{"SLURM_PROCID", "2"}, {"SLURM_NTASKS", "4"}, {"OMPI_COMM_WORLD_RANK", "0"}});
  EXPECT_EQ(srun.task, 2u);
  EXPECT_EQ(srun.source, "SLURM_PROCID");
  const Shard mpi = from({{"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "8"}});
  EXPECT_EQ(mpi.task, 3u);
  EXPECT_EQ(from({{"SLURM_PROCID", "9"}}, "1/4").task, 1u);  // the option wins
  EXPECT_THROW(from({}, "4/4"), std::invalid_argument);
  EXPECT_THROW(from({}, "one/4"), std::invalid_argument);
  EXPECT_THROW(from({{"SLURM_PROCID", "2"}}), std::invalid_argument);
  EXPECT_THROW(from({{"SLURM_ARRAY_TASK_ID", "2"}}), std::invalid_argument);
}

TEST(Sweep, RunsResumesAndMerges) {
  char dir_template[] = "/tmp/fabtwin-sweep-XXXXXX";
  const std::string dir = ::mkdtemp(dir_template);
  const std::string file = dir + "/matrix.json";
  write_file_atomically(file, kMatrix);
  const std::string out = dir + "/runs";
  const auto first = cli::fabtwin({"sweep", file, "-o", out, "--jobs", "2"});
  ASSERT_EQ(first.code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("takes 12: 0 done before, 12 run now, 0 failed"), std::string::npos) << first.out;
  // Two shards after the first: nothing is left to run.
  const auto again = cli::fabtwin({"sweep", file, "-o", out, "--shard", "1/2"});
  EXPECT_NE(again.out.find("takes 6: 6 done before, 0 run now"), std::string::npos) << again.out;
  // A run whose results went missing (an interrupted task) runs again, alone.
  const Sweep s = expand_sweep(kMatrix, file);
  std::remove((out + "/" + s.runs[3].file_stem() + ".json").c_str());
  const auto resumed = cli::fabtwin({"sweep", file, "-o", out});
  EXPECT_NE(resumed.out.find("11 done before, 1 run now, 0 failed"), std::string::npos) << resumed.out;
  const auto merged = cli::fabtwin({"sweep", file, "-o", out, "--merge", "--json", "-"});
  ASSERT_EQ(merged.code, 0) << merged.err;
  EXPECT_NE(merged.out.find("12 of 12 runs have results"), std::string::npos) << merged.out;
  const auto j = nlohmann::json::parse(merged.out.substr(merged.out.find('{')));
  ASSERT_EQ(j.at("ranking").size(), 3u);  // 64 KiB, 256 KiB, 1 MiB
  const auto& designs = j.at("ranking")[0].at("designs");
  ASSERT_EQ(designs.size(), 12u);
  for (std::size_t k = 1; k < designs.size(); ++k) {
    EXPECT_GE(designs[k - 1].at("busbw_gbps").get<double>(), designs[k].at("busbw_gbps").get<double>());
  }
  std::remove((out + "/" + s.runs[0].file_stem() + ".json").c_str());
  const auto partial = cli::fabtwin({"sweep", file, "-o", out, "--merge"});
  EXPECT_EQ(partial.code, 1);
  EXPECT_NE(partial.out.find("# missing " + s.runs[0].name), std::string::npos) << partial.out;
  // Unusable input: exit 2, naming the file or the option.
  const auto missing_file = cli::fabtwin({"sweep", dir + "/none.json", "-o", out});
  EXPECT_EQ(missing_file.code, 2);
  EXPECT_NE(missing_file.err.find("none.json"), std::string::npos) << missing_file.err;
  const auto plot_alone = cli::fabtwin({"sweep", file, "-o", out, "--plot", dir + "/p.png"});
  EXPECT_EQ(plot_alone.code, 2);
  EXPECT_NE(plot_alone.err.find("--plot and --json go with --merge"), std::string::npos) << plot_alone.err;
  const auto not_a_folder = cli::fabtwin({"sweep", file, "-o", file});
  EXPECT_EQ(not_a_folder.code, 2);
  EXPECT_NE(not_a_folder.err.find("is not a folder"), std::string::npos) << not_a_folder.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fabtwin::experiment
