// The nccl-tests importer on hand-written logs in every shape people paste: whole runs of every test,
// the old layout, published tables without a rank list, launcher prefixes, and every refusal's hint.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "fabtwin/results/nccl_tests.hpp"

namespace fabtwin::results {
namespace {

const std::string kData = std::string(FABTWIN_SOURCE_DIR) + "/tests/data/";

nlohmann::json importer_provenance() {
  return {{"fabtwin_version", "0.1.0"},
          {"git_revision", "test"},
          {"host", "test"},
          {"time", "2026-11-30T00:00:00Z"}};
}

ResultFile import_log(const std::string& name, NcclImportOptions o = {}) {
  return import_nccl_tests_file(kData + "nccl-tests/" + name, o, importer_provenance());
}

ResultFile import_text(const std::string& text, NcclImportOptions o = {}) {
  std::istringstream in(text);
  return import_nccl_tests(in, "log", o, importer_provenance());
}

std::string import_error(const std::string& text, NcclImportOptions o = {}) {
  try {
    import_text(text, o);
  } catch (const InvalidResults& e) {
    return e.what();
  }
  return "";
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(NcclImport, AllReduceTwoNodesWithInfoLines) {
  const ResultFile f = import_log("all_reduce_perf_2node_h100.log");
  EXPECT_EQ(f.run.backend, "nccl-tests");
  EXPECT_EQ(f.run.collective, "all_reduce");
  EXPECT_EQ(f.run.algorithm, "ring");  // NCCL_ALGO=Ring in the log
  EXPECT_EQ(f.run.ranks, 16);
  EXPECT_EQ(f.run.dtype, "float");
  EXPECT_EQ(f.run.op, "sum");
  EXPECT_EQ(f.run.options.at("hosts"), 2);
  EXPECT_EQ(f.run.options.at("iters"), 20);
  EXPECT_EQ(f.run.options.at("warmup_iters"), 5);
  EXPECT_EQ(f.provenance.at("device"), "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(f.provenance.at("host"), "dgx-a017");
  EXPECT_EQ(f.provenance.at("source").at("nccl_version"), "2.19.3+cuda12.3");
  ASSERT_EQ(f.rows.size(), 28u);  // 8 B .. 1 GiB, x2
  const Row& last = f.rows.back();
  EXPECT_EQ(last.size_bytes, 1ull << 30);
  EXPECT_EQ(last.count, (1ull << 30) / 4);
  EXPECT_EQ(last.root, -1);
  // Recomputed from the printed time, so within the table's two decimals of what nccl-tests printed.
  EXPECT_NEAR(last.timing.busbw_gbps, 364.76, 0.02);
  EXPECT_NEAR(last.timing.busbw_gbps, last.timing.algbw_gbps * 2 * 15 / 16, 1e-9);
  EXPECT_EQ(last.timing.correctness, Correctness::pass);
  ASSERT_TRUE(last.in_place.has_value());
  EXPECT_GT(last.in_place->busbw_gbps, 300.0);
  // Small sizes keep their precision although nccl-tests printed 0.00.
  EXPECT_GT(f.rows.front().timing.busbw_gbps, 0.0);
}

TEST(NcclImport, EveryCollective) {
  const ResultFile ag = import_log("all_gather_perf_2.18.2.log");
  EXPECT_EQ(ag.run.collective, "all_gather");
  EXPECT_EQ(ag.run.algorithm, "nccl");  // NCCL chose per size
  EXPECT_EQ(ag.run.op, "none");
  EXPECT_EQ(ag.provenance.at("source").at("nccl_tests_version"), "2.18.2");
  EXPECT_EQ(ag.rows.size(), 10u);
  EXPECT_EQ(ag.rows[0].count * 4 * 8, ag.rows[0].size_bytes);  // per-rank count

  const ResultFile rs = import_log("reduce_scatter_perf_4gpu.log");  // no test name: inferred
  EXPECT_EQ(rs.run.collective, "reduce_scatter");
  EXPECT_EQ(rs.run.dtype, "half");
  EXPECT_EQ(rs.run.ranks, 4);

  const ResultFile bc = import_log("broadcast_perf_no_check.log");
  EXPECT_EQ(bc.run.collective, "broadcast");
  EXPECT_EQ(bc.rows[0].root, 0);
  EXPECT_EQ(bc.rows[0].timing.correctness, Correctness::not_checked);  // -c 0 prints N/A
  EXPECT_DOUBLE_EQ(bc.rows[0].timing.busbw_gbps, bc.rows[0].timing.algbw_gbps);

  const ResultFile rd = import_log("reduce_perf_wrong.log");
  EXPECT_EQ(rd.run.collective, "reduce");
  bool saw_failure = false;
  for (const auto& r : rd.rows) {
    if (r.size_bytes == 524288) {
      EXPECT_EQ(r.timing.correctness, Correctness::fail);
      EXPECT_EQ(r.timing.wrong, 12u);
      saw_failure = true;
    } else {
      EXPECT_EQ(r.timing.correctness, Correctness::pass);
    }
  }
  EXPECT_TRUE(saw_failure);

  const ResultFile a2a = import_log("alltoall_perf_2node.log");
  EXPECT_EQ(a2a.run.collective, "all_to_all");
  EXPECT_EQ(a2a.run.ranks, 16);
}

TEST(NcclImport, RankLinesWithoutGroupAndOddLines) {
  std::string text = read_text(kData + "nccl-tests/all_reduce_perf_2node_h100.log");
  for (auto at = text.find("Group  0 "); at != std::string::npos; at = text.find("Group  0 "))
    text.erase(at, 9);
  text.insert(text.find("NCCL version"), "x: NCCL INFO NCCL_ALGO set by environment to \n");
  std::istringstream in(text);
  const ResultFile f = import_nccl_tests(in, "log", {}, importer_provenance());
  EXPECT_EQ(f.run.ranks, 16);
  EXPECT_EQ(f.provenance.at("device"), "NVIDIA H100 80GB HBM3");
  std::string bad = read_text(kData + "nccl-tests/all_reduce_perf_2node_h100.log");
  bad.replace(bad.find("#  Rank  3 Group  0 Pid  41203 on"), 33, "#  Rank  3 Group  0 Pid  41203 at");
  EXPECT_NE(import_error(bad).find("unknown layout"), std::string::npos) << import_error(bad);
}

TEST(NcclImport, RoundTripsThroughTheSchema) {
  const ResultFile f = import_log("all_reduce_perf_2node_h100.log");
  const ResultFile back = parse_results(to_json(f), "again.json");
  ASSERT_EQ(back.rows.size(), f.rows.size());
  for (std::size_t i = 0; i < f.rows.size(); ++i) {
    EXPECT_EQ(back.rows[i].size_bytes, f.rows[i].size_bytes);
    EXPECT_DOUBLE_EQ(back.rows[i].timing.busbw_gbps, f.rows[i].timing.busbw_gbps);
    EXPECT_DOUBLE_EQ(back.rows[i].in_place->time.count(), f.rows[i].in_place->time.count());
  }
  EXPECT_EQ(back.run.options, f.run.options);
}

TEST(NcclImport, ReadsTheOldLayoutWithErrorColumns) {
  // nccl-tests 2.10 and earlier: no root column; the error column is a relative error, not a count.
  const ResultFile f = import_log("all_reduce_perf_2.10_error_columns.log");
  ASSERT_EQ(f.rows.size(), 2u);
  EXPECT_EQ(f.rows[1].size_bytes, 16u);
  EXPECT_EQ(f.rows[1].root, -1);
  EXPECT_DOUBLE_EQ(f.rows[1].timing.time.count(), 23.48e-6);
  EXPECT_EQ(f.rows[1].timing.correctness, Correctness::not_checked);
  EXPECT_EQ(f.run.ranks, 8);
}

TEST(NcclImport, TakesTheRankCountOfAPublishedTableFromTheCommandLineOrItsNumbers) {
  const std::string table =
      "#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw "
      "  busbw #wrong\n"
      "  1073741824     268435456     float     sum      -1    10776   99.64  186.83      0    10781   99.60 "
      " 186.75      0\n";
  NcclImportOptions o;
  o.collective = "all_reduce";
  o.allow_partial = true;
  // 186.83 / 99.64 = 1.8750 = 2(n-1)/n at n = 16, and no other n within the two decimals.
  const ResultFile inferred = import_text(table, o);
  EXPECT_EQ(inferred.run.ranks, 16);
  EXPECT_NE(inferred.provenance.at("source").at("ranks").at("from").get<std::string>().find("inferred"),
            std::string::npos);
  o.ranks = 16;
  const ResultFile f = import_text(table, o);
  ASSERT_EQ(f.rows.size(), 1u);
  EXPECT_EQ(f.run.ranks, 16);
  EXPECT_EQ(f.provenance.at("source").at("ranks").at("from"), "--ranks");
  // busbw = algbw x 2(n-1)/n at 16 ranks: 99.64 x 1.875 = 186.8 as published.
  EXPECT_NEAR(f.rows[0].timing.busbw_gbps, 186.83, 0.05);
  o.ranks = 8;  // 99.64 x 1.75 = 174.4: the published busbw says otherwise
  EXPECT_NE(import_error(table, o).find("does not match all_reduce over 8 ranks"), std::string::npos);
}

TEST(NcclImport, RefusesToGuessTheRankCountWhenTheNumbersDoNotTell) {
  const std::string head =
      "#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw "
      "  busbw #wrong\n";
  NcclImportOptions o;
  o.allow_partial = true;
  o.collective = "all_reduce";
  // 2(n-1)/n within 1.995/1.005 .. 2.005/0.995 holds for every n from 134 up.
  const std::string near_two =
      head +
      "     1000000        250000     float     sum      -1     1000    1.00    2.00      0     1000    1.00 "
      "   2.00      0\n";
  EXPECT_NE(import_error(near_two, o).find("fits 134 to more ranks alike"), std::string::npos)
      << import_error(near_two, o);
  // 1.875 (16 ranks) on one row, 1.75 (8 ranks) on the next.
  const std::string disagree =
      head +
      "  1073741824     268435456     float     sum      -1    10776   99.64  186.83      0    10781   99.60 "
      " 186.75      0\n"
      "  2147483648     536870912     float     sum      -1    21552   99.64  174.37      0    21552   99.64 "
      " 174.37      0\n";
  EXPECT_NE(import_error(disagree, o).find("ratios disagree (lines 2-3)"), std::string::npos)
      << import_error(disagree, o);
  EXPECT_NE(import_error(disagree, o).find("pass --ranks N"), std::string::npos);
  const std::string broadcast =
      head +
      "  1073741824     268435456     float    none       0    10776   99.64   99.64      0    10781   99.60 "
      "  99.60      0\n";
  o.collective = "broadcast";
  EXPECT_NE(import_error(broadcast, o).find("cannot say it: pass --ranks N"), std::string::npos)
      << import_error(broadcast, o);
}

TEST(NcclImport, APublishedTablePastedInMarkdownWithItsCommandLine) {
  const ResultFile f = import_log("../nccl-tests/published_markdown_no_ranks.md");
  EXPECT_EQ(f.run.collective, "all_reduce");  // from the table: the count is the whole size
  EXPECT_EQ(f.run.ranks, 16);                 // 364.76 / 194.54 = 1.875 and its neighbours agree
  ASSERT_EQ(f.rows.size(), 6u);
  EXPECT_EQ(f.rows.back().size_bytes, 1ull << 30);
  EXPECT_EQ(f.run.algorithm, "ring");  // -x NCCL_ALGO=Ring on the mpirun line
  const auto& cmd = f.provenance.at("source").at("nccl_command_line");
  EXPECT_EQ(cmd.at("NCCL_ALGO"), "Ring");
  EXPECT_EQ(cmd.at("NCCL_IB_HCA"), "mlx5_0,mlx5_3");
}

TEST(NcclImport, SrunLabelsAndNcclInfoLines) {
  const ResultFile f = import_log("srun_label_nranks.log");
  EXPECT_EQ(f.run.ranks, 16);  // "nranks 16" on NCCL's Init COMPLETE lines
  EXPECT_EQ(f.provenance.at("source").at("ranks").at("from"), "NCCL's \"nranks\" on its Init COMPLETE line");
  EXPECT_EQ(f.provenance.at("source").at("test"), "all_reduce_perf_mpi");
  EXPECT_EQ(f.provenance.at("source").at("nccl_version"), "2.19.3+cuda12.3");
  EXPECT_EQ(f.provenance.at("source").at("nccl_tests_version"), "2.19.4");
  EXPECT_EQ(f.provenance.at("source").at("coll_channels"), 32);
  EXPECT_EQ(f.run.algorithm, "nccl");  // nothing forced an algorithm
  ASSERT_EQ(f.rows.size(), 6u);
  EXPECT_NEAR(f.rows.back().timing.busbw_gbps, 364.76, 0.02);
}

TEST(NcclImport, OpenMpiTagOutputWithALastRowCutShort) {
  const std::string path = "openmpi_tag_output_cut.log";
  std::string error;
  try {
    import_log(path);
  } catch (const InvalidResults& e) {
    error = e.what();
  }
  EXPECT_NE(error.find("--allow-partial"), std::string::npos) << error;
  NcclImportOptions o;
  o.allow_partial = true;
  const ResultFile f = import_log(path, o);
  ASSERT_EQ(f.rows.size(), 5u);  // the sixth was cut at its time column
  EXPECT_EQ(f.rows.back().size_bytes, 512ull << 20);
  EXPECT_EQ(f.run.ranks, 16);
  EXPECT_FALSE(f.provenance.at("source").at("complete").get<bool>());
}

TEST(NcclImport, RejectsOtherVersionsAndLayouts) {
  const std::string v3 = read_text(kData + "nccl-tests/all_reduce_perf_3.0.0.log");
  EXPECT_NE(import_error(v3).find("nccl-tests version 3.0.0 is not supported"), std::string::npos);
  EXPECT_NE(import_error("hello\nworld\n").find("not an nccl-tests log"), std::string::npos);
  EXPECT_NE(import_error("").find("empty"), std::string::npos);
  const std::string other_test =
      "# nccl-tests version 2.18.2 nccl-headers=23007 nccl-library=23007\n"
      "# Collective test starting: sendrecv_perf\n";
  EXPECT_NE(import_error(other_test).find("sendrecv_perf"), std::string::npos);
}

TEST(NcclImport, RejectsTruncatedLogs) {
  const std::string cut = read_text(kData + "nccl-tests/all_reduce_perf_truncated.log");
  const std::string e = import_error(cut);
  EXPECT_NE(e.find("truncated line"), std::string::npos) << e;
  // Whole rows but no closing summary: refused unless asked for.
  std::string text = read_text(kData + "nccl-tests/all_reduce_perf_2node_h100.log");
  text = text.substr(0, text.find("# Out of bounds"));
  EXPECT_NE(import_error(text).find("--allow-partial"), std::string::npos);
  std::istringstream in(text);
  NcclImportOptions partial;
  partial.allow_partial = true;
  const ResultFile f = import_nccl_tests(in, "log", partial, importer_provenance());
  EXPECT_EQ(f.rows.size(), 28u);
  EXPECT_EQ(f.provenance.at("source").at("complete"), false);
}

TEST(NcclImport, RefusesSeveralRunsInOneLog) {
  const std::string two = read_text(kData + "nccl-tests/all_reduce_perf_2node_h100.log") +
                          read_text(kData + "nccl-tests/all_gather_perf_2.18.2.log");
  EXPECT_NE(import_error(two).find("log:60: a second nccl-tests run starts here"), std::string::npos)
      << import_error(two);
}

TEST(NcclImport, WindowsLineEndingsAndSizeZero) {
  std::string text = read_text(kData + "nccl-tests/broadcast_perf_no_check.log");
  // -b 0 adds a zero-byte row: it has no bandwidth and is left out.
  text.insert(
      text.find("        8192"),
      "           0             0     float    none       0     0.20    0.00    0.00    N/A     0.19    0.00"
      "    0.00    N/A\n");
  std::string crlf;
  for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  std::istringstream in(crlf);
  const ResultFile f = import_nccl_tests(in, "log", {}, importer_provenance());
  EXPECT_EQ(f.rows.size(), 5u);
  EXPECT_EQ(f.rows.front().size_bytes, 8192u);
  EXPECT_EQ(f.provenance.at("device"), "NVIDIA A100-SXM4-80GB");  // no stray \r
}

TEST(NcclImport, AmbiguousOrContradictedCollective) {
  std::string text = read_text(kData + "nccl-tests/all_gather_perf_2.18.2.log");
  const std::string named = "# Collective test starting: all_gather_perf\n";
  text.erase(text.find(named), named.size());
  EXPECT_NE(import_error(text).find("pass --collective"), std::string::npos) << import_error(text);
  NcclImportOptions o;
  o.collective = "all_to_all";
  std::istringstream in(text);
  EXPECT_EQ(import_nccl_tests(in, "log", o, importer_provenance()).run.collective, "all_to_all");
  // A collective whose count layout or bus factor does not fit the table is refused.
  o.collective = "broadcast";
  EXPECT_NE(import_error(text, o).find("does not make size"), std::string::npos) << import_error(text, o);
  NcclImportOptions reduce;
  reduce.collective = "reduce";  // whole-buffer counts like all-reduce, but a bus factor of 1
  const std::string ar = read_text(kData + "nccl-tests/all_reduce_perf_2node_h100.log");
  EXPECT_NE(import_error(ar, reduce).find("busbw"), std::string::npos) << import_error(ar, reduce);
  o.collective = "all_to_all";
  EXPECT_NE(import_error(read_text(kData + "nccl-tests/all_gather_perf_2.18.2.log"), o).find("contradicts"),
            std::string::npos);
}

TEST(NcclImport, SeveralTypesNeedAChoice) {
  std::string text = read_text(kData + "nccl-tests/reduce_scatter_perf_4gpu.log");
  // A second half-precision row of the same size in float, as `-d all` prints.
  const std::string row = "        4096           512      half     sum      -1";
  ASSERT_NE(text.find(row), std::string::npos);
  const auto end = text.find('\n', text.find(row));
  std::string extra = text.substr(text.find(row), end - text.find(row));
  extra.replace(extra.find("      half"), 10, "     float");
  extra.replace(extra.find("512"), 3, "256");
  text.insert(end + 1, extra + "\n");
  EXPECT_NE(import_error(text).find("--dtype"), std::string::npos) << import_error(text);
  NcclImportOptions o;
  o.dtype = "half";
  std::istringstream in(text);
  EXPECT_EQ(import_nccl_tests(in, "log", o, importer_provenance()).rows.size(), 8u);
}

}  // namespace
}  // namespace fabtwin::results
