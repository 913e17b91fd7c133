// The nccl-tests importer on every table layout nccl-tests and rccl-tests print (-S, -I, -C, rccl-tests'
// -O 0 and -M, the 2.11 broadcast layout), on nccl-tests' -J JSON, and on -d all logs split per series.
// The logs in tests/data/nccl-tests were rendered from nccl-tests' own printf formats with chosen
// times; every expected number below is worked out from those times.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "fabtwin/results/csv.hpp"
#include "fabtwin/results/nccl_tests.hpp"

namespace fabtwin::results {
namespace {

const std::string kLogs = std::string(FABTWIN_SOURCE_DIR) + "/tests/data/nccl-tests/";

nlohmann::json importer_provenance() {
  return {{"fabtwin_version", "0.1.0"},
          {"git_revision", "test"},
          {"host", "test"},
          {"time", "2026-12-03T00:00:00Z"}};
}

ResultFile import_log(const std::string& name, NcclImportOptions o = {}) {
  return import_nccl_tests_file(kLogs + name, o, importer_provenance());
}

std::string import_error(const std::string& text, NcclImportOptions o = {}) {
  std::istringstream in(text);
  try {
    import_nccl_tests(in, "log", o, importer_provenance());
  } catch (const InvalidResults& e) {
    return e.what();
  }
  return "";
}

TEST(NcclLayouts, TimestampsAndPerIterationColumnsAreKept) {
  const ResultFile f = import_log("all_reduce_perf_2.19.6_timestamps_per_iteration.log");
  ASSERT_EQ(f.rows.size(), 3u);
  EXPECT_EQ(f.run.ranks, 16);
  const Row& r = f.rows[2];
  EXPECT_EQ(r.size_bytes, 268435456u);
  EXPECT_DOUBLE_EQ(r.timing.time.count(), 1450e-6);
  ASSERT_TRUE(r.in_place);
  EXPECT_DOUBLE_EQ(r.in_place->time.count(), 1464.5e-6);
  // 2^28 B / 1450 us = 185.13 GB/s, x 2 x 15/16 = 347.11 GB/s.
  EXPECT_NEAR(r.timing.busbw_gbps, 347.11, 0.005);
  EXPECT_EQ(r.extra.at("timestamp"), "2026-07-09 16:03:23");
  EXPECT_DOUBLE_EQ(r.extra.at("per_iteration").at("min_us"), 1305.0);
  EXPECT_DOUBLE_EQ(r.extra.at("per_iteration").at("p99_us"), 1812.5);
  EXPECT_DOUBLE_EQ(r.extra.at("in_place_per_iteration").at("max_us"), 1903.85);
  EXPECT_DOUBLE_EQ(r.extra.at("in_place_per_iteration").at("cv_pct"), 5.5);
  EXPECT_EQ(f.provenance.at("source").at("nccl_tests_version"), "2.19.6");
}

TEST(NcclLayouts, CpuTimeTablesTakeTheGpuTimeFromAlgbwAndDropRowsItCannotTime) {
  const ResultFile f = import_log("all_reduce_perf_cputime.log");
  // 8 B (algbw 0.00) and 1 KiB (0.09: +-5.6%) give no GPU time within 1%; they are dropped, and said so.
  ASSERT_EQ(f.rows.size(), 3u);
  EXPECT_EQ(f.rows[0].size_bytes, 131072u);
  // 131072 B / 5.24 GB/s = 25.01 us; the 7.00 us printed is CPU time, kept beside it.
  EXPECT_NEAR(f.rows[0].timing.time.count(), 131072 / 5.24e9, 1e-12);
  EXPECT_DOUBLE_EQ(f.rows[0].extra.at("cputime_us"), 7.0);
  EXPECT_NEAR(f.rows[2].timing.time.count(), 1100e-6, 1100e-6 * 0.0001);
  const auto& dropped = f.provenance.at("source").at("rows_dropped");
  ASSERT_EQ(dropped.size(), 2u);
  EXPECT_EQ(dropped[0].at("at"), "line 16");
  EXPECT_NE(dropped[0].at("why").get<std::string>().find("-C prints CPU time"), std::string::npos);
}

TEST(NcclLayouts, RcclTestsInPlaceOnlyWithAlgorithmColumns) {
  const ResultFile f = import_log("rccl_tests_in_place_algo_columns.log");
  EXPECT_EQ(f.provenance.at("source").at("tool"), "rccl-tests");
  EXPECT_EQ(f.provenance.at("source").at("rccl_tests_version"), "develop:33cc4df");
  EXPECT_EQ(f.provenance.at("source").at("library"), "RCCL");
  EXPECT_EQ(f.provenance.at("source").at("nccl_version"), "2.20.5-develop:1f9a6b0");
  ASSERT_EQ(f.rows.size(), 4u);
  // -O 0 prints the in-place half only: it becomes the row's timing, with no second one.
  EXPECT_DOUBLE_EQ(f.rows[2].timing.time.count(), 160e-6);
  EXPECT_FALSE(f.rows[2].in_place);
  EXPECT_EQ(f.rows[2].algorithm, "RING");
  EXPECT_EQ(f.rows[2].extra.at("protocol"), "SIMPLE");
  EXPECT_EQ(f.rows[0].extra.at("channels"), 16);
}

TEST(NcclLayouts, OldBroadcastLayoutWithARootAndNoRedop) {
  // nccl-tests 2.11 broadcast: "size count type root", then an "error" column per half.
  const std::string log =
      "# nThread 1 nGpus 4 minBytes 1024 maxBytes 2048 step: 2(factor) warmup iters: 5 iters: 20 validation: "
      "1 \n"
      "#\n"
      "#                                                out-of-place                       in-place          "
      "\n"
      "#       size         count      type    root     time   algbw   busbw  error     time   algbw   busbw "
      " error\n"
      "#        (B)    (elements)                       (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s) "
      "      \n"
      "        1024           256     float       0    10.24    0.10    0.10  0e+00    10.24    0.10    0.10 "
      " 0e+00\n"
      "        2048           512     float       0    10.24    0.20    0.20  0e+00    10.24    0.20    0.20 "
      " 0e+00\n"
      "# Out of bounds values : 0 OK\n"
      "# Avg bus bandwidth    : 0.15 \n";
  std::istringstream in(log);
  NcclImportOptions o;
  o.ranks = 4;
  const ResultFile f = import_nccl_tests(in, "log", o, importer_provenance());
  EXPECT_EQ(f.run.collective, "broadcast");
  EXPECT_EQ(f.run.op, "none");
  EXPECT_EQ(f.rows[1].root, 0);
  EXPECT_EQ(f.rows[1].extra.at("max_relative_error"), "0e+00");
  EXPECT_EQ(f.rows[1].timing.correctness, Correctness::not_checked);
}

TEST(NcclLayouts, RowsPastedWithoutTheirHeader) {
  const std::string rows =
      "```\n"
      "     1048576        262144     float     sum      -1    40.00   26.21   49.15       0    40.40   "
      "25.95   48.67       0\n"
      "   268435456      67108864     float     sum      -1  1450.00  185.13  347.11       0  1464.50  "
      "183.29  343.68       0\n"
      "```\n";
  std::istringstream in(rows);
  const ResultFile f = import_nccl_tests(in, "rows.md", {}, importer_provenance());
  EXPECT_EQ(f.run.collective, "all_reduce");  // a reduction, no root, count x 4 B = size
  EXPECT_EQ(f.run.ranks, 16);                 // busbw / algbw = 1.875 = 2 x 15/16
  ASSERT_EQ(f.rows.size(), 2u);
  EXPECT_DOUBLE_EQ(f.rows[1].timing.time.count(), 1450e-6);
  EXPECT_NE(f.provenance.at("source").at("table_header").get<std::string>().find("from the rows' 13 fields"),
            std::string::npos);
  // Rows that fit several collectives still need --collective.
  EXPECT_NE(
      import_error(
          "        4096           256      half    none      -1    10.00    0.41    0.31       0    10.00 "
          "   0.41    0.31       0\n")
          .find("pass --collective"),
      std::string::npos);
}

TEST(NcclLayouts, AHeaderOfUnknownColumnsNamesTheLayoutsItReads) {
  const std::string e = import_error(
      "# nThread 1 nGpus 1\n#       size         count      type   redop    root     time   algbw   busbw  "
      "#wrong  latency\n");
  EXPECT_NE(e.find("log:2: unknown nccl-tests table layout"), std::string::npos) << e;
  EXPECT_NE(e.find("[i_min i_max i_p99 i_cv%]"), std::string::npos) << e;
}

TEST(NcclLayouts, NcclTestsJsonImportsLikeItsTable) {
  const ResultFile f = import_log("all_reduce_perf_2.19.6.json");
  EXPECT_EQ(f.run.collective, "all_reduce");
  // Two processes of 8 GPUs: the -J file lists one device per process.
  EXPECT_EQ(f.run.ranks, 16);
  EXPECT_EQ(f.run.algorithm, "ring");  // NCCL_ALGO=Ring in its "env"
  EXPECT_EQ(f.run.options.at("hosts"), 2);
  EXPECT_EQ(f.run.options.at("blocking_collectives"), false);
  const auto& source = f.provenance.at("source");
  EXPECT_EQ(source.at("format"), "json");
  EXPECT_EQ(source.at("nccl_version"), "2.27.3");
  EXPECT_EQ(source.at("test"), "all_reduce_perf");
  EXPECT_EQ(source.at("complete"), true);
  EXPECT_NE(source.at("ranks").at("from").get<std::string>().find("2 processes x nthreads 1 x ngpus 8"),
            std::string::npos);
  ASSERT_EQ(f.rows.size(), 2u);
  EXPECT_DOUBLE_EQ(f.rows[1].timing.time.count(), 1450e-6);
  EXPECT_NEAR(f.rows[1].timing.busbw_gbps, 268435456 / 1450e-6 / 1e9 * 2 * 15 / 16, 1e-9);
  EXPECT_NEAR(f.rows[1].in_place->time.count(), 1464.5e-6, 1e-12);
  EXPECT_EQ(f.rows[1].timing.correctness, Correctness::pass);
}

TEST(NcclLayouts, NcclTestsJsonVersionOneWithItsMisspelledFooter) {
  // 2.17.3 to 2.17.8 wrote "average_bus_bandwidith" and no end_time when ... the footer is enough.
  const ResultFile f = import_log("all_reduce_perf_2.17.5.json");
  EXPECT_EQ(f.provenance.at("source").at("complete"), true);
  EXPECT_EQ(f.rows.size(), 2u);
}

TEST(NcclLayouts, NcclTestsJsonRefusalsNameTheField) {
  const auto error_of = [](const std::string& text, NcclImportOptions o = {}) -> std::string {
    const std::string path = ::testing::TempDir() + "/nccl.json";
    { std::ofstream(path) << text; }
    try {
      import_nccl_tests_file(path, o, importer_provenance());
    } catch (const InvalidResults& e) {
      return e.what();
    }
    return "";
  };
  const std::string config =
      R"("config":{"nthreads":1,"ngpus":2,"devices":[{"rank":0,"hostname":"h","device_info":"GPU"}]})";
  const std::string row =
      R"({"size":1024,"count":256,"type":"float","redop":"sum","root":"    -1",)"
      R"("out_of_place":{"time":"nan","alg_bw":0.1,"bus_bw":0.1,"nwrong":0.0},"in_place":null})";
  EXPECT_NE(
      error_of(R"({"version":9,)" + config + R"(,"results":[]})").find("/version: nccl-tests JSON version 9"),
      std::string::npos);
  const std::string nan = error_of(R"({"version":3,)" + config + R"(,"results":[)" + row + "]}");
  EXPECT_NE(nan.find("/results/0/out_of_place/time"), std::string::npos) << nan;
  const std::string cut = error_of(R"({"version":3,)" + config + R"(,"results":[]})");
  EXPECT_NE(cut.find("--allow-partial"), std::string::npos) << cut;
  EXPECT_NE(error_of(R"({"version":3,"config":{}})").find("not nccl-tests' -J output"), std::string::npos);
  EXPECT_NE(error_of(R"({"version":3,)" + config + R"(,"results":[)").find("cut short?"), std::string::npos);
}

TEST(NcclLayouts, SeveralTypesSplitIntoOneFilePerSeries) {
  const auto series =
      import_nccl_tests_series(kLogs + "all_gather_perf_d_all.log", {}, importer_provenance());
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].name, "half.none");
  EXPECT_EQ(series[1].name, "float.none");
  EXPECT_EQ(series[1].results.run.dtype, "float");
  ASSERT_EQ(series[1].results.rows.size(), 2u);
  // all_gather prints a rank's count: 65536 B / (4 B x 4 ranks) = 4096.
  EXPECT_EQ(series[1].results.rows[1].count, 4096u);
  EXPECT_DOUBLE_EQ(series[0].results.rows[0].timing.time.count(), 10e-6);
  const std::string e = [] {
    try {
      import_nccl_tests_file(kLogs + "all_gather_perf_d_all.log", {}, importer_provenance());
    } catch (const InvalidResults& x) {
      return std::string(x.what());
    }
    return std::string();
  }();
  EXPECT_NE(e.find("--split"), std::string::npos) << e;
}

