// The per-rank runner over the verbs transport's layout, input and check, with every rank in a thread
// (tests/thread_backend.hpp), and the transport's data layout and early grants.
#include <gtest/gtest.h>

#include <algorithm>

#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/coll/datatype.hpp"
#include "fabtwin/verbs/bench.hpp"
#include "fabtwin/verbs/transport.hpp"
#include "thread_backend.hpp"

namespace fabtwin::verbs {
namespace {

using threaded::Mailbox;
using threaded::run_threaded;
using threaded::ThreadBackend;

TEST(RankRunner, EveryAllReduceAlgorithmIsRightOnEveryRankAlone) {
  for (const std::string& algo : coll::algorithms_for(coll::Collective::all_reduce)) {
    for (std::int32_t n : {1, 2, 3, 4, 5}) {
      for (std::uint64_t size : {0ull, 4ull, 52ull, 3000ull, 100003ull}) {
        const coll::Group group =
            algo == "hierarchical" && n % 2 == 0 ? coll::Group::uniform(n, 2) : coll::Group::flat(n);
        coll::Plan plan;
        try {
          plan = coll::make_plan(coll::Collective::all_reduce, algo, group, size, {});
        } catch (const std::invalid_argument&) {
          continue;  // the algorithm does not serve this group; make_plan says why elsewhere
        }
        if (!plan.reducers.empty()) continue;  // no real switch to reduce in: verbs refuses (tested apart)
        for (bool in_place : {false, true}) {
          EXPECT_EQ(run_threaded(plan, in_place), 0u)
              << algo << " " << n << " ranks " << size << " B" << (in_place ? " in place" : "");
        }
      }
    }
  }
}

TEST(RankRunner, OtherCollectivesAndTypesToo) {
  for (auto c : {coll::Collective::reduce_scatter, coll::Collective::all_gather, coll::Collective::broadcast,
                 coll::Collective::reduce, coll::Collective::all_to_all}) {
    for (const std::string& algo : coll::algorithms_for(c)) {
      for (auto dtype : {coll::DataType::float32, coll::DataType::bfloat16, coll::DataType::int64}) {
        coll::AlgoOptions o;
        o.dtype = dtype;
        o.op = coll::ReduceOp::max;
        o.root = 1;
        const auto plan = coll::make_plan(c, algo, coll::Group::flat(3), 3000, o);
        EXPECT_EQ(run_threaded(plan, false), 0u) << coll::to_string(c) << " " << algo;
        if (c != coll::Collective::all_to_all) {
          EXPECT_EQ(run_threaded(plan, true), 0u) << coll::to_string(c) << " " << algo;
        }
      }
    }
  }
}

TEST(RankRunner, RejectsARankOutsideThePlan) {
  const auto plan = coll::make_plan(coll::Collective::all_reduce, "ring", coll::Group::flat(2), 64, {});
  Mailbox mailbox;
  std::vector<std::byte> memory;
  ThreadBackend backend(plan, 0, false, memory, mailbox);
  EXPECT_THROW(coll::run_rank_plan(plan, 2, backend), std::invalid_argument);
}

TEST(Check, CountsEveryWrongElementAndNamesTheFirst) {
  auto plan = coll::make_plan(coll::Collective::all_reduce, "ring", coll::Group::flat(3), 400, {});
  EXPECT_EQ(run_threaded(plan, false), 0u);
  std::vector<std::byte> out(plan.ranks[1].output_bytes);
  for (std::uint64_t i = 0; i < 100; ++i) {
    double v = 0;
    for (int r = 0; r < 3; ++r) v += input_value(plan, 5, r, i);
    coll::store_from_double(plan.dtype, out.data(), i, v);
  }
  EXPECT_EQ(count_wrong(plan, 5, 1, out.data(), nullptr), 0u);
  coll::store_from_double(plan.dtype, out.data(), 17, 1000.0);
  coll::store_from_double(plan.dtype, out.data(), 99, -1000.0);
  std::string first;
  EXPECT_EQ(count_wrong(plan, 5, 1, out.data(), &first), 2u);
  EXPECT_NE(first.find("rank 1 output element 17: expected"), std::string::npos) << first;
}

TEST(Layout, RegionsDoNotOverlapAndInPlaceSharesInputWithOutput) {
  const auto plan = coll::make_plan(coll::Collective::all_gather, "ring", coll::Group::flat(4), 4096, {});
  const Layout out = layout_for(plan, 2, false);
  EXPECT_GE(out.output, out.input + plan.ranks[2].input_bytes);
  EXPECT_GE(out.scratch, out.output + plan.ranks[2].output_bytes);
  const Layout in = layout_for(plan, 2, true);
  // NCCL's in-place all-gather: rank r's input is its own block of the output.
  EXPECT_EQ(in.input, in.output + 2 * plan.ranks[2].input_bytes);
  EXPECT_EQ(peers_of(plan, 2), (std::vector<std::int32_t>{1, 3}));
}

}  // namespace
}  // namespace fabtwin::verbs

