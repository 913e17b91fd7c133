// Hostile and careless input through the command line (issue 14): every case ends in exit 2 with a
// message naming the input, never a crash, a hang, a wrong number or a lost file.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_harness.hpp"
#include "fabtwin/budget.hpp"
#include "fabtwin/topo/generators.hpp"
#include "fabtwin/topo/metrics.hpp"
#include "gtest/gtest.h"

namespace fabtwin::cli {
namespace {

namespace fs = std::filesystem;

const std::string kData = std::string(FABTWIN_SOURCE_DIR) + "/tests/data/";

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("fabtwin-hostile-" + std::string(info->name()) + "-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    set_memory_budget(Bytes(0));
    fs::remove_all(dir_);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
    return path(name);
  }
  std::string results(const std::string& name) {
    const auto r =
        fabtwin({"sim", "--topology", "fat-tree:k=4", "-b", "1MiB", "-e", "4MiB", "--json", path(name)});
    EXPECT_EQ(r.code, 0) << r.err;
    return path(name);
  }
  nlohmann::json topology() {
    EXPECT_EQ(fabtwin({"topo", "-t", "fat-tree:k=4", "--export", path("k4.json")}).code, 0);
    return nlohmann::json::parse(slurp(path("k4.json")));
  }
  // Exit 2, and the message holds `what`.
  static void refused(const Outcome& r, const std::string& what) {
    EXPECT_EQ(r.code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  }
  fs::path dir_;
};

TEST_F(Hostile, DeepNestingIsRefusedBeforeAnythingWalksIt) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  nlohmann::json j = nlohmann::json::parse(slurp(results("r.json")));
  std::string text = j.dump();
  text.replace(text.find("\"schema_version\":1"), 18, "\"schema_version\":" + deep);
  const std::string bad = write("deep.json", text);
  refused(fabtwin({"compare", bad, bad}), "nested deeper than 64");
  refused(fabtwin({"topo", "-t", write("deep-topo.json", "{\"version\": " + deep + "}")}),
          "nested deeper than 64");
  refused(fabtwin({"calibrate", bad, "-o", path("c.json")}), "nested deeper than 64");
  refused(fabtwin({"check", "--trend", write("deep.jsonl", "{\"rows\": " + deep + "}\n")}),
          "nested deeper than 64");
}

TEST_F(Hostile, NumbersOutOfRangeAndFoldersAreUnusableInput) {
  std::string text = slurp(results("r.json"));
  const auto at = text.find("\"time_s\": ");
  text.replace(at, text.find(',', at) - at, "\"time_s\": 1e400");
  refused(fabtwin({"compare", write("big.json", text), path("r.json")}), "out of range");
  refused(fabtwin({"compare", dir_.string(), path("r.json")}), "is a folder");
  refused(fabtwin({"topo", "-t", dir_.string()}), "is a folder");
}

TEST_F(Hostile, NoOutputReplacesAnInputOfTheSameCommand) {
  const std::string log = path("run.log");
  fs::copy_file(kData + "nccl-tests/all_gather_perf_2.18.2.log", log);
  const std::string p2p = path("p.json");
  fs::copy_file(kData + "p2p/known_parameters.json", p2p);
  const std::string base = results("b.json");
  const std::string cur = results("c.json");
  const std::string topology = path("t.json");
  ASSERT_EQ(fabtwin({"topo", "-t", "fat-tree:k=4", "--export", topology}).code, 0);
  const std::map<std::string, std::string> before = {{log, slurp(log)},
                                                     {p2p, slurp(p2p)},
                                                     {base, slurp(base)},
                                                     {cur, slurp(cur)},
                                                     {topology, slurp(topology)}};
  refused(fabtwin({"import-nccl", log, "-o", log}), "is the same file as the input LOG");
  refused(fabtwin({"calibrate", p2p, "-o", p2p}), "is the same file as the input P2P");
  refused(fabtwin({"topo", "-t", topology, "--export", topology}), "-t");
  refused(fabtwin({"check", cur, "--baseline", base, "--json", base}),
          "is the same file as the input --baseline");
  refused(fabtwin({"check", cur, "--history", cur}), "is the same file as the input CURRENT");
  refused(fabtwin({"compare", base, cur, "--json", cur}), "is the same file as the input FILES");
  refused(fabtwin({"sim", "--topology", topology, "--json", topology}),
          "is the same file as the input --topology");
  // Through another name of the same file too.
  fs::create_symlink(cur, path("alias.json"));
  refused(fabtwin({"check", cur, "--baseline", base, "--json", path("alias.json")}), "same file");
  // A history that is a results file is refused, not appended to.
  refused(fabtwin({"check", cur, "--history", base}), "is not a history file");
  for (const auto& [file, text] : before) EXPECT_EQ(slurp(file), text) << file;
}

TEST_F(Hostile, ATimeTooSmallForItsSizeIsRefused) {
  nlohmann::json j = nlohmann::json::parse(slurp(results("r.json")));
  j["rows"][0]["time_s"] = 5e-324;
  const std::string bad = write("tiny.json", j.dump());
  refused(fabtwin({"check", bad, "--baseline", path("r.json")}),
          "/rows/0/time_s: time 5e-324 s is too small");
}

TEST_F(Hostile, NoRowLeavesWithZeroBytesOrAnInfiniteTime) {
  refused(fabtwin({"sim", "--topology", "fat-tree:k=4", "-b", "1", "-e", "8", "--json", path("z.json")}),
          "holds no whole float element per rank");
  EXPECT_FALSE(fs::exists(path("z.json")));
  refused(fabtwin({"sim", "--topology", "fat-tree:k=4", "--reduce-bw", "0"}),
          "--reduce-bw: invalid rate \"0\"");
  nlohmann::json t = topology();
  t["links"][0]["bandwidth"] = 5e-324;
  refused(fabtwin({"sim", "--topology", write("slow.json", t.dump())}), "between 1 kbit/s and 1 Pbit/s");
}

TEST_F(Hostile, UnsignedOptionsRefuseNegativesInsteadOfWrapping) {
  refused(fabtwin({"sim", "-f", "-2"}), "--stepfactor: must not be negative, got -2");
  refused(fabtwin({"sim", "--seed", "-1"}), "--seed: must not be negative");
  refused(fabtwin({"plan", "--seed", "-5"}), "--seed: must not be negative");
}

TEST_F(Hostile, ImportedRowsAreNeverDroppedOrWrapped) {
  const std::string good = slurp(kData + "nccl-tests/all_gather_perf_2.18.2.log");
  const std::string row =
      "        4096           128     float    none      -1    11.90    0.34    0.30      0";
  ASSERT_NE(good.find(row), std::string::npos);
  const struct {
    std::string replacement;
    std::string message;
  } cases[] = {
      {"         N/A           128     float    none      -1    11.90    0.34    0.30      0",
       "size \"N/A\""},
      {"          -1           128     float    none      -1    11.90    0.34    0.30      0", "size \"-1\""},
      {"        4096           128     float    none      -1    11.90    0.34    0.30     -1",
       "#wrong \"-1\" is neither a count nor N/A"},
      // 2^59 + 32 elements of 4 bytes on 8 ranks is 1024 bytes modulo 2^64.
      {"        4096    576460752303423520     float    none      -1    11.90    0.34    0.30      0",
       "does not make size 4096"},
  };
  for (const auto& c : cases) {
    std::string text = good;
    text.replace(text.find(row), row.size(), c.replacement);
    refused(fabtwin({"import-nccl", write("bad.log", text), "-o", path("out.json")}), c.message);
    EXPECT_NE(fabtwin({"import-nccl", path("bad.log"), "-o", path("out.json")}).err.find("bad.log:19"),
              std::string::npos);
  }
}

// Found by fuzz_nccl_tests: a device name that is not UTF-8 made writing the results file throw
// (exit 3). It is imported, with the bytes replaced.
TEST_F(Hostile, BytesThatAreNotUtf8AreWrittenReplaced) {
  std::string text = slurp(kData + "nccl-tests/all_gather_perf_2.18.2.log");
  const std::string name = "NVIDIA H100 80GB HBM3";
  for (auto at = text.find(name); at != std::string::npos; at = text.find(name))
    text.replace(at, name.size(), "GPU \xff\xfe");
  const auto r = fabtwin({"import-nccl", write("latin.log", text), "-o", path("out.json")});
  EXPECT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(slurp(path("out.json")));
  EXPECT_NE(j.dump().find("GPU \xef\xbf\xbd"), std::string::npos) << j.dump();
}

TEST_F(Hostile, ControlCharactersFromFilesReachTheTerminalEscaped) {
  nlohmann::json j = nlohmann::json::parse(slurp(results("r.json")));
  j["schema"] = "\x1b]0;owned\x07\x1b[2J\xc2\x9b";
  const std::string bad = write("esc.json", j.dump());
  const auto r = fabtwin({"compare", bad, bad});
  refused(r, "\\u001b]0;owned\\u0007\\u001b[2J\\u009b");
  for (char c : r.err) EXPECT_FALSE(c == '\x1b' || c == '\x07') << r.err;
  EXPECT_EQ(r.err.find("\xc2\x9b"), std::string::npos);
}

TEST_F(Hostile, LargeBuildsAreRefusedFromTheirEstimate) {
  nlohmann::json t = topology();
  for (auto& n : t["nodes"]) {
    if (n["kind"] == "switch") n["tier"] = 50000000;
  }
  refused(fabtwin({"topo", "-t", write("tier.json", t.dump())}), "tier 50000000 is out of range");
  refused(fabtwin({"plan", "-n", "4", "-s", "1GiB", "--chunks", "4096"}),
          "would have about 81920 steps per rank, more than the 32768");
  refused(fabtwin({"--max-memory", "512KiB", "topo", "-t", "fat-tree:k=16"}),
          "a fabric of 1024 NICs would need about 1.0 MiB, more than the 0.5 MiB budget (--max-memory");
  refused(
      fabtwin({"sim", "--backend", "packet", "--topology", "fat-tree:k=16", "--ranks", "16", "--max-memory",
               "64MiB"}),
      "the packet model of fat-tree:k=16 (4096 links) would need about 98 MiB, more than the 64 MiB budget");
  refused(fabtwin({"plan", "-n", "256", "--max-memory", "16MiB"}),
          "the plan of all_reduce/ring over 256 ranks");
}

// The path metrics are quadratic in the fabric: past their budget the summary says they were skipped
// and what they would cost, instead of running for minutes.
TEST(HostileMetrics, PathSearchesPastTheirBudgetAreSkippedAndSaid) {
  const topo::Topology t = topo::topology_from_spec("fat-tree:k=8");
  const topo::Summary full = topo::summarize(t);
  EXPECT_FALSE(full.paths_skipped.has_value());
  EXPECT_EQ(full.diameter_hops, 6);
  const topo::Summary quick = topo::summarize(t, 1000.0);
  ASSERT_TRUE(quick.paths_skipped.has_value());
  EXPECT_GT(quick.paths_skipped->count(), 0.0);
  EXPECT_NE(topo::to_text(quick).find("diameter            not computed"), std::string::npos)
      << topo::to_text(quick);
  EXPECT_TRUE(topo::to_json(quick).at("diameter_hops").is_null());
}

}  // namespace
}  // namespace fabtwin::cli
