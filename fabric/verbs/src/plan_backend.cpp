// The plan's steps over the transport: layout of the registered buffer, the peers a rank talks to,
// and the coll::Backend that posts writes, grants and reductions.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <set>
#include <sstream>

#include "fabtwin/coll/datatype.hpp"
#include "fabtwin/coll/reference.hpp"
#include "fabtwin/verbs/transport.hpp"
#include "wire_ids.hpp"

namespace fabtwin::verbs {

using detail::align_up;
using detail::key;
using detail::kGrantWr;

Layout layout_for(const coll::Plan& plan, std::int32_t rank, bool in_place) {
  if (!plan.reducers.empty()) {
    // The reducers would be switches that add up what they forward; real verbs has none to run them.
    throw std::invalid_argument(
        "this plan reduces in the network (NVLS): RDMA verbs between processes has no "
        "switch to reduce in; measure an algorithm without in-network reduction");
  }
  const coll::RankPlan& rp = plan.ranks.at(static_cast<std::size_t>(rank));
  Layout l;
  if (in_place) {
    const auto [in_off, out_off] = coll::in_place_offsets(plan, rank);
    l.input = in_off;
    l.output = out_off;
    l.scratch = align_up(std::max(in_off + rp.input_bytes, out_off + rp.output_bytes));
  } else {
    l.input = 0;
    l.output = align_up(rp.input_bytes);
    l.scratch = align_up(l.output + rp.output_bytes);
  }
  l.bytes = align_up(l.scratch + rp.scratch_bytes);
  return l;
}

std::vector<coll::StepIndex> early_grant_steps(const coll::Plan& plan, std::int32_t rank,
                                               const Layout& layout) {
  const auto& steps = plan.ranks.at(static_cast<std::size_t>(rank)).steps;
  std::vector<coll::StepIndex> early;
  if (steps.size() > kEarlyGrantMaxSteps) return early;
  const auto offset = [&](const coll::Region& r) {
    return r.offset + (r.buffer == coll::BufferKind::input    ? layout.input
                       : r.buffer == coll::BufferKind::output ? layout.output
                                                              : layout.scratch);
  };
  struct Span {
    std::uint64_t begin, end;
  };
  // Every byte range each step reads or writes, by place in the registered buffer.
  std::vector<std::vector<Span>> touches(steps.size());
  for (std::size_t j = 0; j < steps.size(); ++j) {
    const coll::Step& s = steps[j];
    const bool reads = s.kind != coll::StepKind::recv;
    const bool writes = s.kind != coll::StepKind::send;
    if (reads && s.src.bytes > 0) touches[j].push_back({offset(s.src), offset(s.src) + s.src.bytes});
    if (writes && s.dst.bytes > 0) touches[j].push_back({offset(s.dst), offset(s.dst) + s.dst.bytes});
  }
  for (coll::StepIndex i = 0; i < steps.size(); ++i) {
    const coll::Step& r = steps[i];
    if (r.kind != coll::StepKind::recv) continue;
    const std::uint64_t a = offset(r.dst);
    const std::uint64_t b = a + r.dst.bytes;
    // A step that touches the bytes without waiting for this recv may run before it in the same
    // iteration; only if there is none has the previous iteration finished with them at its end.
    bool ok = true;
    for (std::size_t j = 0; j < steps.size() && ok; ++j) {
      if (j == i) continue;
      for (const Span& t : touches[j]) {
        if (t.begin < b && a < t.end &&
            std::find(steps[j].deps.begin(), steps[j].deps.end(), i) == steps[j].deps.end()) {
          ok = false;
          break;
        }
      }
    }
    if (ok) early.push_back(i);
  }
  return early;
}

std::vector<std::int32_t> peers_of(const coll::Plan& plan, std::int32_t rank) {
  std::set<std::int32_t> peers;
  for (const coll::Step& s : plan.ranks.at(static_cast<std::size_t>(rank)).steps) {
    if ((s.kind == coll::StepKind::send || s.kind == coll::StepKind::recv) && s.peer != rank)
      peers.insert(s.peer);
  }
  return {peers.begin(), peers.end()};
}

VerbsBackend::VerbsBackend(Transport& transport, const coll::Plan& plan, bool in_place)
    : transport_(transport),
      plan_(plan),
      rank_(transport.rank()),
      mine_(layout_for(plan, transport.rank(), in_place)) {
  if (mine_.bytes > transport.buffer_bytes()) {
    throw std::logic_error("plan needs " + std::to_string(mine_.bytes) + " B but the registered buffer has " +
                           std::to_string(transport.buffer_bytes()) + " B");
  }
  if (in_place && plan.collective == coll::Collective::all_to_all) {
    throw std::invalid_argument("all_to_all cannot run in place: use separate input and output buffers");
  }
  const auto& steps = plan.ranks.at(static_cast<std::size_t>(rank_)).steps;
  remote_offset_.assign(steps.size(), 0);
  started_.assign(steps.size(), Seconds(0));
  // Each send's landing place: the matching recv's region in the peer's own layout.
  std::unordered_map<std::int32_t, std::unordered_map<std::uint32_t, std::uint64_t>> landing;
  for (std::int32_t p : peers_of(plan, rank_)) {
    const Layout their = layout_for(plan, p, in_place);
    auto& m = landing[p];
    for (const coll::Step& s : plan.ranks[static_cast<std::size_t>(p)].steps) {
      if (s.kind != coll::StepKind::recv || s.peer != rank_) continue;
      const std::uint64_t base = s.dst.buffer == coll::BufferKind::input    ? their.input
                                 : s.dst.buffer == coll::BufferKind::output ? their.output
                                                                            : their.scratch;
      m[s.tag] = base + s.dst.offset;
    }
  }
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const coll::Step& s = steps[i];
    if (s.kind != coll::StepKind::send && s.kind != coll::StepKind::recv) continue;
    if (s.tag & kClearToSendBit) {
      throw std::logic_error("plan tag " + std::to_string(s.tag) + " collides with the clear-to-send bit");
    }
    if (s.kind == coll::StepKind::send) remote_offset_[i] = landing.at(s.peer).at(s.tag);
  }
  early_grants_ = early_grant_steps(plan, rank_, mine_);
  for (coll::StepIndex i = 0; i < steps.size(); ++i) {
    if (steps[i].kind == coll::StepKind::recv) granted_early_[key(steps[i].peer, steps[i].tag)] = false;
  }
  for (coll::StepIndex i : early_grants_) granted_early_[key(steps[i].peer, steps[i].tag)] = true;
  epoch_ns_ = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

Seconds VerbsBackend::now() const {
  const auto t = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return Seconds(static_cast<double>(t - epoch_ns_) * 1e-9);
}

std::uint64_t VerbsBackend::offset_of(const coll::Region& r) const {
  switch (r.buffer) {
    case coll::BufferKind::input:
      return mine_.input + r.offset;
    case coll::BufferKind::output:
      return mine_.output + r.offset;
    case coll::BufferKind::scratch:
      return mine_.scratch + r.offset;
  }
  return 0;
}

void VerbsBackend::start_send(coll::StepIndex i) {
  const coll::Step& s = plan_.ranks[static_cast<std::size_t>(rank_)].steps[i];
  started_[i] = now();
  transport_.write(s.peer, offset_of(s.src), remote_offset_[i], s.src.bytes, s.tag, i);
}

void VerbsBackend::post(coll::StepRef ref, Seconds) {
  const coll::StepIndex i = ref.step;
  const coll::Step& s = plan_.ranks[static_cast<std::size_t>(rank_)].steps.at(i);
  if (!iteration_open_) {
    // The first post of an iteration: every step of the previous one is complete on this rank.
    iteration_open_ = true;
    completed_ = 0;
    for (coll::StepIndex g : early_grants_) {
      const coll::Step& r = plan_.ranks[static_cast<std::size_t>(rank_)].steps[g];
      transport_.write(r.peer, 0, 0, 0, r.tag | kClearToSendBit, kGrantWr | g);
    }
  }
  std::byte* base = transport_.buffer();
  switch (s.kind) {
    case coll::StepKind::copy: {
      const Seconds t0 = now();
      if (s.src.bytes > 0) std::memmove(base + offset_of(s.dst), base + offset_of(s.src), s.src.bytes);
      done_.push_back({ref, t0, now()});
      return;
    }
    case coll::StepKind::reduce: {
      const Seconds t0 = now();
      if (s.src.bytes > 0) {
        coll::reduce_into(plan_.dtype, plan_.op, base + offset_of(s.dst), base + offset_of(s.src),
                          s.src.bytes / coll::element_size(plan_.dtype));
      }
      done_.push_back({ref, t0, now()});
      return;
    }
    case coll::StepKind::send: {
      const std::uint64_t k = key(s.peer, s.tag);
      auto g = grants_.find(k);
      if (g != grants_.end()) {
        if (--g->second == 0) grants_.erase(g);
        start_send(i);
      } else {
        sends_waiting_[k] = i;
      }
      return;
    }
    case coll::StepKind::recv: {
      started_[i] = now();
      const std::uint64_t k = key(s.peer, s.tag);
      if (granted_early_[k]) {
        auto a = arrived_.find(k);
        if (a != arrived_.end()) {
          if (--a->second == 0) arrived_.erase(a);
          done_.push_back({ref, started_[i], now()});
          return;
        }
        recvs_waiting_[k] = i;
        return;
      }
      recvs_waiting_[k] = i;
      transport_.write(s.peer, 0, 0, 0, s.tag | kClearToSendBit, kGrantWr | i);
      return;
    }
  }
}

std::string VerbsBackend::describe(std::uint64_t wr_id) const {
  const bool grant = (wr_id & kGrantWr) != 0;
  const auto i = static_cast<coll::StepIndex>(wr_id & 0xffffffffu);
  const auto& steps = plan_.ranks[static_cast<std::size_t>(rank_)].steps;
  if (i >= steps.size()) return "work request " + std::to_string(wr_id);
  const coll::Step& s = steps[i];
  return std::string(grant ? "the clear-to-send for " : "") + "step " + std::to_string(i) + " (" +
         coll::to_string(s.kind) + " " + std::to_string(s.bytes()) + " B, peer rank " +
         std::to_string(s.peer) + ", tag " + std::to_string(s.tag) + ")";
}

std::string VerbsBackend::waiting_report() const {
  std::string out;
  int shown = 0;
  const auto& steps = plan_.ranks[static_cast<std::size_t>(rank_)].steps;
  for (const auto& [k, i] : recvs_waiting_) {
    if (shown++ == 6) break;
    out += "\n  step " + std::to_string(i) + ": recv of " + std::to_string(steps[i].bytes()) +
           " B from rank " + std::to_string(steps[i].peer) + " (tag " + std::to_string(steps[i].tag) + ")";
  }
  for (const auto& [k, i] : sends_waiting_) {
    if (shown++ == 12) break;
    out += "\n  step " + std::to_string(i) + ": send to rank " + std::to_string(steps[i].peer) + " (tag " +
           std::to_string(steps[i].tag) + "), waiting for that rank's clear-to-send";
  }
  if (out.empty()) out = "\n  writes posted but not acknowledged by their peers";
  return out;
}

std::vector<coll::Completion> VerbsBackend::progress() {
  const auto describe_fn = [this](std::uint64_t wr) { return describe(wr); };
  while (done_.empty()) {
    const auto events = transport_.poll(transport_.options().timeout, describe_fn);
    if (events.empty()) {
      throw RunError("rank " + std::to_string(rank_) + ": no completion for " +
                     format_duration(transport_.options().timeout) + " (--timeout) in " +
                     coll::to_string(plan_.collective) + "/" + plan_.algorithm + " of " +
                     std::to_string(plan_.size_bytes) + " B; waiting for:" + waiting_report());
    }
    for (const Transport::Event& e : events) {
      if (e.kind == Transport::Event::Kind::write_done) {
        if (e.wr_id & kGrantWr) continue;
        const auto i = static_cast<coll::StepIndex>(e.wr_id);
        done_.push_back({{rank_, i}, started_[i], now()});
        continue;
      }
      const std::uint32_t tag = e.immediate & ~kClearToSendBit;
      const std::uint64_t k = key(e.peer, tag);
      if (e.immediate & kClearToSendBit) {
        auto w = sends_waiting_.find(k);
        if (w != sends_waiting_.end()) {
          const coll::StepIndex i = w->second;
          sends_waiting_.erase(w);
          start_send(i);
        } else {
          ++grants_[k];
        }
        continue;
      }
      auto r = recvs_waiting_.find(k);
      if (r == recvs_waiting_.end() && granted_early_.count(k) != 0 && granted_early_[k]) {
        ++arrived_[k];
        continue;
      }
      if (r == recvs_waiting_.end()) {
        throw RunError("rank " + std::to_string(rank_) + ": data with tag " + std::to_string(tag) +
                       " from rank " + std::to_string(e.peer) +
                       " arrived without a posted receive: the ranks run different plans");
      }
      const coll::StepIndex i = r->second;
      recvs_waiting_.erase(r);
      done_.push_back({{rank_, i}, started_[i], now()});
    }
  }
  std::vector<coll::Completion> out;
  out.swap(done_);
  completed_ += out.size();
  if (completed_ == plan_.ranks[static_cast<std::size_t>(rank_)].steps.size()) iteration_open_ = false;
  return out;
}

}  // namespace fabtwin::verbs
