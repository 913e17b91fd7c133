#include "fabtwin/coll/plan.hpp"

#include <cstring>
#include <stdexcept>
#include <unordered_map>

namespace fabtwin::coll {

const char* to_string(Collective c) {
  switch (c) {
    case Collective::all_reduce:
      return "all_reduce";
    case Collective::reduce_scatter:
      return "reduce_scatter";
    case Collective::all_gather:
      return "all_gather";
    case Collective::broadcast:
      return "broadcast";
    case Collective::reduce:
      return "reduce";
    case Collective::all_to_all:
      return "all_to_all";
  }
  return "?";
}

std::optional<Collective> collective_from_string(const std::string& s) {
  for (auto c : {Collective::all_reduce, Collective::reduce_scatter, Collective::all_gather,
                 Collective::broadcast, Collective::reduce, Collective::all_to_all}) {
    std::string name = to_string(c);
    std::string dashed = name;
    for (char& ch : dashed) ch = ch == '_' ? '-' : ch;
    std::string squashed;
    for (char ch : name) {
      if (ch != '_') squashed += ch;
    }
    if (s == name || s == dashed || s == squashed) return c;
  }
  if (s == "alltoall") return Collective::all_to_all;
  return std::nullopt;
}

const char* to_string(StepKind k) {
  switch (k) {
    case StepKind::send:
      return "send";
    case StepKind::recv:
      return "recv";
    case StepKind::reduce:
      return "reduce";
    case StepKind::copy:
      return "copy";
  }
  return "?";
}

const char* to_string(BufferKind b) {
  switch (b) {
    case BufferKind::input:
      return "input";
    case BufferKind::output:
      return "output";
    case BufferKind::scratch:
      return "scratch";
  }
  return "?";
}

std::size_t Plan::step_count() const {
  std::size_t n = 0;
  for (const auto& r : ranks) n += r.steps.size();
  return n;
}

namespace {

struct Fnv {
  std::uint64_t h = 1469598103934665603ull;
  void add(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xffu;
      h *= 1099511628211ull;
    }
  }
  void add(const Region& r) {
    add(static_cast<std::uint64_t>(r.buffer));
    add(r.offset);
    add(r.bytes);
  }
};

}  // namespace

std::uint64_t plan_hash(const Plan& plan) {
  Fnv f;
  f.add(static_cast<std::uint64_t>(plan.collective));
  for (char c : plan.algorithm) f.add(static_cast<std::uint64_t>(c));
  f.add(static_cast<std::uint64_t>(plan.dtype));
  f.add(static_cast<std::uint64_t>(plan.op));
  f.add(static_cast<std::uint64_t>(plan.root));
  f.add(plan.count);
  // Only plans that carry a protocol hash it, so the textbook plans keep the digests they had.
  if (!plan.protocol.empty()) {
    for (char c : plan.protocol.name) f.add(static_cast<std::uint64_t>(c));
    f.add(static_cast<std::uint64_t>(plan.channels));
  }
  for (const auto& rp : plan.ranks) {
    f.add(rp.input_bytes);
    f.add(rp.output_bytes);
    f.add(rp.scratch_bytes);
    f.add(rp.steps.size());
    for (const auto& s : rp.steps) {
      f.add(static_cast<std::uint64_t>(s.kind));
      f.add(static_cast<std::uint64_t>(s.peer));
      f.add(s.src);
      f.add(s.dst);
      f.add(s.tag);
      for (auto d : s.deps) f.add(d);
    }
  }
  return f.h;
}

TransferPairs pair_transfers(const Plan& plan) {
  const std::int32_t n = plan.rank_count();
  TransferPairs t;
  t.index_of.resize(n);
  std::unordered_map<TransferKey, std::uint32_t, TransferKeyHash> open;
  for (std::int32_t r = 0; r < n; ++r) {
    const auto& steps = plan.ranks[r].steps;
    t.index_of[r].assign(steps.size(), UINT32_MAX);
    for (StepIndex i = 0; i < steps.size(); ++i) {
      if (steps[i].kind != StepKind::send) continue;
      const auto index = static_cast<std::uint32_t>(t.pairs.size());
      t.index_of[r][i] = index;
      open.emplace(TransferKey{r, steps[i].peer, steps[i].tag}, index);
      t.pairs.push_back({r, i, steps[i].peer, 0});
    }
  }
  for (std::int32_t r = 0; r < n; ++r) {
    const auto& steps = plan.ranks[r].steps;
    for (StepIndex i = 0; i < steps.size(); ++i) {
      if (steps[i].kind != StepKind::recv) continue;
      auto it = open.find(TransferKey{steps[i].peer, r, steps[i].tag});
      if (it == open.end()) {
        throw std::invalid_argument("rank " + std::to_string(r) + " step " + std::to_string(i) +
                                    ": recv without a matching send (validate the plan first)");
      }
      t.pairs[it->second].recv = i;
      t.index_of[r][i] = it->second;
      open.erase(it);
    }
  }
  return t;
}

}  // namespace fabtwin::coll
