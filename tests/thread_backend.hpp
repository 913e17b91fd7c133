// The verbs path without verbs: every rank in its own thread drives only its own steps through
// run_rank_plan, over the same buffer layout, input and check the verbs transport uses; transfers go
// through an in-memory mailbox instead of RDMA writes. Shared by the rank runner's tests and the
// backend conformance test.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fabtwin/coll/datatype.hpp"
#include "fabtwin/coll/runner.hpp"
#include "fabtwin/verbs/bench.hpp"
#include "fabtwin/verbs/transport.hpp"

namespace fabtwin::verbs::threaded {

struct Mailbox {
  std::mutex mutex;
  std::condition_variable arrived;
  // A queue per transfer: a fast rank may send the next iteration's message before the last is read.
  std::unordered_map<coll::TransferKey, std::deque<std::vector<std::byte>>, coll::TransferKeyHash> messages;
};

class ThreadBackend final : public coll::Backend {
 public:
  ThreadBackend(const coll::Plan& plan, std::int32_t rank, bool in_place, std::vector<std::byte>& memory,
                Mailbox& mailbox)
      : plan_(plan),
        rank_(rank),
        layout_(layout_for(plan, rank, in_place)),
        memory_(memory),
        mailbox_(mailbox) {
    memory_.resize(layout_.bytes);
  }
  std::byte* at(const coll::Region& r) {
    const std::uint64_t base = r.buffer == coll::BufferKind::input    ? layout_.input
                               : r.buffer == coll::BufferKind::output ? layout_.output
                                                                      : layout_.scratch;
    EXPECT_LE(base + r.end(), memory_.size());
    return memory_.data() + base + r.offset;
  }
  void post(coll::StepRef ref, Seconds) override {
    EXPECT_EQ(ref.rank, rank_) << "the per-rank runner posted another rank's step";
    const coll::Step& s = plan_.ranks[rank_].steps[ref.step];
    switch (s.kind) {
      case coll::StepKind::copy:
        if (s.src.bytes > 0) std::memmove(at(s.dst), at(s.src), s.src.bytes);
        break;
      case coll::StepKind::reduce:
        if (s.src.bytes > 0)
          coll::reduce_into(plan_.dtype, plan_.op, at(s.dst), at(s.src),
                            s.src.bytes / coll::element_size(plan_.dtype));
        break;
      case coll::StepKind::send: {
        std::lock_guard lock(mailbox_.mutex);
        mailbox_.messages[{rank_, s.peer, s.tag}].emplace_back(at(s.src), at(s.src) + s.src.bytes);
        mailbox_.arrived.notify_all();
        break;
      }
      case coll::StepKind::recv:
        waiting_.push_back(ref.step);
        return;
    }
    done_.push_back({ref, Seconds(0), Seconds(0)});
  }
  std::vector<coll::Completion> progress() override {
    std::unique_lock lock(mailbox_.mutex);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (done_.empty()) {
      for (auto it = waiting_.begin(); it != waiting_.end();) {
        const coll::Step& s = plan_.ranks[rank_].steps[*it];
        auto m = mailbox_.messages.find({s.peer, rank_, s.tag});
        if (m == mailbox_.messages.end() || m->second.empty()) {
          ++it;
          continue;
        }
        const std::vector<std::byte>& data = m->second.front();
        EXPECT_EQ(data.size(), s.dst.bytes);
        if (!data.empty()) std::memcpy(at(s.dst), data.data(), data.size());
        m->second.pop_front();
        done_.push_back({{rank_, *it}, Seconds(0), Seconds(0)});
        it = waiting_.erase(it);
      }
      if (done_.empty() && mailbox_.arrived.wait_until(lock, deadline) == std::cv_status::timeout) return {};
    }
    std::vector<coll::Completion> out;
    out.swap(done_);
    return out;
  }

 private:
  const coll::Plan& plan_;
  std::int32_t rank_;
  Layout layout_;
  std::vector<std::byte>& memory_;
  Mailbox& mailbox_;
  std::vector<coll::StepIndex> waiting_;
  std::vector<coll::Completion> done_;
};

// Runs every rank in its own thread, twice (a second iteration reuses tags), and returns each rank's
// number of wrong output elements over both iterations.
inline std::vector<std::uint64_t> wrong_per_rank(const coll::Plan& plan, bool in_place) {
  const std::int32_t n = plan.rank_count();
  Mailbox mailbox;
  std::vector<std::vector<std::byte>> memory(n);
  std::vector<std::uint64_t> wrong(n, 0);
  std::vector<std::thread> threads;
  for (std::int32_t r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      ThreadBackend backend(plan, r, in_place, memory[r], mailbox);
      const Layout l = layout_for(plan, r, in_place);
      for (int iteration = 0; iteration < 2; ++iteration) {
        fill_input(plan, 7 + iteration, r, memory[r].data() + l.input);
        const auto result = coll::run_rank_plan(plan, r, backend);
        EXPECT_EQ(result.trace.size(), plan.ranks[r].steps.size());
        std::string first;
        wrong[r] += count_wrong(plan, 7 + iteration, r, memory[r].data() + l.output, &first);
        EXPECT_TRUE(first.empty()) << first;
      }
    });
  }
  for (auto& t : threads) t.join();
  return wrong;
}

// The same, summed over ranks.
inline std::uint64_t run_threaded(const coll::Plan& plan, bool in_place) {
  std::uint64_t total = 0;
  for (auto w : wrong_per_rank(plan, in_place)) total += w;
  return total;
}

}  // namespace fabtwin::verbs::threaded
