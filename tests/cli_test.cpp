// The command line as a user drives it: output they read, JSON they parse, exit codes CI checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_harness.hpp"
#include "iteration_stats.hpp"

namespace fabtwin::cli {
namespace {

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
  // Bandwidth-bound on a rail fabric: an algorithm that crosses hosts on every rail wins, not a flat ring.
  EXPECT_TRUE(rows[2].at("algorithm") == "hierarchical" || rows[2].at("algorithm") == "nccl-ring")
      << rows[2].at("algorithm");
}

TEST(Cli, SimAtClusterScaleUsesTheRingRoundModel) {
  const auto r = fabtwin({"sim", "--topology", "rail:hosts=512,gpus=8,hosts_per_leaf=32", "-b", "1GiB", "-e",
                          "1GiB", "--json", "-"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("run").at("model"), "ring-rounds");
  EXPECT_EQ(j.at("run").at("ranks"), 4096);
  EXPECT_GT(j.at("rows")[0].at("busbw_gbps").get<double>(), 0.0);
  // The tree's plan grows as n log n: at 4,096 ranks it is built and predicted as usual.
  const auto tree = fabtwin({"sim", "--topology", "rail:hosts=512,gpus=8,hosts_per_leaf=32", "--algo", "tree",
                             "-b", "1MiB", "-e", "1MiB"});
  EXPECT_EQ(tree.code, 0) << tree.err;
  // All-to-all pairs grow as n^2 (about 8e7 steps here) and have no round model: refused with the estimate.
  const auto direct = fabtwin({"sim", "--topology", "rail:hosts=512,gpus=8,hosts_per_leaf=32", "--algo",
                               "direct", "-b", "1MiB", "-e", "1MiB"});
  EXPECT_EQ(direct.code, 2);
  EXPECT_NE(direct.err.find("no round model"), std::string::npos) << direct.err;
  EXPECT_NE(direct.err.find("steps"), std::string::npos) << direct.err;
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
  r = fabtwin({"sim", "--topology", "fat-tree:k=4", "-b", "0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("at least 1 byte"), std::string::npos) << r.err;
  r = fabtwin({"sim", "--topology", "fat-tree:k=4", "--algo", "bogus"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("known: ring, tree"), std::string::npos) << r.err;
  r = fabtwin({"plan", "--ranks", "0"});
  EXPECT_EQ(r.code, 2);
}

// nccl-tests' letters mean what they mean there (-i additive steps, -J the JSON file) or are refused
// with fabtwin's equivalent; a pasted nccl-tests command line is never misread (-n 20 is not 20 ranks).
TEST(Cli, NcclTestsLettersMeanWhatTheyMeanThereOrAreRefused) {
  auto r =
      fabtwin({"sim", "--topology", "fat-tree:k=4", "-b", "1KiB", "-e", "4KiB", "-i", "1KiB", "-J", "-"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out).at("rows");
  ASSERT_EQ(rows.size(), 4u);  // 1, 2, 3, 4 KiB
  EXPECT_EQ(rows[2].at("size_bytes"), 3072);
  r = fabtwin({"sim", "--topology", "fat-tree:k=4", "-b", "1KiB", "-e", "2KiB", "--csv", "-"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("backend,collective,", 0), 0u) << r.out;  // the CSV alone, no table
  // The header and a row per size: a prediction's rows claim no in-place timing (the table repeats it).
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3);
  // -d all -o all: every type, within it every reduction, as nccl-tests sweeps (6 x 4 series x 2 sizes).
  r = fabtwin({"sim", "--topology", "fat-tree:k=4", "-b", "1KiB", "-e", "2KiB", "-d", "all", "-o", "all",
               "--csv", "-"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1 + 6 * 4 * 2);
  EXPECT_NE(r.out.find(",bfloat16,min,-1,2048,"), std::string::npos) << r.out;
  r = fabtwin({"sim", "--topology", "fat-tree:k=4", "-d", "all", "--json", "-"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("use --csv"), std::string::npos) << r.err;
  r = fabtwin({"sim", "--topology", "fat-tree:k=4", "-n", "20"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("-n: nccl-tests' timed iterations"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--ranks"), std::string::npos) << r.err;
  r = fabtwin({"sim", "-t", "fat-tree:k=4"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--topology"), std::string::npos) << r.err;
  r = fabtwin({"sim", "--topology", "fat-tree:k=4", "-a", "ring"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("the algorithm is --algo"), std::string::npos) << r.err;
  r = fabtwin({"sim", "--topology", "fat-tree:k=4", "-b", "1", "-e", "1GiB", "-i", "1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("makes 1073741824 sizes"), std::string::npos) << r.err;
}

// run -I: per iteration the slowest rank, then nccl-tests' summary. Worked by hand: the slowest of
// {1,2,3,4} and {2,1,5,1} us is {2,2,5,4}; skipping one leaves {2,5,4}: min 2, max 5, p99 (nearest
// rank, index min(2, (3*99+99)/100-1) = 2) 5, mean 11/3, population variance (25+16+1)/27 = 14/9, cv 34.01%.
TEST(Cli, PerIterationStatisticsAsNcclTestsComputesThem) {
  const auto s = per_iteration_stats({{1e-6, 2e-6, 3e-6, 4e-6}, {2e-6, 1e-6, 5e-6, 1e-6}}, 1);
  EXPECT_NEAR(s.at("min_us").get<double>(), 2.0, 1e-9);
  EXPECT_NEAR(s.at("max_us").get<double>(), 5.0, 1e-9);
  EXPECT_NEAR(s.at("p99_us").get<double>(), 5.0, 1e-9);
  EXPECT_NEAR(s.at("cv_pct").get<double>(), 100.0 * std::sqrt(14.0 / 9.0) / (11.0 / 3.0), 1e-9);
  EXPECT_NEAR(s.at("cv_pct").get<double>(), 34.01, 0.01);
  EXPECT_EQ(s.at("skipped_iterations"), 1);
  EXPECT_THROW(per_iteration_stats({{1e-6}}, 1), std::invalid_argument);
}

TEST(Cli, PlansTooLargeToHoldAreRefusedUpFront) {
  const auto r = fabtwin({"plan", "--algo", "direct", "--ranks", "20000", "--size", "1MiB"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("would have about"), std::string::npos) << r.err;
}

TEST(Cli, CollectivesWithoutAReductionPrintRedopNone) {
  const auto r = fabtwin({"sim", "--topology", "fat-tree:k=4", "--collective", "all_gather", "-b", "1MiB",
                          "-e", "1MiB", "--json", "-"});
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

TEST(Cli, PacketBackendPrintsTheTableAndTheFabricFigures) {
  const auto r =
      fabtwin({"sim", "--backend", "packet", "--topology", "fat-tree:tiers=2,hosts=8,hosts_per_leaf=4", "-b",
               "64KiB", "-e", "1MiB", "-f", "4", "--json", "-"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("run").at("backend"), "packet");
  EXPECT_EQ(j.at("run").at("model"), "packet");
  EXPECT_EQ(j.at("run").at("packet").at("fabric"), "roce");
  EXPECT_EQ(j.at("run").at("packet").at("cc"), "dcqcn");
  ASSERT_EQ(j.at("rows").size(), 3u);
  for (const auto& row : j.at("rows")) {
    EXPECT_EQ(row.at("backend"), "packet");
    EXPECT_GT(row.at("busbw_gbps").get<double>(), 0.0);
    for (const char* f : {"busiest_links", "peak_queue_bytes", "pfc_pauses", "drops", "retransmitted_packets",
                          "events", "packet_hops", "simulated_s"}) {
      EXPECT_TRUE(row.at("fabric").contains(f)) << f;
    }
  }
  const auto table =
      fabtwin({"sim", "--backend", "packet", "--topology", "fat-tree:tiers=2,hosts=8,hosts_per_leaf=4", "-b",
               "1MiB", "-e", "1MiB", "--routing", "spray", "--fabric", "ib"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("# packet model: ib, routing spray, congestion control none"), std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("PFC pauses 0; drops 0"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("M packet-hops/s"), std::string::npos) << table.out;
}

TEST(Cli, FlowBackendPrintsTheTableTheModelAndItsFigures) {
  const std::string topo = "fat-tree:tiers=2,hosts=8,hosts_per_leaf=4";
  const auto r = fabtwin({"sim", "--backend", "flow", "--topology", topo, "-b", "64KiB", "-e", "1MiB", "-f",
                          "4", "--json", "-"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("run").at("backend"), "flow");
  EXPECT_EQ(j.at("run").at("model"), "flow");
  EXPECT_NE(j.at("run").at("flow").at("model").get<std::string>().find("CM02"), std::string::npos);
  ASSERT_EQ(j.at("rows").size(), 3u);
  for (const auto& row : j.at("rows")) {
    for (const char* f :
         {"busiest_links", "flows", "rerouted_flows", "simulated_s", "wall_s", "peak_memory_bytes"}) {
      EXPECT_TRUE(row.at("fabric").contains(f)) << f;
    }
  }
  const auto table = fabtwin({"sim", "--backend", "flow", "--topology", topo, "-b", "1MiB", "-e", "1MiB",
                              "--routing", "spray", "--fail", "leaf0/spine1@10us"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("# flow model: SimGrid"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("routing spray"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("# what-if: leaf0/spine1 fails at 10us"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("flows ("), std::string::npos) << table.out;
  // The packet model's queue and congestion settings mean nothing to flows: refused, naming what it reads.
  const auto pfc = fabtwin({"sim", "--backend", "flow", "--topology", topo, "--pfc", "off"});
  EXPECT_EQ(pfc.code, 2);
  EXPECT_NE(pfc.err.find("--pfc applies to the packet backend only"), std::string::npos) << pfc.err;
  EXPECT_NE(pfc.err.find("--routing, --fail, --degrade"), std::string::npos) << pfc.err;
  // Cutting a host off leaves its flows without a path: a simulation that cannot finish, exit 1.
  const auto cut = fabtwin({"sim", "--backend", "flow", "--topology", topo, "-b", "1MiB", "-e", "1MiB",
                            "--fail", "h0.nic0/leaf0@0s"});
  EXPECT_EQ(cut.code, 1) << cut.err;
  EXPECT_NE(cut.err.find("no path from participant 0"), std::string::npos) << cut.err;
}

TEST(Cli, PacketRunsAreDeterministicForASeed) {
  auto once = [](const std::string& seed) {
    auto r = fabtwin({"sim", "--backend", "packet", "--topology", "fat-tree:tiers=2,hosts=8,hosts_per_leaf=2",
                      "-b", "256KiB", "-e", "256KiB", "--algo", "direct", "--seed", seed, "--json", "-"});
    EXPECT_EQ(r.code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    j.at("rows")[0].at("fabric").erase("wall_s");
    return j.at("rows").dump();
  };
  EXPECT_EQ(once("3"), once("3"));
}

TEST(Cli, PacketWhatIfsAndTheirErrors) {
  const std::string topo = "fat-tree:tiers=2,hosts=8,hosts_per_leaf=4";
  const auto slow = fabtwin({"sim", "--backend", "packet", "--topology", topo, "-b", "4MiB", "-e", "4MiB",
                             "--degrade", "leaf0/spine0@0s=0.5", "--fail", "leaf1/spine1@10us"});
  ASSERT_EQ(slow.code, 0) << slow.err;
  EXPECT_NE(slow.out.find("# what-if: leaf0/spine0 runs at 0.5"), std::string::npos) << slow.out;
  EXPECT_NE(slow.out.find("# what-if: leaf1/spine1 fails at 10us"), std::string::npos) << slow.out;
  // Cutting a host off is a simulation that cannot finish: exit 1 and the queue pair it stuck on.
  const auto cut = fabtwin({"sim", "--backend", "packet", "--topology", topo, "-b", "1MiB", "-e", "1MiB",
                            "--fail", "h0.nic0/leaf0@5us"});
  EXPECT_EQ(cut.code, 1);
  EXPECT_NE(cut.err.find("simulation failed"), std::string::npos) << cut.err;
  EXPECT_NE(cut.err.find("rank 0"), std::string::npos) << cut.err;
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"--fail", "leaf0-spine0@1us"}, "link event \"leaf0-spine0@1us\""},
      {{"--fail", "leaf0/spine9@1us"}, "no node named \"spine9\""},
      {{"--fail", "leaf0/spine0@1us=0.5"}, "use --degrade"},
      {{"--degrade", "leaf0/spine0@1us"}, "give the rate factor"},
      {{"--fabric", "ib", "--pfc", "off"}, "--pfc off"},
      {{"--pfc-xon", "1MiB"}, "--pfc-xon"},
      {{"--ecn-kmin", "1MiB"}, "--ecn-kmin"},
      {{"--credit-buffer", "1KiB"}, "--credit-buffer"},
      {{"--rto", "0s"}, "--rto"},
      {{"--switch-buffer", "lots"}, "--switch-buffer"},
  };
  for (const auto& [extra, message] : bad) {
    std::vector<std::string> args = {"sim", "--backend", "packet", "--topology", topo,
                                     "-b",  "1KiB",      "-e",     "1KiB"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = fabtwin(args);
    EXPECT_EQ(r.code, 2) << extra[0] << ": " << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  }
  const auto analytic = fabtwin({"sim", "--topology", topo, "--routing", "spray"});
  EXPECT_EQ(analytic.code, 2);
  EXPECT_NE(analytic.err.find("--routing applies to the packet and flow backends only"), std::string::npos)
      << analytic.err;
}

TEST(Cli, TopoExportAndDotGoToStandardOutputForDash) {
  const auto exported = fabtwin({"topo", "--topology", "fat-tree:k=4", "--export", "-"});
  ASSERT_EQ(exported.code, 0) << exported.err;
  EXPECT_EQ(nlohmann::json::parse(exported.out).at("nodes").size(), 16u * 2 + 20u);
  const auto dot = fabtwin({"topo", "--topology", "fat-tree:k=4", "--dot", "-"});
  ASSERT_EQ(dot.code, 0) << dot.err;
  EXPECT_EQ(dot.out.rfind("graph ", 0), 0u) << dot.out.substr(0, 80);
}

}  // namespace
}  // namespace fabtwin::cli
