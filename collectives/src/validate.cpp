#include <algorithm>
#include <deque>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "fabtwin/coll/plan.hpp"

namespace fabtwin::coll {

namespace {

std::string where(const Plan& plan, std::int32_t rank, StepIndex i) {
  const Step& s = plan.ranks[rank].steps[i];
  std::ostringstream o;
  o << "plan " << to_string(plan.collective) << "/" << plan.algorithm << ": rank " << rank << " step " << i
    << " (" << to_string(s.kind);
  if (s.kind == StepKind::send || s.kind == StepKind::recv) o << " peer " << s.peer << " tag " << s.tag;
  o << ")";
  return o.str();
}

[[noreturn]] void fail(const Plan& plan, std::int32_t rank, StepIndex i, const std::string& what) {
  throw InvalidPlan(where(plan, rank, i) + ": " + what);
}

std::uint64_t buffer_size(const RankPlan& rp, BufferKind b) {
  switch (b) {
    case BufferKind::input:
      return rp.input_bytes;
    case BufferKind::output:
      return rp.output_bytes;
    case BufferKind::scratch:
      return rp.scratch_bytes;
  }
  return 0;
}

struct Access {
  std::uint64_t begin;
  std::uint64_t end;
  StepIndex step;
  bool write;
};

// The regions a step reads and writes.
void accesses(const Step& s, StepIndex i, std::vector<Access> (&by_buffer)[3]) {
  auto add = [&](const Region& r, bool write) {
    if (r.bytes > 0) by_buffer[static_cast<int>(r.buffer)].push_back({r.offset, r.end(), i, write});
  };
  switch (s.kind) {
    case StepKind::send:
      add(s.src, false);
      break;
    case StepKind::recv:
      add(s.dst, true);
      break;
    case StepKind::reduce:
      add(s.src, false);
      add(s.dst, true);
      break;
    case StepKind::copy:
      add(s.src, false);
      add(s.dst, true);
      break;
  }
}

void check_steps(const Plan& plan) {
  const std::uint64_t elem = element_size(plan.dtype);
  const std::int32_t n = plan.rank_count();
  for (std::int32_t r = 0; r < n; ++r) {
    const RankPlan& rp = plan.ranks[r];
    for (StepIndex i = 0; i < rp.steps.size(); ++i) {
      const Step& s = rp.steps[i];
      for (StepIndex d : s.deps) {
        if (d >= i)
          fail(plan, r, i, "depends on step " + std::to_string(d) + ", which is not an earlier step");
      }
      auto check_region = [&](const Region& reg, const char* role) {
        const std::uint64_t size = buffer_size(rp, reg.buffer);
        if (reg.end() > size || reg.end() < reg.offset) {
          fail(plan, r, i,
               std::string(role) + " region [" + std::to_string(reg.offset) + ", " +
                   std::to_string(reg.end()) + ") lies outside the " + to_string(reg.buffer) + " buffer of " +
                   std::to_string(size) + " bytes");
        }
        if (reg.offset % elem != 0 || reg.bytes % elem != 0) {
          fail(plan, r, i,
               std::string(role) + " region is not aligned to the " + std::to_string(elem) + "-byte " +
                   to_string(plan.dtype) + " element");
        }
      };
      const bool transfer = s.kind == StepKind::send || s.kind == StepKind::recv;
      if (transfer && (s.peer < 0 || s.peer >= n || s.peer == r)) {
        fail(plan, r, i,
             "peer " + std::to_string(s.peer) + " is not another rank of the " + std::to_string(n) +
                 "-rank group");
      }
      if (s.kind != StepKind::recv) check_region(s.src, "source");
      if (s.kind != StepKind::send) check_region(s.dst, "destination");
      if ((s.kind == StepKind::reduce || s.kind == StepKind::copy) && s.src.bytes != s.dst.bytes) {
        fail(plan, r, i, "source and destination differ in size");
      }
      if (s.kind == StepKind::reduce && s.src.buffer == s.dst.buffer && s.src.offset < s.dst.end() &&
          s.dst.offset < s.src.end()) {
        fail(plan, r, i, "reduces a region into itself");
      }
    }
  }
}

// partner[r][i]: the matching step of a send or recv, as (rank, step).
using Partners = std::vector<std::vector<std::pair<std::int32_t, StepIndex>>>;

Partners match_transfers(const Plan& plan) {
  const std::int32_t n = plan.rank_count();
  Partners partner(n);
  std::unordered_map<TransferKey, std::pair<std::int32_t, StepIndex>, TransferKeyHash> sends;
  for (std::int32_t r = 0; r < n; ++r) {
    partner[r].assign(plan.ranks[r].steps.size(), {-1, 0});
    for (StepIndex i = 0; i < plan.ranks[r].steps.size(); ++i) {
      const Step& s = plan.ranks[r].steps[i];
      if (s.kind != StepKind::send) continue;
      if (!sends.emplace(TransferKey{r, s.peer, s.tag}, std::make_pair(r, i)).second) {
        fail(plan, r, i, "a second send with the same peer and tag");
      }
    }
  }
  for (std::int32_t r = 0; r < n; ++r) {
    for (StepIndex i = 0; i < plan.ranks[r].steps.size(); ++i) {
      const Step& s = plan.ranks[r].steps[i];
      if (s.kind != StepKind::recv) continue;
      auto it = sends.find(TransferKey{s.peer, r, s.tag});
      if (it == sends.end()) fail(plan, r, i, "no matching send on rank " + std::to_string(s.peer));
      const auto [sr, si] = it->second;
      const Step& send = plan.ranks[sr].steps[si];
      if (send.src.bytes != s.dst.bytes) {
        fail(plan, r, i,
             "receives " + std::to_string(s.dst.bytes) + " bytes but rank " + std::to_string(sr) + " step " +
                 std::to_string(si) + " sends " + std::to_string(send.src.bytes));
      }
      partner[r][i] = {sr, si};
      partner[sr][si] = {r, i};
      sends.erase(it);
    }
  }
  if (!sends.empty()) {
    // Report the lowest (rank, step) so the message is deterministic.
    auto first = std::min_element(sends.begin(), sends.end(),
                                  [](const auto& a, const auto& b) { return a.second < b.second; });
    fail(plan, first->second.first, first->second.second,
         "no matching recv on rank " +
             std::to_string(plan.ranks[first->second.first].steps[first->second.second].peer));
  }
  return partner;
}

// Replays the plan with instantaneous steps. A transfer completes once both halves are posted, as in
// every backend, so anything left over waits on a cycle that spans ranks: the plan would deadlock.
void check_progress(const Plan& plan, const Partners& partner) {
  const std::int32_t n = plan.rank_count();
  std::vector<std::vector<std::uint32_t>> missing(n);
  std::vector<std::vector<std::vector<StepIndex>>> dependents(n);
  std::vector<std::vector<bool>> posted(n);
  std::vector<std::vector<bool>> completed(n);
  std::deque<std::pair<std::int32_t, StepIndex>> ready;
  std::size_t done = 0;
  std::size_t total = 0;
  for (std::int32_t r = 0; r < n; ++r) {
    const auto& steps = plan.ranks[r].steps;
    total += steps.size();
    missing[r].resize(steps.size());
    dependents[r].resize(steps.size());
    posted[r].assign(steps.size(), false);
    completed[r].assign(steps.size(), false);
    for (StepIndex i = 0; i < steps.size(); ++i) {
      missing[r][i] = static_cast<std::uint32_t>(steps[i].deps.size());
      for (StepIndex d : steps[i].deps) dependents[r][d].push_back(i);
      if (steps[i].deps.empty()) ready.emplace_back(r, i);
    }
  }
  auto complete = [&](std::int32_t r, StepIndex i) {
    ++done;
    completed[r][i] = true;
    for (StepIndex d : dependents[r][i]) {
      if (--missing[r][d] == 0) ready.emplace_back(r, d);
    }
  };
  while (!ready.empty()) {
    const auto [r, i] = ready.front();
    ready.pop_front();
    posted[r][i] = true;
    const Step& s = plan.ranks[r].steps[i];
    if (s.kind == StepKind::send || s.kind == StepKind::recv) {
      const auto [pr, pi] = partner[r][i];
      if (!posted[pr][pi]) continue;
      complete(r, i);
      complete(pr, pi);
    } else {
      complete(r, i);
    }
  }
  if (done == total) return;
  for (std::int32_t r = 0; r < n; ++r) {
    for (StepIndex i = 0; i < plan.ranks[r].steps.size(); ++i) {
      if (posted[r][i] && !completed[r][i]) {
        const auto [pr, pi] = partner[r][i];
        fail(plan, r, i,
             "can never complete: its partner, rank " + std::to_string(pr) + " step " + std::to_string(pi) +
                 ", waits on a dependency cycle across ranks (the plan would deadlock)");
      }
    }
  }
  throw InvalidPlan("plan " + std::string(to_string(plan.collective)) + "/" + plan.algorithm +
                    ": no step can start (dependency cycle)");
}

// Two steps of one rank that touch overlapping bytes, at least one writing, must be ordered by
// dependencies: a backend may run any two unordered steps at once (an RDMA write can land in a
// posted receive region at any moment).
void check_races(const Plan& plan) {
  for (std::int32_t r = 0; r < plan.rank_count(); ++r) {
    const auto& steps = plan.ranks[r].steps;
    const std::size_t s = steps.size();
    if (s > kMaxRaceCheckedSteps) {
      throw std::invalid_argument(
          "plan " + std::string(to_string(plan.collective)) + "/" + plan.algorithm + ": rank " +
          std::to_string(r) + " has " + std::to_string(s) + " steps; the race check orders at most " +
          std::to_string(kMaxRaceCheckedSteps) + " per rank (use fewer ranks or chunks)");
    }
    const std::size_t words = (s + 63) / 64;
    std::vector<std::uint64_t> before(s * words, 0);  // before[i]: bitset of steps ordered before i
    for (std::size_t i = 0; i < s; ++i) {
      std::uint64_t* mine = &before[i * words];
      for (StepIndex d : steps[i].deps) {
        const std::uint64_t* theirs = &before[d * words];
        for (std::size_t w = 0; w < words; ++w) mine[w] |= theirs[w];
        mine[d / 64] |= 1ull << (d % 64);
      }
    }
    auto ordered = [&](StepIndex a, StepIndex b) {
      if (a > b) std::swap(a, b);
      return (before[b * words + a / 64] >> (a % 64)) & 1ull;
    };
    std::vector<Access> by_buffer[3];
    for (StepIndex i = 0; i < s; ++i) accesses(steps[i], i, by_buffer);
    for (int b = 0; b < 3; ++b) {
      auto& acc = by_buffer[b];
      std::sort(acc.begin(), acc.end(), [](const Access& x, const Access& y) { return x.begin < y.begin; });
      std::vector<Access> active;
      for (const Access& a : acc) {
        std::erase_if(active, [&](const Access& x) { return x.end <= a.begin; });
        for (const Access& x : active) {
          if ((a.write || x.write) && x.step != a.step && !ordered(x.step, a.step)) {
            const StepIndex later = std::max(x.step, a.step);
            fail(plan, r, later,
                 std::string("may ") + ((a.step == later ? a.write : x.write) ? "write" : "read") + " " +
                     to_string(static_cast<BufferKind>(b)) + " bytes [" +
                     std::to_string(std::max(a.begin, x.begin)) + ", " +
                     std::to_string(std::min(a.end, x.end)) + ") while step " +
                     std::to_string(std::min(x.step, a.step)) +
                     " touches them: add a dependency between the two");
          }
        }
        active.push_back(a);
      }
    }
  }
}

void check_output_written(const Plan& plan) {
  for (std::int32_t r = 0; r < plan.rank_count(); ++r) {
    const RankPlan& rp = plan.ranks[r];
    std::vector<std::pair<std::uint64_t, std::uint64_t>> writes;
    for (const Step& s : rp.steps) {
      if (s.kind != StepKind::send && s.dst.buffer == BufferKind::output && s.dst.bytes > 0) {
        writes.emplace_back(s.dst.offset, s.dst.end());
      }
    }
    std::sort(writes.begin(), writes.end());
    std::uint64_t covered = 0;
    for (const auto& [b, e] : writes) {
      if (b > covered) break;
      covered = std::max(covered, e);
    }
    if (covered < rp.output_bytes) {
      throw InvalidPlan("plan " + std::string(to_string(plan.collective)) + "/" + plan.algorithm + ": rank " +
                        std::to_string(r) + ": no step writes output bytes from " + std::to_string(covered) +
                        " (of " + std::to_string(rp.output_bytes) + ")");
    }
  }
}

}  // namespace

void validate(const Plan& plan) {
  check_steps(plan);
  const Partners partner = match_transfers(plan);
  check_progress(plan, partner);
  check_races(plan);
  check_output_written(plan);
}

}  // namespace fabtwin::coll
