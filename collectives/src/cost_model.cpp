#include "fabtwin/coll/cost_model.hpp"

#include <algorithm>
#include <deque>
#include <stdexcept>
#include <unordered_map>

#include "fabtwin/topo/wire.hpp"

namespace fabtwin::coll {

namespace {

bool later(const auto& a, const auto& b) {
  if (a.end != b.end) return a.end > b.end;
  if (a.ref.rank != b.ref.rank) return a.ref.rank > b.ref.rank;
  return a.ref.step > b.ref.step;
}

}  // namespace

AnalyticBackend::AnalyticBackend(const Plan& plan, const topo::Router& router, const CostParams& params)
    : plan_(plan), router_(router), params_(params) {
  const std::int32_t n = plan.rank_count();
  const auto& topology = router.topology();
  if (n > topology.rank_count()) {
    throw std::invalid_argument("the plan has " + std::to_string(n) + " ranks but topology " + topology.name +
                                " places only " + std::to_string(topology.rank_count()) +
                                " (pick a larger topology or fewer ranks)");
  }

  TransferPairs pairs = pair_transfers(plan);
  transfer_of_ = std::move(pairs.index_of);
  transfers_.reserve(pairs.pairs.size());
  for (const auto& p : pairs.pairs) {
    transfers_.push_back({{p.from, p.send}, {p.to, p.recv}, Seconds(0), Seconds(0)});
  }

  // Route every rank pair once: per-flow ECMP keeps a queue pair on one path.
  const auto& links = topology.links;
  loads_.resize(links.size() * 2);
  lane_free_.assign(links.size() * 2, Seconds(0));
  lane_busy_until_.resize(links.size() * 2);
  for (std::size_t l = 0; l < links.size(); ++l) {
    loads_[2 * l] = {static_cast<topo::LinkId>(l), true, 0, 0, 0};
    loads_[2 * l + 1] = {static_cast<topo::LinkId>(l), false, 0, 0, 0};
  }
  path_of_.resize(transfers_.size());
  for (std::size_t t = 0; t < transfers_.size(); ++t) {
    const StepRef s = transfers_[t].send;
    const std::int32_t dst = plan.ranks[s.rank].steps[s.step].peer;
    const std::uint64_t key = topo::rank_pair_flow(s.rank, dst);
    auto it = paths_.find(key);
    if (it == paths_.end())
      it = paths_.emplace(key, router.rank_path(s.rank, dst, key, params_.ecmp_seed)).first;
    path_of_[t] = &it->second;
    const Bytes payload(plan.ranks[s.rank].steps[s.step].src.bytes);
    Seconds latency = params_.per_message;
    Seconds serialisation = it->second.empty() ? transfer_time(payload, params_.copy_rate) : Seconds(0);
    for (const auto& hop : it->second) {
      latency += links[hop.link].latency;
      serialisation = std::max(serialisation, topo::wire_time(payload, links[hop.link]));
    }
    transfers_[t].latency = latency;
    transfers_[t].serialisation = serialisation;
  }
}

void AnalyticBackend::push(Event e) {
  heap_.push_back(e);
  std::push_heap(heap_.begin(), heap_.end(), [](const Event& a, const Event& b) { return later(a, b); });
}

void AnalyticBackend::post(StepRef ref, Seconds ready) {
  const Step& s = plan_.ranks[ref.rank].steps[ref.step];
  switch (s.kind) {
    case StepKind::reduce:
      push({ready + transfer_time(Bytes(s.src.bytes), params_.reduce_rate), ready, ref});
      return;
    case StepKind::copy:
      push({ready + transfer_time(Bytes(s.src.bytes), params_.copy_rate), ready, ref});
      return;
    case StepKind::send:
    case StepKind::recv:
      break;
  }
  TransferInfo& t = transfers_[transfer_of_[ref.rank][ref.step]];
  (s.kind == StepKind::send ? t.send_ready : t.recv_ready) = ready;
  if (t.send_ready.count() < 0 || t.recv_ready.count() < 0) return;
  const std::uint32_t index = transfer_of_[ref.rank][ref.step];
  const topo::Path& path = *path_of_[index];
  const auto& links = router_.topology().links;
  const Step& send = plan_.ranks[t.send.rank].steps[t.send.step];
  const Bytes payload(send.src.bytes);
  auto lane = [](const topo::Hop& h) { return 2u * h.link + (h.forward ? 0u : 1u); };
  const Seconds ready_at = std::max(t.send_ready, t.recv_ready);
  Seconds start = ready_at;
  for (const auto& hop : path) start = std::max(start, lane_free_[lane(hop)]);
  for (const auto& hop : path) {
    const std::uint32_t l = lane(hop);
    lane_free_[l] = start + topo::wire_time(payload, links[hop.link]);
    LinkLoad& load = loads_[l];
    load.bytes += send.src.bytes;
    ++load.transfers;
    // Queue depth as the transfer was admitted: reservations on this lane not yet finished.
    auto& busy = lane_busy_until_[l];
    std::erase_if(busy, [&](Seconds end) { return end <= ready_at; });
    busy.push_back(lane_free_[l]);
    load.max_queued = std::max<std::uint32_t>(load.max_queued, static_cast<std::uint32_t>(busy.size()));
  }
  const Seconds end = start + t.latency + t.serialisation;
  push({end, start, t.send});
  push({end, start, t.recv});
}

std::vector<Completion> AnalyticBackend::progress() {
  std::vector<Completion> out;
  auto cmp = [](const Event& a, const Event& b) { return later(a, b); };
  while (!heap_.empty()) {
    const Event e = heap_.front();
    if (!out.empty() && e.end > out.front().end) break;
    std::pop_heap(heap_.begin(), heap_.end(), cmp);
    heap_.pop_back();
    out.push_back({e.ref, e.start, e.end});
  }
  return out;
}

std::vector<LinkLoad> AnalyticBackend::link_loads() const {
  std::vector<LinkLoad> v;
  for (const auto& l : loads_) {
    if (l.bytes > 0) v.push_back(l);
  }
  std::stable_sort(v.begin(), v.end(),
                   [](const LinkLoad& a, const LinkLoad& b) { return a.bytes > b.bytes; });
  return v;
}

Prediction predict(const Plan& plan, const topo::Router& router, const CostParams& params) {
  AnalyticBackend backend(plan, router, params);
  Prediction p;
  p.run = run_plan(plan, backend);
  p.time = p.run.makespan;
  p.busiest = backend.link_loads();
  if (p.busiest.size() > 10) p.busiest.resize(10);
  return p;
}

RingRoundEstimate predict_ring_all_reduce(const topo::Router& router, std::int32_t ranks,
                                          std::uint64_t size_bytes, DataType dtype,
                                          const CostParams& params) {
  const auto& topology = router.topology();
  if (ranks < 1 || ranks > topology.rank_count()) {
    throw std::invalid_argument("ring estimate: " + std::to_string(ranks) + " ranks on topology " +
                                topology.name + ", which places " + std::to_string(topology.rank_count()));
  }
  RingRoundEstimate est;
  const std::uint64_t elem = element_size(dtype);
  const std::uint64_t count = size_bytes / elem;
  const Bytes buffer(count * elem);
  est.time = transfer_time(buffer, params.copy_rate);
  if (ranks == 1) return est;
  const auto n = static_cast<std::uint64_t>(ranks);
  const Bytes segment(((count + n - 1) / n) * elem);

  const auto& links = topology.links;
  std::vector<std::uint32_t> flows_on(links.size() * 2, 0);
  std::vector<topo::Path> paths(ranks);
  auto lane = [](const topo::Hop& h) { return 2u * h.link + (h.forward ? 0u : 1u); };
  for (std::int32_t r = 0; r < ranks; ++r) {
    const std::int32_t next = (r + 1) % ranks;
    paths[r] = router.rank_path(r, next, topo::rank_pair_flow(r, next), params.ecmp_seed);
    for (const auto& hop : paths[r]) ++flows_on[lane(hop)];
  }
  for (std::int32_t r = 0; r < ranks; ++r) {
    Seconds latency = params.per_message;
    double drain = 0.0;
    for (const auto& hop : paths[r]) {
      const auto& link = links[hop.link];
      latency += link.latency;
      drain = std::max(drain, topo::wire_time(segment, link).count() * flows_on[lane(hop)]);
      if (flows_on[lane(hop)] > est.most_flows_on_a_link) {
        est.most_flows_on_a_link = flows_on[lane(hop)];
        est.busiest = {hop.link, hop.forward, segment.count() * flows_on[lane(hop)], flows_on[lane(hop)],
                       flows_on[lane(hop)]};
      }
    }
    est.round = std::max(est.round, latency + Seconds(drain));
  }
  const Seconds reduce = transfer_time(segment, params.reduce_rate);
  est.time += (est.round + reduce) * static_cast<double>(n - 1) + est.round * static_cast<double>(n - 1);
  return est;
}

}  // namespace fabtwin::coll
