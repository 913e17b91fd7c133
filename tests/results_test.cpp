// The results library: strict loading, the nccl-tests importer on hand-written logs of every supported
// test, comparison summaries, calibration recovering known parameters, and regression checks.
#include "fabtwin/results/results.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fabtwin/results/calibration.hpp"
#include "fabtwin/results/check.hpp"
#include "fabtwin/results/compare.hpp"
#include "fabtwin/results/gnuplot.hpp"
#include "fabtwin/results/nccl_tests.hpp"
#include "fabtwin/topo/generators.hpp"
#include "fabtwin/topo/wire.hpp"

namespace fabtwin::results {
namespace {

namespace fs = std::filesystem;

const std::string kData = std::string(FABTWIN_SOURCE_DIR) + "/tests/data/";

nlohmann::json importer_provenance() {
  return {{"fabtwin_version", "0.1.0"},
          {"git_revision", "test"},
          {"host", "test"},
          {"time", "2026-11-30T00:00:00Z"}};
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A folder per test, so ctest -j runs them side by side.
fs::path scratch() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path p = fs::temp_directory_path() / ("fabtwin-results-test-" + std::string(info->test_suite_name()) +
                                            "-" + info->name() + "-" + std::to_string(getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// A valid all-reduce result with the given busbw per size.
nlohmann::json result_json(const std::vector<std::pair<std::uint64_t, double>>& busbw,
                           const std::string& collective = "all_reduce", std::int32_t ranks = 8) {
  const double factor = collective == "all_reduce" ? 2.0 * (ranks - 1) / ranks : (ranks - 1.0) / ranks;
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& [size, bus] : busbw) {
    const double alg = bus / factor;
    rows.push_back({{"size_bytes", size},
                    {"count", size / 4},
                    {"dtype", "float"},
                    {"op", "sum"},
                    {"root", -1},
                    {"algorithm", "ring"},
                    {"time_s", static_cast<double>(size) / (alg * 1e9)},
                    {"algbw_gbps", alg},
                    {"busbw_gbps", bus},
                    {"backend", "analytic"}});
  }
  return {{"schema", "fabtwin-results"},
          {"schema_version", 1},
          {"provenance", importer_provenance()},
          {"run",
           {{"backend", "analytic"},
            {"collective", collective},
            {"algorithm", "ring"},
            {"ranks", ranks},
            {"dtype", "float"},
            {"op", "sum"},
            {"seed", 0}}},
          {"rows", rows}};
}

ResultFile result(const std::vector<std::pair<std::uint64_t, double>>& busbw, const std::string& origin,
                  const std::string& collective = "all_reduce") {
  return parse_results(result_json(busbw, collective), origin);
}

std::string load_error(const nlohmann::json& j) {
  try {
    parse_results(j, "r.json");
  } catch (const InvalidResults& e) {
    return e.what();
  }
  return "";
}

// --- strict loading ------------------------------------------------------------------------------

TEST(ResultsSchema, LoadsWhatSimWrites) {
  const ResultFile f = result({{1024, 1.0}, {2048, 2.0}}, "r.json");
  EXPECT_EQ(f.rows.size(), 2u);
  EXPECT_EQ(f.rows[0].timing.correctness, Correctness::not_checked);  // sim has no correctness field
  EXPECT_EQ(f.run.seed, 0u);
}

TEST(ResultsSchema, TruncatedAndForeignFilesNameTheFile) {
  auto load_message = [](const std::string& path) {
    try {
      load_results(path);
    } catch (const InvalidResults& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string truncated = load_message(kData + "results/truncated.json");
  EXPECT_NE(truncated.find("truncated.json: invalid JSON"), std::string::npos) << truncated;
  const std::string foreign = load_message(kData + "results/foreign_topology.json");
  EXPECT_NE(foreign.find("foreign_topology.json: /: not a fabtwin results file"), std::string::npos)
      << foreign;
  EXPECT_NE(load_message("/nonexistent/r.json").find("cannot open"), std::string::npos);
  EXPECT_NE(load_message(kData + "nccl-tests/all_reduce_perf_2node_h100.log").find("invalid JSON"),
            std::string::npos);
}

TEST(ResultsSchema, MessagesNameTheJsonPath) {
  auto j = result_json({{1024, 1.0}, {2048, 2.0}, {4096, 3.0}});
  j["rows"][2].erase("time_s");
  EXPECT_NE(load_error(j).find("r.json: /rows/2/time_s: missing required field"), std::string::npos)
      << load_error(j);
  j = result_json({{1024, 1.0}, {2048, 2.0}});
  j["rows"][1]["busbw_gbps"] = "fast";
  EXPECT_NE(load_error(j).find("/rows/1/busbw_gbps: expected a number, got the string \"fast\""),
            std::string::npos)
      << load_error(j);
  j = result_json({{2048, 1.0}, {1024, 2.0}});
  EXPECT_NE(load_error(j).find("/rows/1/size_bytes: sizes must be strictly increasing"), std::string::npos);
  j = result_json({{1024, 1.0}});
  j["schema_version"] = 2;
  EXPECT_NE(load_error(j).find("/schema_version: schema_version 2 is not supported"), std::string::npos);
  j = result_json({{1024, 1.0}});
  j["run"]["ranks"] = 16;  // busbw written for 8 ranks
  EXPECT_NE(load_error(j).find("/rows/0/busbw_gbps"), std::string::npos) << load_error(j);
  j = result_json({{1024, 1.0}});
  j["rows"][0]["correctness"] = "maybe";
  EXPECT_NE(load_error(j).find("/rows/0/correctness"), std::string::npos);
  j = result_json({{1024, 1.0}});
  j["rows"] = nlohmann::json::array();
  EXPECT_NE(load_error(j).find("/rows: no rows"), std::string::npos);
  j = result_json({{1024, 1.0}});
  j["run"]["collective"] = "p2p_write";
  EXPECT_NE(load_error(j).find("fabtwin calibrate"), std::string::npos);
}

// --- comparison ----------------------------------------------------------------------------------

TEST(Compare, SummaryOfSmallAndLargeErrors) {
  const ResultFile measured = result({{1024, 10.0},
                                      {1 << 20, 10.0},
                                      {4 << 20, 10.0},
                                      {16 << 20, 100.0},
                                      {64 << 20, 100.0},
                                      {256 << 20, 100.0}},
                                     "measured.json");
  const ResultFile sim = result(
      {{1024, 9.0}, {1 << 20, 12.0}, {4 << 20, 5.0}, {16 << 20, 110.0}, {64 << 20, 120.0}, {256 << 20, 70.0}},
      "sim.json");
  const Comparison c = compare({&measured, &sim});
  ASSERT_EQ(c.rows.size(), 6u);
  EXPECT_NEAR(*c.rows[0].rel_error[1], -0.1, 1e-12);
  ASSERT_TRUE(c.summary[1].small && c.summary[1].large);
  EXPECT_EQ(c.summary[1].small->sizes, 2u);  // 4 MiB is neither small nor large
  EXPECT_NEAR(c.summary[1].small->median_abs, 0.15, 1e-12);
  EXPECT_NEAR(c.summary[1].small->worst_abs, 0.2, 1e-12);
  EXPECT_EQ(c.summary[1].small->worst_size, 1u << 20);
  EXPECT_NEAR(c.summary[1].large->median_abs, 0.2, 1e-12);
  EXPECT_NEAR(c.summary[1].large->worst_signed, -0.3, 1e-12);
  EXPECT_EQ(c.summary[1].large->worst_size, 256u << 20);
  std::ostringstream table;
  print_comparison(table, c);
  EXPECT_NE(table.str().find("  15.0% /  20.0% (at 1MiB), 2 sizes"), std::string::npos) << table.str();
  EXPECT_NE(table.str().find("-30.0"), std::string::npos);
  const auto j = to_json(c);
  EXPECT_EQ(j.at("rows").size(), 6u);
  EXPECT_NEAR(j.at("sources")[1].at("error_large").at("worst_abs_rel_error").get<double>(), 0.3, 1e-12);
}

TEST(Compare, RefusesDifferentCollectivesAndDisjointSizes) {
  const ResultFile ar = result({{1024, 1.0}, {2048, 2.0}}, "ar.json");
  const ResultFile ag = result({{1024, 1.0}, {2048, 2.0}}, "ag.json", "all_gather");
  EXPECT_THROW(
      {
        try {
          compare({&ar, &ag});
        } catch (const InvalidResults& e) {
          EXPECT_NE(std::string(e.what()).find("same collective"), std::string::npos);
          throw;
        }
      },
      InvalidResults);
  const ResultFile big = result({{1 << 20, 1.0}, {2 << 20, 2.0}}, "big.json");
  EXPECT_THROW(
      {
        try {
          compare({&ar, &big});
        } catch (const InvalidResults& e) {
          EXPECT_NE(std::string(e.what()).find("no size appears in every result"), std::string::npos);
          throw;
        }
      },
      InvalidResults);
  // Partly overlapping: compared where they meet, the rest noted.
  const ResultFile wide = result({{1024, 1.0}, {2048, 2.0}, {4096, 3.0}}, "wide.json");
  const Comparison c = compare({&ar, &wide});
  EXPECT_EQ(c.rows.size(), 2u);
  ASSERT_EQ(c.notes.size(), 1u);
  EXPECT_NE(c.notes[0].find("1 size(s)"), std::string::npos);
}

TEST(Compare, PlotsPngAndSvgWithGnuplot) {
  const fs::path dir = scratch();
  const ResultFile a = result({{1024, 1.0}, {1 << 20, 20.0}, {64 << 20, 90.0}}, "it's measured.json");
  const ResultFile b = result({{1024, 1.2}, {1 << 20, 18.0}, {64 << 20, 95.0}}, "sim.json");
  const Comparison c = compare({&a, &b});
  plot_comparison(c, (dir / "cmp.png").string());
  const std::string png = read_text((dir / "cmp.png").string());
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  plot_comparison(c, (dir / "cmp.svg").string());
  EXPECT_NE(read_text((dir / "cmp.svg").string()).find("<svg"), std::string::npos);
  EXPECT_THROW(plot_comparison(c, (dir / "cmp.pdf").string()), std::invalid_argument);
  fs::remove_all(dir);
}

// --- calibration ---------------------------------------------------------------------------------

TEST(Calibration, RecoversTheParametersASweepWasMadeFrom) {
  // tests/data/p2p/known_parameters.json: latency 3 us, per-message 0.5 us, 11.5 GB/s payload.
  const Calibration c = fit_calibration(load_p2p(kData + "p2p/known_parameters.json"));
  EXPECT_NEAR(c.latency.count(), 3.0e-6, 3.0e-6 * 1e-6);
  EXPECT_NEAR(c.per_message.count(), 0.5e-6, 0.5e-6 * 1e-6);
  EXPECT_NEAR(c.bandwidth.gigabytes_per_second(), 11.5, 11.5 * 1e-6);
  EXPECT_LT(c.stream_max_residual, 1e-9);
  EXPECT_EQ(c.source.at("device"), "rxe0");
  // Saved and loaded, nothing is lost.
  const Calibration back = parse_calibration(to_json(c, importer_provenance()), "calib.json");
  EXPECT_DOUBLE_EQ(back.latency.count(), c.latency.count());
  EXPECT_DOUBLE_EQ(back.bandwidth.count(), c.bandwidth.count());
  EXPECT_DOUBLE_EQ(back.per_message.count(), c.per_message.count());
}

TEST(Calibration, SkipsTheZeroByteRowOfRunP2p) {
  // `fabtwin run --p2p -b 0` starts with 0 B (time per message, bw 0): it carries no bandwidth.
  nlohmann::json j = read_json_file(kData + "p2p/known_parameters.json");
  const nlohmann::json zero = nlohmann::json::object({{"size_bytes", 0},
                                                      {"iterations", 1000},
                                                      {"time_s", 0.5e-6},
                                                      {"bw_gbps", 0.0},
                                                      {"latency_s", 3e-6},
                                                      {"backend", "verbs"}});
  j["rows"].insert(j["rows"].begin(), zero);
  const P2PSweep s = parse_p2p(j, "p2p.json");
  EXPECT_EQ(s.rows.front().size_bytes, 8u);
  EXPECT_NEAR(fit_calibration(s).latency.count(), 3e-6, 1e-12);
}

TEST(Calibration, NoisySweepStillRecoversWithinAFewPercent) {
  P2PSweep s;
  s.origin = "noisy.json";
  const double latency = 1.8e-6, overhead = 0.3e-6, bytes_per_s = 46e9;
  int k = 0;
  for (std::uint64_t size = 8; size <= (1ull << 30); size *= 2, ++k) {
    const double noise = 1.0 + 0.02 * std::sin(1.7 * k);  // deterministic +-2%
    s.rows.push_back({size, Seconds((overhead + size / bytes_per_s) * noise),
                      Seconds((latency + size / bytes_per_s) * (2.0 - noise))});
  }
  const Calibration c = fit_calibration(s);
  EXPECT_NEAR(c.latency.count(), latency, latency * 0.05);
  EXPECT_NEAR(c.per_message.count(), overhead, overhead * 0.05);
  EXPECT_NEAR(c.bandwidth.gigabytes_per_second(), 46.0, 46.0 * 0.05);
}

TEST(Calibration, RefusesUnfittableSweeps) {
  P2PSweep s;
  s.origin = "flat.json";
  s.rows = {{8, Seconds(1e-6), Seconds(2e-6)}, {16, Seconds(1e-6), Seconds(2e-6)}};
  EXPECT_THROW(fit_calibration(s), InvalidResults);
  s.rows.push_back({32, Seconds(0.9e-6), Seconds(1.9e-6)});
  EXPECT_THROW(fit_calibration(s), InvalidResults);
  // A collective result is not a sweep.
  EXPECT_THROW(parse_p2p(result_json({{1024, 1.0}}), "ar.json"), InvalidResults);
  EXPECT_THROW(parse_calibration(result_json({{1024, 1.0}}), "ar.json"), InvalidResults);
}

TEST(Calibration, AppliesToCostParamsAndNicLinks) {
  Calibration c;
  c.latency = Seconds(3e-6);
  c.per_message = Seconds(1e-6);
  c.bandwidth = BitsPerSecond(92e9);
  c.pingpong_bandwidth = BitsPerSecond(90e9);
  backend::EndpointCosts params;
  apply_calibration(c, params);
  EXPECT_DOUBLE_EQ(params.per_message.count(), 1e-6);
  topo::Topology t = topo::topology_from_spec("rail:hosts=2,gpus=2,hosts_per_leaf=2");
  const topo::Topology nominal = t;
  EXPECT_EQ(apply_calibration(c, t), 4u);  // one link per NIC to its rail leaf
  for (std::size_t i = 0; i < t.links.size(); ++i) {
    const auto& l = t.links[i];
    const bool nic_link =
        t.nodes[l.a].kind == topo::NodeKind::nic || t.nodes[l.b].kind == topo::NodeKind::nic;
    const bool to_switch = t.nodes[l.a].kind == topo::NodeKind::network_switch ||
                           t.nodes[l.b].kind == topo::NodeKind::network_switch;
    if (nic_link && to_switch) {
      // The wire rate whose payload is the fitted bandwidth.
      const double payload_share = static_cast<double>(1 << 20) /
                                   topo::rdma_write_on_wire(Bytes(1 << 20), l.mtu, l.layer).bytes.count();
      EXPECT_NEAR(l.bandwidth.count() * payload_share, 92e9, 1.0);
      EXPECT_DOUBLE_EQ(l.latency.count(), 1e-6);  // (3 - 1) us over two NIC links
    } else {
      EXPECT_EQ(l.bandwidth, nominal.links[i].bandwidth);
      EXPECT_EQ(l.latency, nominal.links[i].latency);
    }
  }
}

// --- regression checks ---------------------------------------------------------------------------

TEST(Check, ToleranceParsing) {
  EXPECT_DOUBLE_EQ(parse_tolerance("5%"), 0.05);
  EXPECT_DOUBLE_EQ(parse_tolerance("0.05"), 0.05);
  EXPECT_DOUBLE_EQ(parse_tolerance("0%"), 0.0);
  EXPECT_THROW(parse_tolerance("five"), std::invalid_argument);
  EXPECT_THROW(parse_tolerance("150%"), std::invalid_argument);
  EXPECT_THROW(parse_tolerance("-1%"), std::invalid_argument);
}

TEST(Check, VerdictPerSize) {
  const ResultFile base = result({{1024, 10.0}, {2048, 20.0}, {4096, 40.0}, {8192, 80.0}}, "base.json");
  const ResultFile same = result({{1024, 10.2}, {2048, 19.5}, {4096, 40.0}, {8192, 80.0}}, "same.json");
  EXPECT_TRUE(check(base, same, 0.05).passed());
  const ResultFile drift = result({{1024, 10.0}, {2048, 17.0}, {4096, 44.0}, {16384, 1.0}}, "drift.json");
  const CheckResult r = check(base, drift, 0.05);
  EXPECT_FALSE(r.passed());
  ASSERT_EQ(r.rows.size(), 4u);
  EXPECT_EQ(r.rows[0].verdict, Verdict::within);
  EXPECT_EQ(r.rows[1].verdict, Verdict::regression);
  EXPECT_NEAR(*r.rows[1].change, -0.15, 1e-12);
  EXPECT_EQ(r.rows[2].verdict, Verdict::improvement);
  EXPECT_EQ(r.rows[3].verdict, Verdict::missing);
  EXPECT_EQ(r.new_sizes, 1u);
  std::ostringstream out;
  print_check(out, r);
  EXPECT_NE(out.str().find("check: FAIL: 3 of 4 sizes"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("REGRESSION"), std::string::npos);
  EXPECT_NE(out.str().find("IMPROVEMENT"), std::string::npos);
  EXPECT_NE(out.str().find("MISSING"), std::string::npos);
  EXPECT_EQ(out.str().find("1024 "), std::string::npos);  // sizes within tolerance are not listed
}

TEST(Check, NotesChangedRunOptions) {
  auto b = result_json({{1024, 10.0}});
  b["run"]["per_message_s"] = 2e-6;
  auto c = result_json({{1024, 10.0}});
  c["run"]["per_message_s"] = 3e-6;
  const CheckResult r = check(parse_results(b, "b.json"), parse_results(c, "c.json"), 0.05);
  EXPECT_TRUE(r.passed());
  ASSERT_EQ(r.option_changes.size(), 1u);
  EXPECT_NE(r.option_changes[0].find("per_message_s"), std::string::npos);
}

TEST(Check, WrongResultsFailEvenWhenFast) {
  const ResultFile base = result({{1024, 10.0}}, "base.json");
  auto j = result_json({{1024, 10.0}});
  j["rows"][0]["correctness"] = "fail";
  const CheckResult r = check(base, parse_results(j, "cur.json"), 0.05);
  EXPECT_EQ(r.rows[0].verdict, Verdict::wrong_result);
}

TEST(Check, DifferentScenariosAreNotComparable) {
  const ResultFile base = result({{1024, 10.0}}, "base.json");
  auto j = result_json({{1024, 10.0}});
  j["run"]["algorithm"] = "tree";
  EXPECT_THROW(check(base, parse_results(j, "cur.json"), 0.05), InvalidResults);
  j = result_json({{1024, 10.0}});
  j["provenance"]["topology_hash"] = "aaaa";
  auto b = result_json({{1024, 10.0}});
  b["provenance"]["topology_hash"] = "bbbb";
  EXPECT_THROW(check(parse_results(b, "b.json"), parse_results(j, "c.json"), 0.05), InvalidResults);
  EXPECT_THROW(check(base, result({{4096, 10.0}}, "far.json"), 0.05), InvalidResults);
}

TEST(Check, HistoryAppendsAndTrends) {
  const fs::path dir = scratch();
  const std::string history = (dir / "history.jsonl").string();
  const ResultFile base = result({{1024, 10.0}, {2048, 20.0}}, "base.json");
  for (double bw : {20.0, 19.0, 15.0}) {
    const ResultFile cur = result({{1024, 10.0}, {2048, bw}}, "cur.json");
    const CheckResult r = check(base, cur, 0.1);
    append_history(history, history_entry(cur, &r));
  }
  append_history(history, history_entry(base, nullptr));
  const auto trends = load_history(history).trends;
  ASSERT_EQ(trends.size(), 1u);
  ASSERT_EQ(trends[0].points.size(), 4u);
  EXPECT_EQ(trends[0].points[0].status, "pass");
  EXPECT_EQ(trends[0].points[2].status, "fail");
  EXPECT_EQ(trends[0].points[3].status, "recorded");
  EXPECT_DOUBLE_EQ(trends[0].points[2].busbw_gbps.at(2048), 15.0);
  std::ostringstream out;
  print_trend(out, trends);
  EXPECT_NE(out.str().find("4 runs"), std::string::npos) << out.str();
  plot_trend(trends, (dir / "trend.png").string());
  EXPECT_TRUE(fs::exists(dir / "trend.png"));
  fs::remove_all(dir);
}

// A write cut short (crash, full disk) leaves half a record as the last line. The next append must not
// glue its record onto it, and --trend reports the damaged line and reads the rest.
TEST(Check, HistoryCutShortIsSkippedAndNeverGlued) {
  const fs::path dir = scratch();
  const std::string history = (dir / "history.jsonl").string();
  const ResultFile base = result({{1024, 10.0}}, "base.json");
  append_history(history, history_entry(base, nullptr));
  std::ofstream(history, std::ios::app) << "{\"schema\": \"fabtwin-hist";
  const auto note = append_history(history, history_entry(base, nullptr));
  ASSERT_TRUE(note.has_value());
  EXPECT_NE(note->find("history.jsonl:2: the last line was cut short"), std::string::npos) << *note;
  const History h = load_history(history);
  ASSERT_EQ(h.trends.size(), 1u);
  EXPECT_EQ(h.trends[0].points.size(), 2u);
  ASSERT_EQ(h.skipped.size(), 1u);
  EXPECT_NE(h.skipped[0].find("history.jsonl:2:"), std::string::npos) << h.skipped[0];
  // A file of nothing but damage is refused, naming the first bad line.
  const std::string broken = (dir / "broken.jsonl").string();
  std::ofstream(broken) << "{\"schema\": \"fabtwin-hist\n";
  EXPECT_THROW(load_history(broken), InvalidResults);
  fs::remove_all(dir);
}

// check c.json --history c.json would append a JSON line to a results file.
TEST(Check, HistoryRefusesAFileThatIsNotAHistory) {
  const fs::path dir = scratch();
  const std::string results_file = (dir / "c.json").string();
  const ResultFile base = result({{1024, 10.0}}, "base.json");
  write_results(results_file, base);
  const auto before = fs::file_size(results_file);
  EXPECT_THROW(append_history(results_file, history_entry(base, nullptr)), InvalidResults);
  EXPECT_EQ(fs::file_size(results_file), before);
  fs::remove_all(dir);
}

TEST(Check, TrendSizesSpreadOverTheSweep) {
  Trend t;
  HistoryPoint p;
  for (std::uint64_t s = 1; s <= 1024; s *= 2) p.busbw_gbps[s] = 1.0;
  t.points.push_back(p);
  EXPECT_EQ(trend_sizes(t, 4), (std::vector<std::uint64_t>{1, 8, 64, 1024}));
  EXPECT_EQ(trend_sizes(t, 20).size(), 11u);
}

}  // namespace
}  // namespace fabtwin::results