TEST(NcclLayouts, CsvHasOneRowPerSizeAndPlacement) {
  const std::string csv = to_csv(import_log("all_reduce_perf_2.19.6_timestamps_per_iteration.log"));
  std::istringstream in(csv);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 7u);  // the header, then 3 sizes x 2 placements
  EXPECT_EQ(lines[0],
            "backend,collective,algorithm,ranks,dtype,op,root,size_bytes,count,placement,time_s,algbw_gbps,"
            "busbw_gbps,correctness,wrong,protocol,channels");
  // 1 MiB in 40 us: 26.2144 GB/s, x 2 x 15/16 = 49.152 GB/s.
  EXPECT_EQ(
      lines[1],
      "nccl-tests,all_reduce,nccl,16,float,sum,-1,1048576,262144,out_of_place,4e-05,26.2144,49.152,pass,0,,");
  EXPECT_NE(lines[2].find(",in_place,4.04e-05,"), std::string::npos) << lines[2];
  // rccl-tests -O 0: the one timing a row has is in place.
  const std::string rccl = to_csv(import_log("rccl_tests_in_place_algo_columns.log"));
  EXPECT_NE(rccl.find(",in_place,3e-05,"), std::string::npos) << rccl;
  EXPECT_NE(rccl.find(",LL128,16\n"), std::string::npos) << rccl;
}

}  // namespace
}  // namespace fabtwin::results
