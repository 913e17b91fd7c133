#include "fabtwin/analytic/analytic.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "fabtwin/topo/wire.hpp"

namespace fabtwin::analytic {

namespace {

bool later(const auto& a, const auto& b) {
  if (a.end != b.end) return a.end > b.end;
  if (a.ref.rank != b.ref.rank) return a.ref.rank > b.ref.rank;
  return a.ref.step > b.ref.step;
}

std::uint32_t lane(const topo::Hop& h) {
  return 2u * h.link + (h.forward ? 0u : 1u);
}

}  // namespace

AnalyticBackend::AnalyticBackend(const coll::Plan& plan, const topo::Router& router, const CostParams& params)
    : plan_(plan), router_(router), params_(params), rendezvous_(plan), placement_(plan, router) {
  const auto& topology = router.topology();
  const auto& links = topology.links;
  loads_.resize(links.size() * 2);
  lane_free_.assign(links.size() * 2, Seconds(0));
  lane_busy_until_.resize(links.size() * 2);
  for (std::size_t l = 0; l < links.size(); ++l) {
    loads_[2 * l] = {static_cast<topo::LinkId>(l), true, 0, 0, 0};
    loads_[2 * l + 1] = {static_cast<topo::LinkId>(l), false, 0, 0, 0};
  }
  // Route every rank pair once: per-flow ECMP keeps a queue pair on one path.
  const auto& transfers = rendezvous_.transfers();
  path_of_.resize(transfers.size());
  timing_.resize(transfers.size());
  wire_bytes_.resize(transfers.size());
  for (std::size_t t = 0; t < transfers.size(); ++t) {
    const coll::StepRef s = transfers[t].send;
    const std::int32_t dst = transfers[t].recv.rank;
    const std::uint64_t key = topo::rank_pair_flow(s.rank, dst);
    auto it = paths_.find(key);
    if (it == paths_.end())
      it = paths_.emplace(key, placement_.path(s.rank, dst, key, params_.ecmp_seed)).first;
    path_of_[t] = &it->second;
    const bool crosses_hosts = placement_.crosses_hosts(s.rank, dst);
    Seconds path_latency(0);
    for (const auto& hop : it->second) path_latency += links[hop.link].latency;
    const auto cost = backend::message_cost(plan.protocol, transfers[t].bytes, crosses_hosts, path_latency,
                                            params_.endpoint);
    // Below full efficiency a link is busy longer for the same bytes: count them as more.
    const double efficiency = placement_.efficiency(s.rank, dst);
    wire_bytes_[t] = static_cast<std::uint64_t>(std::ceil(static_cast<double>(cost.wire_bytes) / efficiency));
    const Bytes payload(wire_bytes_[t]);
    Timing& timing = timing_[t];
    timing.latency = cost.fixed;
    timing.serialisation = it->second.empty() ? params_.endpoint.copy_time(payload) : Seconds(0);
    for (const auto& hop : it->second) {
      timing.latency += links[hop.link].latency;
      timing.serialisation = std::max(timing.serialisation, topo::wire_time(payload, links[hop.link]));
    }
    timing.serialisation = std::max(timing.serialisation, cost.least);
  }
}

void AnalyticBackend::push(Event e) {
  heap_.push_back(e);
  std::push_heap(heap_.begin(), heap_.end(), [](const Event& a, const Event& b) { return later(a, b); });
}

void AnalyticBackend::post(coll::StepRef ref, Seconds ready) {
  const coll::Step& s = plan_.ranks[ref.rank].steps[ref.step];
  if (s.kind == coll::StepKind::reduce || s.kind == coll::StepKind::copy) {
    // A switch reduces at line rate: what it costs is the links that bring the data.
    const Seconds work =
        placement_.is_reducer(ref.rank) ? Seconds(0) : backend::local_step_time(s, params_.endpoint);
    push({ready + work, ready, ref});
    return;
  }
  if (const auto index = rendezvous_.arrive(ref, ready)) admit(*index);
}

void AnalyticBackend::admit(std::uint32_t index) {
  const backend::Transfer& t = rendezvous_.transfer(index);
  const auto& links = router_.topology().links;
  const Bytes payload(wire_bytes_[index]);
  // Every lane serves its transfers in arrival order on its own: a transfer is done once the last lane
  // of its path has carried it, so a lane free early does not idle while another one drains.
  Seconds first = Seconds(std::numeric_limits<double>::infinity());
  Seconds drained = t.start + timing_[index].serialisation;
  for (const auto& hop : *path_of_[index]) {
    const std::uint32_t l = lane(hop);
    const Seconds begin = std::max(t.start, lane_free_[l]);
    first = std::min(first, begin);
    lane_free_[l] = begin + topo::wire_time(payload, links[hop.link]);
    drained = std::max(drained, lane_free_[l]);
    LinkLoad& load = loads_[l];
    load.bytes += wire_bytes_[index];
    ++load.transfers;
    // Queue depth as the transfer was admitted: reservations on this lane not yet finished.
    auto& busy = lane_busy_until_[l];
    std::erase_if(busy, [&](Seconds end) { return end <= t.start; });
    busy.push_back(lane_free_[l]);
    load.max_queued = std::max<std::uint32_t>(load.max_queued, static_cast<std::uint32_t>(busy.size()));
  }
  const Seconds start = path_of_[index]->empty() ? t.start : first;
  const Seconds end = drained + timing_[index].latency;
  push({end, start, t.send});
  push({end, start, t.recv});
}

std::vector<coll::Completion> AnalyticBackend::progress() {
  std::vector<coll::Completion> out;
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

Prediction predict(const coll::Plan& plan, const topo::Router& router, const CostParams& params) {
  AnalyticBackend backend(plan, router, params);
  Prediction p;
  p.run = coll::run_plan(plan, backend);
  p.time = p.run.makespan;
  p.busiest = backend.link_loads();
  if (p.busiest.size() > 10) p.busiest.resize(10);
  return p;
}

}  // namespace fabtwin::analytic
