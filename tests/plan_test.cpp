// The validator and the runner: a bad plan is named precisely, a stalled backend never hangs.
#include "fabtwin/coll/plan.hpp"

#include <gtest/gtest.h>

#include <set>

#include "fabtwin/coll/reference.hpp"
#include "fabtwin/coll/runner.hpp"

namespace fabtwin::coll {
namespace {

// Two ranks swap 16 bytes: each copies input to output, sends it, and receives the other's into
// the second half of a 32-byte output.
Plan swap_plan() {
  Plan p;
  p.algorithm = "handmade";
  p.collective = Collective::all_gather;
  p.count = 8;
  p.ranks.resize(2);
  for (std::int32_t r = 0; r < 2; ++r) {
    auto& rp = p.ranks[r];
    rp.input_bytes = 16;
    rp.output_bytes = 32;
    const std::uint64_t mine = static_cast<std::uint64_t>(r) * 16;
    const std::uint64_t theirs = 16 - mine;
    rp.steps.push_back(
        {StepKind::copy, -1, {BufferKind::input, 0, 16}, {BufferKind::output, mine, 16}, 0, {}});
    rp.steps.push_back({StepKind::send, 1 - r, {BufferKind::input, 0, 16}, {}, 0, {}});
    rp.steps.push_back({StepKind::recv, 1 - r, {}, {BufferKind::output, theirs, 16}, 0, {}});
  }
  return p;
}

std::string validation_error(const Plan& p) {
  try {
    validate(p);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(Validate, AcceptsAndRunsAHandmadePlan) {
  const Plan p = swap_plan();
  EXPECT_EQ(validation_error(p), "");
  const auto v = verify_plan(p, 1);
  EXPECT_TRUE(v.ok) << v.message;
}

TEST(Validate, NamesAnUnmatchedRecv) {
  Plan p = swap_plan();
  p.ranks[1].steps[2].tag = 9;
  const std::string e = validation_error(p);
  EXPECT_NE(e.find("rank 1 step 2 (recv peer 0 tag 9): no matching send on rank 0"), std::string::npos) << e;
}

TEST(Validate, NamesASizeMismatch) {
  Plan p = swap_plan();
  p.ranks[0].steps[1].src.bytes = 8;
  const std::string e = validation_error(p);
  EXPECT_NE(e.find("receives 16 bytes but rank 0 step 1 sends 8"), std::string::npos) << e;
}

TEST(Validate, FindsADeadlockAcrossRanks) {
  Plan p = swap_plan();
  // Each rank sends only after it has received: neither ever sends.
  p.ranks[0].steps[1].deps = {};
  std::swap(p.ranks[0].steps[1], p.ranks[0].steps[2]);
  p.ranks[0].steps[2].deps = {1};
  std::swap(p.ranks[1].steps[1], p.ranks[1].steps[2]);
  p.ranks[1].steps[2].deps = {1};
  const std::string e = validation_error(p);
  EXPECT_NE(e.find("deadlock"), std::string::npos) << e;
}

TEST(Validate, RejectsDependenciesOnLaterSteps) {
  Plan p = swap_plan();
  p.ranks[0].steps[0].deps = {2};
  const std::string e = validation_error(p);
  EXPECT_NE(e.find("rank 0 step 0 (copy): depends on step 2, which is not an earlier step"),
            std::string::npos)
      << e;
}

TEST(Validate, FindsTwoUnorderedWritesToOneRegion) {
  Plan p = swap_plan();
  p.ranks[1].steps[2].dst.offset = 16;  // lands on the bytes the copy writes
  p.ranks[1].steps[0].dst.offset = 16;
  p.ranks[1].output_bytes = 32;
  const std::string e = validation_error(p);
  EXPECT_NE(e.find("rank 1 step 2 (recv peer 0 tag 0): may write output bytes [16, 32) while step 0"),
            std::string::npos)
      << e;
  // Ordering the receive after the copy makes it legal (the receive simply overwrites).
  p.ranks[1].steps[2].deps = {0};
  EXPECT_EQ(validation_error(p).find("may write"), std::string::npos);
}

TEST(Validate, FindsOutputThatNothingWrites) {
  Plan p = swap_plan();
  p.ranks[0].output_bytes = 48;
  const std::string e = validation_error(p);
  EXPECT_NE(e.find("rank 0: no step writes output bytes from 32 (of 48)"), std::string::npos) << e;
}

TEST(Validate, RejectsRegionsOutsideTheBufferAndMisaligned) {
  Plan p = swap_plan();
  p.ranks[0].steps[1].src.offset = 8;
  EXPECT_NE(validation_error(p).find("source region [8, 24) lies outside the input buffer of 16 bytes"),
            std::string::npos);
  p = swap_plan();
  p.ranks[0].steps[0].dst.offset = 2;
  EXPECT_NE(validation_error(p).find("not aligned to the 4-byte float element"), std::string::npos);
}

TEST(Validate, RejectsSendsToThemselvesOrToNobody) {
  Plan p = swap_plan();
  p.ranks[0].steps[1].peer = 0;
  EXPECT_NE(validation_error(p).find("peer 0 is not another rank"), std::string::npos);
  p.ranks[0].steps[1].peer = 7;
  EXPECT_NE(validation_error(p).find("peer 7 is not another rank"), std::string::npos);
}

// A backend that accepts work and never finishes any: the runner must report, not hang.
class SilentBackend final : public Backend {
 public:
  void post(StepRef, Seconds) override {}
  std::vector<Completion> progress() override { return {}; }
};

TEST(Runner, ReportsAStallInsteadOfHanging) {
  const Plan p = swap_plan();
  SilentBackend b;
  try {
    run_plan(p, b);
    FAIL() << "expected a stall";
  } catch (const std::runtime_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("stalled after 0 of 6 steps"), std::string::npos) << m;
    EXPECT_NE(m.find("[rank 0 step 1 send peer 1 tag 0]"), std::string::npos) << m;
  }
}

TEST(Runner, TraceHasEveryStepOnceWithItsKindPeerAndBytes) {
  const Plan p = swap_plan();
  std::vector<RankBuffers> buffers(2);
  for (auto& b : buffers) b.input.resize(16);
  ReferenceBackend backend(p, buffers);
  const RunResult r = run_plan(p, backend);
  ASSERT_EQ(r.trace.size(), 6u);
  std::set<std::pair<std::int32_t, StepIndex>> seen;
  for (const auto& t : r.trace) {
    EXPECT_TRUE(seen.emplace(t.rank, t.step).second);
    EXPECT_EQ(t.kind, p.ranks[t.rank].steps[t.step].kind);
    EXPECT_EQ(t.bytes, 16u);
    if (t.kind == StepKind::send) {
      EXPECT_EQ(t.peer, 1 - t.rank);
    }
  }
}

}  // namespace
}  // namespace fabtwin::coll

namespace fabtwin::coll {
namespace {

TEST(Validate, DeadlockMessageNamesATransferThatNeverCompleted) {
  Plan p = swap_plan();
  std::swap(p.ranks[0].steps[1], p.ranks[0].steps[2]);
  p.ranks[0].steps[2].deps = {1};
  std::swap(p.ranks[1].steps[1], p.ranks[1].steps[2]);
  p.ranks[1].steps[2].deps = {1};
  const std::string e = validation_error(p);
  // Step 0 is a copy that completes; the report must point at the stuck receive.
  EXPECT_NE(e.find("rank 0 step 1 (recv peer 1 tag 0): can never complete"), std::string::npos) << e;
}

}  // namespace
}  // namespace fabtwin::coll