namespace fabtwin::verbs {
namespace {

coll::Step step(coll::StepKind kind, coll::Region src, coll::Region dst, std::vector<coll::StepIndex> deps) {
  coll::Step s;
  s.kind = kind;
  s.peer = kind == coll::StepKind::send || kind == coll::StepKind::recv ? 1 : -1;
  s.src = src;
  s.dst = dst;
  s.deps = std::move(deps);
  return s;
}

TEST(EarlyGrants, OnlyRecvsWhoseBytesNothingTouchesFirst) {
  using coll::BufferKind;
  using coll::StepKind;
  coll::Plan plan;
  plan.ranks.resize(2);
  coll::RankPlan& r0 = plan.ranks[0];
  r0.input_bytes = r0.output_bytes = 64;
  r0.scratch_bytes = 32;
  const coll::Region in{BufferKind::input, 0, 32}, out{BufferKind::output, 0, 32},
      scratch{BufferKind::scratch, 0, 32};
  r0.steps = {
      step(StepKind::copy, in, out, {}),                           // 0 writes out[0, 32)
      step(StepKind::recv, {}, out, {0}),                          // 1 lands where step 0 wrote: at post only
      step(StepKind::recv, {}, scratch, {}),                       // 2 nothing touches scratch first: early
      step(StepKind::reduce, scratch, out, {1, 2}),                // 3 reads scratch, waits for 2
      step(StepKind::recv, {}, {BufferKind::output, 32, 32}, {}),  // 4 read by send 5, which waits
      step(StepKind::send, {BufferKind::output, 32, 32}, {}, {4}),
  };
  for (std::uint32_t i = 0; i < r0.steps.size(); ++i) r0.steps[i].tag = i;
  EXPECT_EQ(early_grant_steps(plan, 0, layout_for(plan, 0, false)), (std::vector<coll::StepIndex>{2, 4}));
  // Step 3 reads scratch without waiting for recv 2 directly: 2 must wait for its post.
  r0.steps[3].deps = {1};
  EXPECT_EQ(early_grant_steps(plan, 0, layout_for(plan, 0, false)), (std::vector<coll::StepIndex>{4}));
}

TEST(EarlyGrants, InPlaceAliasingCounts) {
  // All-gather in place: rank r's input is its block of the output, which a recv must not overwrite.
  const auto plan = coll::make_plan(coll::Collective::all_gather, "ring", coll::Group::flat(3), 3000, {});
  for (bool in_place : {false, true}) {
    const Layout l = layout_for(plan, 1, in_place);
    const auto& steps = plan.ranks[1].steps;
    for (coll::StepIndex i : early_grant_steps(plan, 1, l)) {
      ASSERT_EQ(steps[i].kind, coll::StepKind::recv);
      // An early recv never lands on bytes a send of this rank reads without waiting for it.
      for (const coll::Step& s : steps) {
        if (s.kind != coll::StepKind::send || std::find(s.deps.begin(), s.deps.end(), i) != s.deps.end())
          continue;
        const std::uint64_t a = l.output + steps[i].dst.offset, b = a + steps[i].dst.bytes;
        const std::uint64_t base = s.src.buffer == coll::BufferKind::input ? l.input : l.output;
        EXPECT_FALSE(base + s.src.offset < b && a < base + s.src.offset + s.src.bytes) << "step " << i;
      }
    }
  }
}

}  // namespace
}  // namespace fabtwin::verbs

namespace fabtwin::verbs {
namespace {

// A plan that reduces in the NVSwitch cannot run between processes: there is no switch to run its
// reducers, and the refusal says so before any buffer is sized.
TEST(VerbsPlan, RefusesPlansThatReduceInTheNetwork) {
  const coll::Plan plan =
      coll::make_plan(coll::Collective::all_reduce, "nvls", coll::Group::uniform(4, 4), 4096, {});
  ASSERT_FALSE(plan.reducers.empty());
  try {
    layout_for(plan, 0, false);
    ADD_FAILURE() << "verbs sized buffers for a plan with in-network reducers";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("no switch to reduce in"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fabtwin::verbs
