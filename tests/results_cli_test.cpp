// import-nccl, compare, calibrate and check as CI drives them: exit codes, the tables they print and
// the files they write, including every kind of unusable input.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_harness.hpp"
#include "gtest/gtest.h"

namespace fabtwin::cli {
namespace {

namespace fs = std::filesystem;

const std::string kData = std::string(FABTWIN_SOURCE_DIR) + "/tests/data/";

class ResultsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("fabtwin-cli-" + std::string(info->name()) + "-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // The measured all-reduce of 2 DGX H100 hosts, imported.
  std::string measured() {
    const std::string out = path("measured.json");
    const auto r = fabtwin({"import-nccl", kData + "nccl-tests/all_reduce_perf_2node_h100.log", "-o", out});
    EXPECT_EQ(r.code, 0) << r.err;
    return out;
  }
  std::string sim(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args = {"sim", "--topology", "fat-tree:k=4", "--json", path(name)};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = fabtwin(args);
    EXPECT_EQ(r.code, 0) << r.err;
    return path(name);
  }
  fs::path dir_;
};

TEST_F(ResultsCli, ImportWritesAResultsFileAndSaysWhat) {
  const auto r =
      fabtwin({"import-nccl", kData + "nccl-tests/all_reduce_perf_2node_h100.log", "-o", path("m.json")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("imported 28 sizes of all_reduce (float sum) over 16 ranks on NVIDIA H100 80GB HBM3"),
            std::string::npos)
      << r.out;
  std::ifstream f(path("m.json"));
  const auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j.at("schema"), "fabtwin-results");
  EXPECT_EQ(j.at("rows")[0].at("correctness"), "pass");
}

TEST_F(ResultsCli, ImportRefusesAnotherVersionWithExitTwo) {
  for (const char* log : {"all_reduce_perf_3.0.0.log", "all_reduce_perf_truncated.log"}) {
    const auto r = fabtwin({"import-nccl", kData + "nccl-tests/" + log, "-o", path("x.json")});
    EXPECT_EQ(r.code, 2) << log;
    EXPECT_NE(r.err.find(log), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(path("x.json"))) << "a refused log wrote a file";
  }
}

// `all_reduce_perf ... | fabtwin import-nccl - -o r.json`: the log on standard input, the rank count
// read back from the published numbers and said.
TEST_F(ResultsCli, ImportReadsStandardInputAndSaysWhereTheRankCountCameFrom) {
  const int saved = ::dup(STDIN_FILENO);
  const int log = ::open((kData + "nccl-tests/published_markdown_no_ranks.md").c_str(), O_RDONLY);
  ASSERT_GE(log, 0);
  ::dup2(log, STDIN_FILENO);
  const auto r = fabtwin({"import-nccl", "-", "-o", path("s.json")});
  ::dup2(saved, STDIN_FILENO);
  ::close(log);
  ::close(saved);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("from standard input"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("note: 16 ranks inferred: busbw/algbw = 2(n-1)/n = 1.8750"), std::string::npos)
      << r.out;
  std::ifstream f(path("s.json"));
  EXPECT_EQ(nlohmann::json::parse(f).at("run").at("ranks"), 16);
}

// A -d all log split into one file per type; the nccl-tests -J file compare is handed goes through
// import-nccl, which compare's refusal names.
TEST_F(ResultsCli, ImportSplitsSeriesAndReadsNcclTestsJson) {
  const auto r = fabtwin(
      {"import-nccl", kData + "nccl-tests/all_gather_perf_d_all.log", "-o", path("ag.json"), "--split"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(path("ag.half.none.json")));
  EXPECT_TRUE(fs::exists(path("ag.float.none.json")));
  EXPECT_NE(r.out.find("-> " + path("ag.float.none.json")), std::string::npos) << r.out;
  const std::string json = kData + "nccl-tests/all_reduce_perf_2.19.6.json";
  const auto refused = fabtwin({"compare", json, path("ag.float.none.json")});
  EXPECT_EQ(refused.code, 2);
  EXPECT_NE(refused.err.find("an nccl-tests -J file"), std::string::npos) << refused.err;
  const auto imported = fabtwin({"import-nccl", json, "-o", path("j.json")});
  ASSERT_EQ(imported.code, 0) << imported.err;
  EXPECT_NE(imported.out.find("imported 2 sizes of all_reduce (float sum) over 16 ranks"), std::string::npos)
      << imported.out;
  EXPECT_EQ(fabtwin({"import-nccl", json, "-o", "-", "--split"}).code, 2);
  // --csv beside the results file: the header and a row per size and placement (2 sizes x 2).
  const auto csv = fabtwin({"import-nccl", json, "-o", path("j2.json"), "--csv", path("j.csv")});
  ASSERT_EQ(csv.code, 0) << csv.err;
  std::ifstream in(path("j.csv"));
  int lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  EXPECT_EQ(lines, 5);
  EXPECT_EQ(fabtwin({"import-nccl", json, "-o", "-", "--csv", "-"}).code, 2);
}

// sim prints nccl-tests' own table (both placements, #wrong N/A for a prediction, the footer), and
// that table imports back to the rows sim wrote as JSON: same sizes, algorithms, protocols, channels,
// ranks, and times within the printed digits.
TEST_F(ResultsCli, SimPrintsNcclTestsTableThatImportsBackToItsRows) {
  const std::string json = path("sim.json");
  const auto r = fabtwin({"sim", "--topology", "rail:hosts=2,hosts_per_leaf=2,node=dgx-h100", "--algo",
                          "nccl", "-b", "8", "-e", "1GiB", "-f", "32", "--json", json});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(
      r.out.find("#       size         count      type   redop    root     time   algbw   busbw  #wrong     "
                 "time   algbw   busbw  #wrong      algo     proto   nchannels"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("# Out of bounds values : 0 OK\n# Avg bus bandwidth    : "), std::string::npos)
      << r.out;
  {
    std::ofstream log(path("sim.log"));
    log << r.out;
  }
  const auto back = fabtwin({"import-nccl", path("sim.log"), "-o", path("back.json")});
  ASSERT_EQ(back.code, 0) << back.err;
  std::ifstream a(json), b(path("back.json"));
  const auto simulated = nlohmann::json::parse(a);
  const auto imported = nlohmann::json::parse(b);
  EXPECT_EQ(imported.at("run").at("ranks"), 16);
  EXPECT_EQ(imported.at("run").at("backend"), "analytic");
  EXPECT_EQ(imported.at("provenance").at("source").at("tool"), "fabtwin sim");
  ASSERT_EQ(imported.at("rows").size(), simulated.at("rows").size());
  for (std::size_t i = 0; i < simulated.at("rows").size(); ++i) {
    const auto& s = simulated["rows"][i];
    const auto& m = imported["rows"][i];
    EXPECT_EQ(m.at("size_bytes"), s.at("size_bytes"));
    EXPECT_EQ(m.at("algorithm"), s.at("algorithm"));
    EXPECT_EQ(m.at("protocol"), s.at("protocol"));
    EXPECT_EQ(m.at("channels"), s.at("channels"));
    // Times are printed with two decimals in us, at least four digits here.
    EXPECT_NEAR(m.at("time_s").get<double>(), s.at("time_s").get<double>(), 0.006e-6) << i;
  }
}

TEST_F(ResultsCli, CompareTwoRunsPrintsTableSummaryAndPlot) {
  const std::string ring = sim("ring.json", {"--algo", "ring", "-b", "1KiB", "-e", "64MiB", "-f", "4"});
  const std::string tree = sim("tree.json", {"--algo", "tree", "-b", "1KiB", "-e", "64MiB", "-f", "4"});
  const auto r = fabtwin({"compare", ring, tree, "--plot", path("cmp.png"), "--json", path("cmp.json")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("analytic/ring"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("analytic/tree"), std::string::npos);
  EXPECT_NE(r.out.find("small (<= 1MiB)"), std::string::npos);
  EXPECT_NE(r.out.find("67108864"), std::string::npos);
  EXPECT_TRUE(fs::exists(path("cmp.png")));
  std::ifstream f(path("cmp.json"));
  const auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j.at("rows").size(), 9u);
  EXPECT_EQ(j.at("sources")[1].at("error_large").at("sizes"), 2);  // 16 MiB and 64 MiB
}

TEST_F(ResultsCli, CompareBadInputIsExitTwoAndNoTable) {
  const std::string ar = sim("ar.json", {"-b", "1KiB", "-e", "64KiB", "-f", "4"});
  const std::string ag =
      sim("ag.json", {"--collective", "all_gather", "-b", "1KiB", "-e", "64KiB", "-f", "4"});
  const std::string big = sim("big.json", {"-b", "1MiB", "-e", "4MiB", "-f", "4"});
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"compare", ar, ag}, "same collective"},
      {{"compare", ar, big}, "no size appears in every result"},
      {{"compare", ar, kData + "results/truncated.json"}, "truncated.json: invalid JSON"},
      {{"compare", ar, kData + "results/foreign_topology.json"}, "not a fabtwin results file"},
      {{"compare", ar, kData + "nccl-tests/all_reduce_perf_2node_h100.log"}, "import-nccl"},
      {{"compare", ar}, "two or more"},
      {{"compare", ar, ar, "--plot", path("x.gif")}, ".png or .svg"},
  };
  for (const auto& c : cases) {
    const auto r = fabtwin(c.args);
    EXPECT_EQ(r.code, 2) << c.message << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("busbw"), std::string::npos) << "a table despite bad input:\n" << r.out;
  }
}

TEST_F(ResultsCli, CompareSimulateRunsTheMeasuredScenario) {
  const auto r =
      fabtwin({"compare", "--simulate", measured(), "--topology", "rail:hosts=2,gpus=8,hosts_per_leaf=2",
               "--backends", "analytic", "--keep", path("sims")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("# simulating: fabtwin sim --backend analytic"), std::string::npos) << r.out;
  // The log says NCCL_ALGO=Ring: NCCL's ring is simulated, and the output says so.
  EXPECT_NE(r.out.find("# simulating what NCCL ran: --algo nccl-ring (NCCL_ALGO)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("--algo nccl-ring --ranks 16 --collective all_reduce --dtype float"),
            std::string::npos);
  EXPECT_NE(r.out.find("nccl-tests"), std::string::npos);
  EXPECT_NE(r.out.find("1073741824"), std::string::npos);  // every measured size, simulated
  EXPECT_TRUE(fs::exists(path("sims/sim-analytic-0.json")));
  // A backend sim does not have is sim's own refusal, exit 2.
  const auto bad = fabtwin({"compare", "--simulate", measured(), "--topology",
                            "rail:hosts=2,gpus=8,hosts_per_leaf=2", "--backends", "analytic,warp-drive"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("warp-drive"), std::string::npos) << bad.err;
  // More ranks than the fabric has.
  const auto small = fabtwin({"compare", "--simulate", measured(), "--topology", "fat-tree:k=2"});
  EXPECT_EQ(small.code, 2) << small.err;
  const auto no_topology = fabtwin({"compare", "--simulate", measured()});
  EXPECT_EQ(no_topology.code, 2);
  EXPECT_NE(no_topology.err.find("--topology"), std::string::npos);
}

TEST_F(ResultsCli, CompareSimulateUsesTheNcclSettingsTheLogReports) {
  // The 2-node H100 log with NCCL's INFO lines for a protocol and a channel limit added, as a run with
  // NCCL_PROTO=LL128 NCCL_MAX_NCHANNELS=8 NCCL_IB_QPS_PER_CONNECTION=2 prints them.
  std::ifstream in(kData + "nccl-tests/all_reduce_perf_2node_h100.log");
  std::ostringstream text;
  std::string line;
  while (std::getline(in, line)) {
    text << line << "\n";
    if (line.find("NCCL_ALGO set by environment") != std::string::npos) {
      text << "dgx-a017:41200:41200 [0] NCCL INFO NCCL_PROTO set by environment to LL128\n"
           << "dgx-a017:41200:41200 [0] NCCL INFO NCCL_MAX_NCHANNELS set by environment to 8\n"
           << "dgx-a017:41200:41200 [0] NCCL INFO NCCL_IB_QPS_PER_CONNECTION set by environment to 2\n";
    }
  }
  std::ofstream(path("env.log")) << text.str();
  ASSERT_EQ(fabtwin({"import-nccl", path("env.log"), "-o", path("env.json")}).code, 0);
  const auto r = fabtwin({"compare", "--simulate", path("env.json"), "--topology",
                          "rail:hosts=2,hosts_per_leaf=2,node=dgx-h100", "--backends", "analytic", "--keep",
                          path("sims")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("# the log sets NCCL_MAX_NCHANNELS=8, NCCL_PROTO=LL128: simulated alike"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("NCCL_IB_QPS_PER_CONNECTION=2, which the simulation does not model"),
            std::string::npos);
  EXPECT_NE(r.out.find("--proto LL128"), std::string::npos);
  std::ifstream f(path("sims/sim-analytic-0.json"));
  const auto j = nlohmann::json::parse(f);
  for (const auto& row : j.at("rows")) {
    EXPECT_EQ(row.at("protocol"), "LL128");
    EXPECT_LE(row.at("channels").get<int>(), 8);
  }
}

TEST_F(ResultsCli, CompareSimulateWithThePacketBackendToo) {
  const std::string m = path("rs.json");
  ASSERT_EQ(fabtwin({"import-nccl", kData + "nccl-tests/reduce_scatter_perf_4gpu.log", "-o", m}).code, 0);
  const auto r = fabtwin({"compare", "--simulate", m, "--topology", "rail:hosts=2,gpus=2,hosts_per_leaf=2",
                          "--backends", "analytic,packet", "--algo", "ring", "--json", "-"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.at("sources").size(), 3u);
  EXPECT_EQ(j.at("sources")[1].at("backend"), "analytic");
  EXPECT_EQ(j.at("sources")[2].at("backend"), "packet");
  EXPECT_EQ(j.at("rows").size(), 8u);  // 4 KiB .. 64 MiB, x4
  for (const auto& row : j.at("rows")) EXPECT_GT(row.at("busbw_gbps")[2].get<double>(), 0.0);
}

TEST_F(ResultsCli, CompareSimulateSizesThatAreNotASweep) {
  // A measured run at 1000, 3000 and 10000 bytes: no -b/-e/-f sweep makes these, so sim runs per size.
  nlohmann::json rows = nlohmann::json::array();
  for (std::uint64_t size : {1000u, 3000u, 10000u}) {
    const double time = 20e-6, alg = size / time / 1e9;
    rows.push_back({{"size_bytes", size},
                    {"count", size / 4},
                    {"dtype", "float"},
                    {"op", "sum"},
                    {"time_s", time},
                    {"algbw_gbps", alg},
                    {"busbw_gbps", alg * 2 * 15 / 16},
                    {"correctness", "pass"},
                    {"backend", "verbs"}});
  }
  const nlohmann::json doc = {
      {"schema", "fabtwin-results"},
      {"schema_version", 1},
      {"provenance", {{"fabtwin_version", "0.1.0"}, {"git_revision", "x"}, {"host", "h"}, {"time", "t"}}},
      {"run",
       {{"backend", "verbs"},
        {"collective", "all_reduce"},
        {"algorithm", "ring"},
        {"ranks", 16},
        {"dtype", "float"},
        {"op", "sum"}}},
      {"rows", rows}};
  std::ofstream(path("odd.json")) << doc.dump();
  const auto r =
      fabtwin({"compare", "--simulate", path("odd.json"), "--topology", "fat-tree:k=4", "--json", "-"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.at("rows").size(), 3u);
  EXPECT_EQ(j.at("rows")[2].at("size_bytes"), 10000);
  EXPECT_EQ(j.at("sources")[1].at("backend"), "analytic");
}

TEST_F(ResultsCli, CompareInPlaceColumns) {
  const std::string m = measured();
  const std::string copy = path("copy.json");
  fs::copy_file(m, copy);
  // The same file out-of-place against in-place: differences are nccl-tests' own run-to-run noise.
  const auto r = fabtwin({"compare", m, copy, "--json", "-"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("rows")[27].at("rel_error")[1], 0.0);
  const auto ip = fabtwin({"compare", m, copy, "--in-place"});
  ASSERT_EQ(ip.code, 0) << ip.err;
  EXPECT_NE(ip.out.find("# in-place timings of"), std::string::npos) << ip.out;
  const std::string sim_file = sim("s.json", {"-b", "1KiB", "-e", "4KiB", "-f", "4"});
  const auto none = fabtwin({"compare", sim_file, sim_file, "--in-place"});
  EXPECT_EQ(none.code, 2);
}

TEST_F(ResultsCli, CalibrateThenSimWithTheCalibration) {
  const auto r = fabtwin({"calibrate", kData + "p2p/known_parameters.json", "-o", path("calib.json")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("latency      3us"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("= 11.50 GB/s"), std::string::npos) << r.out;
  const std::vector<std::string> sim_args = {
      "sim",          "--topology", "rail:hosts=2,gpus=1,hosts_per_leaf=2",
      "--collective", "broadcast",  "-b",
      "1GiB",         "-e",         "1GiB",
      "--json",       "-"};
  const auto nominal = fabtwin(sim_args);
  auto with = sim_args;
  with.insert(with.end(), {"--calibration", path("calib.json")});
  const auto calibrated = fabtwin(with);
  ASSERT_EQ(calibrated.code, 0) << calibrated.err;
  const auto n = nlohmann::json::parse(nominal.out);
  const auto c = nlohmann::json::parse(calibrated.out);
  EXPECT_DOUBLE_EQ(c.at("run").at("per_message_s").get<double>(), 0.5e-6);
  EXPECT_NE(c.at("provenance").at("topology").get<std::string>().find("calibrated by"), std::string::npos);
  // One host to the other over the calibrated NICs: a 1 GiB broadcast between two ranks moves at the
  // fitted 11.5 GB/s, where the nominal 400 Gbps fabric is several times faster.
  const double bw = c.at("rows")[0].at("busbw_gbps").get<double>();
  EXPECT_NEAR(bw, 11.5, 11.5 * 0.02);
  EXPECT_GT(n.at("rows")[0].at("busbw_gbps").get<double>(), 3 * bw);
  // compare --simulate passes the calibration on to sim.
  std::ofstream(path("measured_bcast.json")) << c.dump();
  const auto cmp = fabtwin({"compare", "--simulate", path("measured_bcast.json"), "--topology",
                            "rail:hosts=2,gpus=1,hosts_per_leaf=2", "--calibration", path("calib.json"),
                            "--backends", "analytic"});
  ASSERT_EQ(cmp.code, 0) << cmp.err;
  EXPECT_NE(cmp.out.find("--calibration"), std::string::npos) << cmp.out;
  EXPECT_NE(cmp.out.find("+0.0"), std::string::npos) << cmp.out;  // the calibrated sim against itself
  const auto missing = fabtwin({"sim", "--calibration", path("nope.json")});
  EXPECT_EQ(missing.code, 2);
  const auto not_a_sweep = fabtwin({"calibrate", measured(), "-o", path("c2.json")});
  EXPECT_EQ(not_a_sweep.code, 2);
  EXPECT_NE(not_a_sweep.err.find("not a point-to-point sweep"), std::string::npos) << not_a_sweep.err;
}

// Results and history files are exchanged between people and CI jobs: no string in them may end a
// gnuplot string and start a command (a `!` line runs a shell), whatever field it is in.
TEST_F(ResultsCli, PlotsRunNothingFromTheFilesTheyDraw) {
  const std::string base = sim("base.json", {"--algo", "ring", "-b", "1KiB", "-e", "64KiB", "-f", "4"});
  std::ifstream in(base);
  const nlohmann::json clean = nlohmann::json::parse(in);
  int n = 0;
  for (const std::string& attack :
       {std::string("x\n!touch MARK\n"), std::string("x'\n!touch MARK\n'"), std::string("x\r!touch MARK\r"),
        std::string("`touch MARK`"), std::string("' . system('touch MARK') . '"),
        std::string("\" @x ! ;\n")}) {
    const std::string mark = path("pwned" + std::to_string(++n));
    std::string text = attack;
    for (std::size_t at; (at = text.find("MARK")) != std::string::npos;) text.replace(at, 4, mark);
    nlohmann::json j = clean;
    j["run"]["backend"] = text;
    j["run"]["algorithm"] = text;
    for (const char* key : {"host", "git_revision", "topology", "device"}) j["provenance"][key] = text;
    for (auto& row : j["rows"]) {
      row["algorithm"] = text;
      row["backend"] = text;
    }
    const std::string hostile = path("hostile" + std::to_string(n) + ".json");
    std::ofstream(hostile) << j.dump();
    const auto cmp = fabtwin({"compare", hostile, base, "--plot", path("cmp" + std::to_string(n) + ".svg")});
    EXPECT_EQ(cmp.code, 0) << cmp.err;
    const std::string history = path("history" + std::to_string(n) + ".jsonl");
    for (int run = 0; run < 2; ++run)
      fabtwin({"check", "--baseline", hostile, hostile, "--history", history});
    const auto trend =
        fabtwin({"check", "--trend", history, "--plot", path("trend" + std::to_string(n) + ".svg")});
    EXPECT_EQ(trend.code, 0) << trend.err;
    EXPECT_FALSE(fs::exists(mark)) << "a plot ran a command from " << j.dump();
    EXPECT_TRUE(fs::exists(path("cmp" + std::to_string(n) + ".svg")));
    EXPECT_TRUE(fs::exists(path("trend" + std::to_string(n) + ".svg")));
  }
}

TEST_F(ResultsCli, CheckExitCodesHistoryAndTrend) {
  const std::vector<std::string> scenario = {"--algo", "ring", "-b", "1KiB", "-e", "1MiB", "-f", "4"};
  const std::string base = sim("base.json", scenario);
  const std::string same = sim("same.json", scenario);
  auto slower_args = scenario;
  slower_args.insert(slower_args.end(), {"--per-message", "4us"});
  const std::string slower = sim("slower.json", slower_args);
  const std::string history = path("history.jsonl");

  auto pass = fabtwin({"check", "--baseline", base, same, "--tolerance", "5%", "--history", history});
  EXPECT_EQ(pass.code, 0) << pass.err;
  EXPECT_NE(pass.out.find("check: PASS: 6 sizes"), std::string::npos) << pass.out;

  auto fail = fabtwin({"check", "--baseline", base, slower, "--tolerance", "5%", "--history", history});
  EXPECT_EQ(fail.code, 1) << fail.err;
  EXPECT_NE(fail.out.find("REGRESSION"), std::string::npos) << fail.out;
  EXPECT_NE(fail.out.find("per_message_s"), std::string::npos) << fail.out;

  auto improved = fabtwin({"check", "--baseline", slower, base, "--tolerance", "5%"});
  EXPECT_EQ(improved.code, 1);
  EXPECT_NE(improved.out.find("IMPROVEMENT"), std::string::npos) << improved.out;

  const auto as_json = fabtwin({"check", "--baseline", base, slower, "--json", "-"});
  EXPECT_EQ(as_json.code, 1);
  const auto verdicts = nlohmann::json::parse(as_json.out);
  EXPECT_EQ(verdicts.at("status"), "fail");
  EXPECT_EQ(verdicts.at("rows")[0].at("verdict"), "REGRESSION");

  const auto trend = fabtwin({"check", "--trend", history, "--plot", path("trend.svg")});
  ASSERT_EQ(trend.code, 0) << trend.err;
  EXPECT_NE(trend.out.find("2 runs"), std::string::npos) << trend.out;
  EXPECT_TRUE(fs::exists(path("trend.svg")));

  const std::string other =
      sim("other.json", {"--collective", "all_gather", "-b", "1KiB", "-e", "1MiB", "-f", "4"});
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"check", "--baseline", base, other},
           {"check", "--baseline", base, kData + "results/truncated.json"},
           {"check", "--baseline", kData + "results/foreign_topology.json", base},
           {"check", "--baseline", base, same, "--tolerance", "lots"},
           {"check", same},
           {"check", "--trend", kData + "results/truncated.json"},
       }) {
    const auto r = fabtwin(args);
    EXPECT_EQ(r.code, 2) << args.back() << "\n" << r.out << r.err;
    EXPECT_FALSE(r.err.empty());
  }
}

}  // namespace
}  // namespace fabtwin::cli
