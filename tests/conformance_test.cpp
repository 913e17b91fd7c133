// Backend conformance: every backend that can run a plan, on every collective and algorithm of the
// catalog, over rank counts 1..16 and sizes from 0 to 10,000 elements (as gloo's tests sweep them),
// checked against what the reference executor and the plan itself define. Backends that move data
// must produce the oracle's output (coll::output_source); backends that only model time must produce
// a trace that is consistent with the plan's dependencies.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "fabtwin/analytic/analytic.hpp"
#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/coll/datatype.hpp"
#include "fabtwin/coll/reference.hpp"
#include "fabtwin/coll/runner.hpp"
#include "fabtwin/flow/flow.hpp"
#include "fabtwin/packet/packet.hpp"
#include "fabtwin/topo/generators.hpp"
#include "fabtwin/topo/routing.hpp"
#if FABTWIN_HAVE_VERBS
#include "thread_backend.hpp"
#endif

namespace fabtwin {
namespace {

// 16 ranks, two per host, so topology-aware algorithms (hierarchical) see real hosts; Hopper GPUs so
// that NVSwitches reduce (NVLS).
constexpr const char* kTopology = "fat-tree:tiers=2,hosts=8,hosts_per_leaf=4,gpu=h100,gpus=2";

const topo::Topology& topology() {
  static const topo::Topology t = topo::topology_from_spec(kTopology);
  return t;
}

const topo::Router& router() {
  static const topo::Router r(topology());
  return r;
}

// The topology's group cut down to the first `ranks` ranks, as the experiment runner builds it.
coll::Group group_of(std::int32_t ranks) {
  coll::Group g = coll::Group::from_topology(topology());
  g.ranks = ranks;
  g.host_of_rank.resize(static_cast<std::size_t>(ranks));
  return g;
}

std::vector<std::int32_t> ranks_up_to(std::int32_t n) {
  std::vector<std::int32_t> v;
  for (std::int32_t r = 1; r <= n; ++r) v.push_back(r);
  return v;
}

// What a timing backend guarantees about the trace it produces through the runner.
struct TraceRules {
  // The model's clock: times may differ from the runner's by this much from rounding (ns-3 keeps
  // picoseconds, the runner doubles).
  Seconds resolution{0};
  // Both halves of a transfer complete at the same moment (the analytic model). The packet model's
  // send completes when the acknowledgement returns, so there only send.end >= recv.end holds.
  bool halves_end_together = true;
};

void check_trace(const coll::Plan& plan, const coll::RunResult& run, const TraceRules& rules) {
  const std::int32_t n = plan.rank_count();
  std::vector<std::vector<const coll::TraceRecord*>> rec(n);
  std::size_t total = 0;
  for (std::int32_t r = 0; r < n; ++r) {
    rec[r].assign(plan.ranks[r].steps.size(), nullptr);
    total += plan.ranks[r].steps.size();
  }
  ASSERT_EQ(run.trace.size(), total) << "every step completes exactly once";
  Seconds latest{0};
  for (const coll::TraceRecord& t : run.trace) {
    ASSERT_TRUE(t.rank >= 0 && t.rank < n && t.step < rec[t.rank].size()) << "rank " << t.rank;
    ASSERT_EQ(rec[t.rank][t.step], nullptr) << "rank " << t.rank << " step " << t.step << " completed twice";
    rec[t.rank][t.step] = &t;
    latest = std::max(latest, t.end);
  }
  const Seconds eps = rules.resolution;
  // Sends by (sender, receiver, tag), to find each receive's partner.
  std::unordered_map<coll::TransferKey, const coll::TraceRecord*, coll::TransferKeyHash> sends;
  for (std::int32_t r = 0; r < n; ++r) {
    const auto& steps = plan.ranks[r].steps;
    for (coll::StepIndex i = 0; i < steps.size(); ++i) {
      const coll::TraceRecord& t = *rec[r][i];
      const std::string at = "rank " + std::to_string(r) + " step " + std::to_string(i);
      EXPECT_EQ(t.kind, steps[i].kind) << at;
      for (coll::StepIndex d : steps[i].deps) {
        EXPECT_GE(t.ready.count(), rec[r][d]->end.count())
            << at << " ready before its dependency " << d << " ended";
      }
      EXPECT_GE(t.start.count() + eps.count(), t.ready.count()) << at << " started before it was ready";
      EXPECT_GE(t.end.count() + eps.count(), t.start.count()) << at << " ended before it started";
      if (steps[i].kind == coll::StepKind::send) sends[{r, steps[i].peer, steps[i].tag}] = &t;
    }
  }
  for (std::int32_t r = 0; r < n; ++r) {
    const auto& steps = plan.ranks[r].steps;
    for (coll::StepIndex i = 0; i < steps.size(); ++i) {
      if (steps[i].kind != coll::StepKind::recv) continue;
      const std::string at = "rank " + std::to_string(r) + " recv step " + std::to_string(i);
      const auto it = sends.find({steps[i].peer, r, steps[i].tag});
      ASSERT_NE(it, sends.end()) << at << " has no matching send";
      const coll::TraceRecord& send = *it->second;
      const coll::TraceRecord& recv = *rec[r][i];
      EXPECT_EQ(send.start.count(), recv.start.count()) << at << ": the transfer starts once for both halves";
      // Not equal to the later readiness: the analytic model queues a transfer behind busy links.
      EXPECT_GE(send.start.count() + eps.count(), std::max(send.ready, recv.ready).count())
          << at << ": a transfer starts after its later half is ready";
      if (rules.halves_end_together) {
        EXPECT_EQ(send.end.count(), recv.end.count()) << at;
      } else {
        EXPECT_GE(send.end.count() + eps.count(), recv.end.count())
            << at << ": send completed before delivery";
      }
    }
  }
  EXPECT_EQ(run.makespan.count(), latest.count()) << "the makespan is the latest end";
}

void check_reference(const coll::Plan& plan) {
  for (bool in_place : {false, true}) {
    if (in_place && plan.collective == coll::Collective::all_to_all) continue;  // not offered (as NCCL)
    const coll::VerifyResult v = coll::verify_plan(plan, 42, in_place);
    EXPECT_TRUE(v.ok) << (in_place ? "in place: " : "") << v.message;
  }
}

void check_analytic(const coll::Plan& plan) {
  analytic::AnalyticBackend backend(plan, router(), {});
  check_trace(plan, coll::run_plan(plan, backend), {Seconds(0), true});
}

void check_packet(const coll::Plan& plan) {
  // One at a time: ns-3's simulator is a process-wide singleton (the backend dies with this scope).
  packet::PacketBackend backend(plan, topology(), {});
  check_trace(plan, coll::run_plan(plan, backend), {Seconds(1e-12), false});
}

void check_flow(const coll::Plan& plan) {
  // Its own process per run (SimGrid's engine is once per process); times are SimGrid's clock. A send
  // completes when its acknowledgement is back, as in the packet model.
  check_trace(plan, flow::simulate(plan, topology(), {}).run, {Seconds(1e-12), false});
}

#if FABTWIN_HAVE_VERBS
void check_verbs_threads(const coll::Plan& plan) {
  for (bool in_place : {false, true}) {
    if (in_place && plan.collective == coll::Collective::all_to_all) continue;
    const std::vector<std::uint64_t> wrong = verbs::threaded::wrong_per_rank(plan, in_place);
    for (std::size_t r = 0; r < wrong.size(); ++r) {
      EXPECT_EQ(wrong[r], 0u) << "rank " << r << (in_place ? " in place" : "");
    }
  }
}
#endif

struct BackendRow {
  const char* name;
  std::vector<std::int32_t> ranks;
  std::vector<std::uint64_t> elements;  // float32 elements: the nccl-tests size / 4
  std::function<void(const coll::Plan&)> check;
  bool reduces_in_switch = false;  // runs plans with in-network reducers (the others refuse them)
};

// The backends under test, one row each: adding a backend means adding a row here (its rank counts,
// its sizes and how to check one plan on it); every collective and algorithm of the catalog then runs
// on it. The packet model gets a representative subset: the full cross product costs minutes there.
const std::vector<BackendRow>& backends() {
  static const std::vector<BackendRow> rows = {
    {"reference", ranks_up_to(16), {0, 1, 4, 100, 1000, 10000}, check_reference, true},
    {"analytic", ranks_up_to(16), {0, 1, 4, 100, 1000, 10000}, check_analytic, true},
    {"packet", ranks_up_to(16), {0, 1, 4, 100, 1000, 10000}, check_packet},
    {"flow", ranks_up_to(16), {0, 1, 100, 10000}, check_flow, true},
#if FABTWIN_HAVE_VERBS
    {"verbs_threads", ranks_up_to(16), {0, 1, 4, 100, 1000, 10000}, check_verbs_threads},
#endif
  };
  return rows;
}

using Param = std::tuple<std::size_t, std::size_t>;  // (backend row, catalog entry)

class Conformance : public ::testing::TestWithParam<Param> {};

TEST_P(Conformance, AgreesWithTheReference) {
  const BackendRow& row = backends()[std::get<0>(GetParam())];
  const coll::AlgorithmInfo& algo = coll::algorithm_catalog()[std::get<1>(GetParam())];
  int ran = 0;
  for (std::int32_t n : row.ranks) {
    for (std::uint64_t elements : row.elements) {
      coll::AlgoOptions options;
      options.root = n / 2;  // not always rank 0, so a root-specific shortcut would show
      coll::Plan plan;
      try {
        plan = coll::make_plan(algo.collective, algo.name, group_of(n), elements * 4, options);
      } catch (const std::invalid_argument&) {
        continue;  // the algorithm refuses this group: skipped alike on every backend
      }
      if (!plan.reducers.empty() && !row.reduces_in_switch) continue;  // refused, tested on its own
      SCOPED_TRACE(std::string(row.name) + " " + coll::to_string(algo.collective) + "/" + algo.name + " " +
                   std::to_string(n) + " ranks " + std::to_string(elements) + " elements");
      row.check(plan);
      ++ran;
      if (HasFatalFailure()) return;
    }
  }
  RecordProperty("plans", ran);
  if (ran == 0) GTEST_SKIP() << algo.name << " serves none of these groups";
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  const coll::AlgorithmInfo& algo = coll::algorithm_catalog()[std::get<1>(info.param)];
  std::string s = std::string(backends()[std::get<0>(info.param)].name) + "_" +
                  coll::to_string(algo.collective) + "_" + algo.name;
  for (char& c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(Backends, Conformance,
                         ::testing::Combine(::testing::Range<std::size_t>(0, backends().size()),
                                            ::testing::Range<std::size_t>(0,
                                                                          coll::algorithm_catalog().size())),
                         param_name);

}  // namespace
}  // namespace fabtwin
