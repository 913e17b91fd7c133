// The command line as a user drives it: output they read, JSON they parse, exit codes CI checks.
#include "cli.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace fabtwin::cli {
namespace {

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome fabtwin(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = run(args, out, err);
  return {code, out.str(), err.str()};
}

TEST(Cli, VersionNamesTheRevision) {
  const auto r = fabtwin({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("fabtwin 0.1.0 (git "), std::string::npos) << r.out;
}

TEST(Cli, TopoJsonHasTheDocumentedFields) {
  const auto r = fabtwin({"topo", "--topology", "fat-tree:k=4", "--json", "-"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("nics"), 16);
  EXPECT_EQ(j.at("switches"), 20);
  EXPECT_EQ(j.at("switches_per_tier"), nlohmann::json::array({8, 8, 4}));
  EXPECT_EQ(j.at("diameter_hops"), 6);
  EXPECT_DOUBLE_EQ(j.at("bisection_bandwidth_bps").get<double>(), 8 * 400e9);
  for (const char* f : {"hosts", "gpus", "links"}) EXPECT_TRUE(j.contains(f)) << f;
}

TEST(Cli, BadTopologySpecIsAnErrorNamingTheKey) {
  const auto r = fabtwin({"topo", "--topology", "fat-tree:k=5"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("k"), std::string::npos) << r.err;
  const auto missing = fabtwin({"topo", "--topology", "/nonexistent/fabric.json"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("/nonexistent/fabric.json"), std::string::npos) << missing.err;
}

TEST(Cli, PlanVerifyPasses) {
  const auto r = fabtwin({"plan", "--algo", "ring", "--ranks", "16", "--size", "1MiB", "--verify"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("plan      all_reduce/ring, 16 ranks, 1MiB float sum (262144 elements)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("verify    PASS: 4194304 elements checked"), std::string::npos) << r.out;
}

TEST(Cli, PlanOnATopologyNamesTheBusiestLink) {
  const auto r =
      fabtwin({"plan", "--algo", "ring", "--size", "64MiB", "--topology", "fat-tree:k=4,oversub=2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("busiest   "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("predicted "), std::string::npos) << r.out;
}

TEST(Cli, SimPrintsOneRowPerSizeAndJsonWithTheSameRows) {
  const auto r =
      fabtwin({"sim", "--topology", "fat-tree:k=4", "-b", "8", "-e", "1MiB", "-f", "4", "--json", "-"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.at("rows").size(), 9u);  // 8, 32, ..., 524288 (x4 each)
  EXPECT_EQ(j.at("rows")[0].at("size_bytes"), 8);
  EXPECT_EQ(j.at("rows")[0].at("count"), 2);
  EXPECT_EQ(j.at("schema"), "fabtwin-results");
  EXPECT_EQ(j.at("run").at("ranks"), 16);
  const auto table = fabtwin({"sim", "--topology", "fat-tree:k=4", "-b", "8", "-e", "1MiB", "-f", "4"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("busbw"), std::string::npos);
  EXPECT_NE(table.out.find("busiest links"), std::string::npos);
}

TEST(Cli, SimAutoSaysWhichAlgorithmWonEachSize) {
  const auto r = fabtwin({"sim", "--topology", "rail:hosts=4,gpus=8,hosts_per_leaf=4", "--algo", "auto", "-b",
                          "1KiB", "-e", "256MiB", "-f", "256", "--json", "-"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out).at("rows");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_NE(rows[0].at("algorithm"), "ring");  // latency-bound: fewer rounds win
  EXPECT_EQ(rows[2].at("algorithm"), "hierarchical");
}

TEST(Cli, SimAtClusterScaleUsesTheRingRoundModel) {
  const auto r = fabtwin({"sim", "--topology", "rail:hosts=512,gpus=8,hosts_per_leaf=32", "-b", "1GiB", "-e",
                          "1GiB", "--json", "-"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("run").at("model"), "ring-rounds");
  EXPECT_EQ(j.at("run").at("ranks"), 4096);
  EXPECT_GT(j.at("rows")[0].at("busbw_gbps").get<double>(), 0.0);
  const auto tree =
      fabtwin({"sim", "--topology", "rail:hosts=512,gpus=8,hosts_per_leaf=32", "--algo", "tree"});
  EXPECT_EQ(tree.code, 2);
  EXPECT_NE(tree.err.find("only ring has a closed-form model"), std::string::npos) << tree.err;
}

TEST(Cli, BadValuesAreErrorsNamingTheOption) {
  auto r = fabtwin({"sim", "-b", "1GiB", "-e", "1MiB"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("-e/--maxbytes"), std::string::npos) << r.err;
  r = fabtwin({"sim", "-b", "12parsecs"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("-b/--minbytes"), std::string::npos) << r.err;
  r = fabtwin({"plan", "--dtype", "float128"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--dtype"), std::string::npos) << r.err;
  r = fabtwin({"sim", "--topology", "fat-tree:k=4", "--ranks", "99"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--ranks 99"), std::string::npos) << r.err;
  r = fabtwin({"sim", "--backend", "quantum"});
  EXPECT_EQ(r.code, 2);
  r = fabtwin({"frobnicate"});
  EXPECT_EQ(r.code, 2);
}

}  // namespace
}  // namespace fabtwin::cli

namespace fabtwin::cli {
namespace {

TEST(Cli, OptionsThatDoNotApplyAreErrorsNotSilentlyIgnored) {
  auto r = fabtwin({"plan", "--inplace"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--inplace applies to --verify"), std::string::npos) << r.err;
  r = fabtwin({"plan", "--ranks-per-host", "4", "--topology", "fat-tree:k=4"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--ranks-per-host applies without --topology"), std::string::npos) << r.err;
  r = fabtwin({"sim", "-t", "fat-tree:k=4", "-b", "0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("at least 1 byte"), std::string::npos) << r.err;
  r = fabtwin({"sim", "-t", "fat-tree:k=4", "--algo", "bogus"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("known: ring, tree"), std::string::npos) << r.err;
  r = fabtwin({"plan", "--ranks", "0"});
  EXPECT_EQ(r.code, 2);
}

TEST(Cli, PlansTooLargeToHoldAreRefusedUpFront) {
  const auto r = fabtwin({"plan", "--algo", "direct", "--ranks", "20000", "--size", "1MiB"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("would have about"), std::string::npos) << r.err;
}

TEST(Cli, CollectivesWithoutAReductionPrintRedopNone) {
  const auto r = fabtwin(
      {"sim", "-t", "fat-tree:k=4", "--collective", "all_gather", "-b", "1MiB", "-e", "1MiB", "--json", "-"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto row = nlohmann::json::parse(r.out).at("rows")[0];
  EXPECT_EQ(row.at("op"), "none");
  EXPECT_EQ(row.at("size_bytes"), 1 << 20);
  EXPECT_EQ(row.at("count"), (1 << 20) / 4 / 16);  // per rank, as nccl-tests prints it
}

TEST(Cli, LargeRankCountsStillPairEveryTransferExactly) {
  // 100,000 ranks: rank-pair keys must not collide (they once shared a 64-bit packing).
  const auto r = fabtwin({"plan", "--algo", "recursive-doubling", "--ranks", "100000", "--size", "8"});
  EXPECT_EQ(r.code, 0) << r.err;
}

}  // namespace
}  // namespace fabtwin::cli
