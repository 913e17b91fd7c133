// SimGrid's network model, chosen on purpose: CM02 is max-min fair sharing on link constraints (LMM,
// lazily updated), the fluid limit of per-QP fair arbitration that DCQCN and InfiniBand credits aim at.
// What CM02 adds for TCP is turned off: no latency or bandwidth factors (fitted to TCP), no cross
// traffic for acknowledgements, no TCP window bound (TCP-gamma), no RTT weighting (weight-S). CM02 also
// weights a flow's share by its latency; RDMA queue pairs share evenly whatever their path's length, so
// a flow's latency is a delay we charge before it enters the solver, never a SimGrid link latency.
// Link rates are their payload rates (wire framing at full MTU packets, topo/wire.hpp).
#include <xbt/log.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <queue>
#include <simgrid/kernel/resource/Action.hpp>
#include <simgrid/kernel/routing/NetPoint.hpp>
#include <simgrid/kernel/routing/NetZoneImpl.hpp>
#include <simgrid/s4u.hpp>
#include <string>
#include <unordered_map>

#include "fabtwin/backend/rendezvous.hpp"
#include "flow_message.hpp"
#include "flow_model.hpp"
#include "flow_routes.hpp"

namespace fabtwin::flow {

const char* model_description() {
  return "SimGrid 3.32 CM02 max-min (LMM, lazy updates), latency as a delay before the flow, no TCP "
         "factors, cross traffic, gamma or RTT weighting";
}

namespace {

namespace sg4 = simgrid::s4u;
namespace kr = simgrid::kernel::routing;

constexpr const char* kSettings[] = {
    "network/model:CM02",       "network/optim:Lazy",         "network/crosstraffic:0", "network/TCP-gamma:0",
    "network/latency-factor:1", "network/bandwidth-factor:1", "network/weight-S:0"};

// One zone whose route is whatever the backend says for the flow it is starting: our router, not
// SimGrid's, picks paths, so ECMP, spraying and failures route exactly as in the other backends.
class PlanZone final : public kr::NetZoneImpl {
 public:
  explicit PlanZone(const std::string& name) : NetZoneImpl(name) {}
  void get_local_route(const kr::NetPoint*, const kr::NetPoint*, kr::Route* into, double*) override {
    for (sg4::Link* l : next_route) into->link_list_.push_back(l->get_impl());
  }
  std::vector<sg4::Link*> next_route;
};

class FlowBackend final : public coll::Backend {
 public:
  FlowBackend(const coll::Plan& plan, const topo::Topology& topology, const FlowConfig& config);
  void post(coll::StepRef ref, Seconds ready) override;
  std::vector<coll::Completion> progress() override;
  FlowReport report() const;

 private:
  enum class TimerKind { local_step, latency_done, connection_free, acked, link_event };
  struct Timer {
    double at;
    std::uint64_t order;  // ties keep their insertion order: runs are deterministic
    TimerKind kind;
    std::uint32_t index;  // a transfer, a link event, or a step through steps_
  };
  struct Later {
    bool operator()(const Timer& a, const Timer& b) const {
      return a.at != b.at ? a.at > b.at : a.order > b.order;
    }
  };
  struct Part {
    std::uint32_t transfer;
    std::vector<std::uint32_t> lanes;
    sg4::CommPtr comm;
  };
  struct Pending {
    double start = 0;
    std::uint32_t parts_left = 0;
    std::uint64_t wire_bytes = 0;              // with protocol framing and below-line efficiency
    double ack = 0;                            // from delivery to the send's completion
    std::uint64_t connection = kNoConnection;  // the queue pair it holds while it sends
    double rate_cap = -1;                      // bytes per second, -1 for none
  };

  struct Connection {
    std::uint32_t sending = 0;
    std::deque<std::uint32_t> waiting;
  };
  static constexpr std::uint64_t kNoConnection = UINT64_MAX;

  void add_timer(double at, TimerKind kind, std::uint32_t index);
  void report_progress();
  void inject(std::uint32_t transfer, double now);
  void handle(const Timer& t);
  void start_flows(std::uint32_t transfer, std::uint64_t bytes, double now);
  void start_part(std::uint32_t transfer, const topo::Path& path, std::uint64_t bytes);
  void finished(const void* activity);  // the solver's activity (its ActivityImpl) that ended
  void complete(std::uint32_t transfer, double end);
  void apply(const backend::LinkEvent& e);
  std::size_t least_loaded(const std::vector<SharedPath>& variants) const;

  const coll::Plan& plan_;
  const topo::Topology& topology_;
  FlowConfig config_;
  backend::Rendezvous rendezvous_;
  FlowRoutes routes_;
  PlanZone* zone_;
  sg4::Host* source_;
  sg4::Host* sink_;
  std::vector<sg4::Link*> lanes_;
  std::vector<double> lane_rate_;
  std::vector<std::uint32_t> lane_flows_;  // flows in the solver on each lane now
  std::vector<std::uint64_t> lane_bytes_;
  std::unordered_map<std::uint64_t, Connection> connections_;  // by rank pair (topo::rank_pair_flow)
  std::vector<Pending> pending_;
  std::vector<Part> parts_;  // flows in the solver; finished ones' slots are reused
  std::vector<std::uint32_t> free_parts_;
  std::vector<sg4::CommPtr> retired_;  // finished flows whose activity SimGrid has yet to close
  std::unordered_map<const void*, std::uint32_t> part_of_;  // solver activity -> its part
  std::vector<coll::Completion> steps_;                     // local steps: the step and when it was ready
  std::priority_queue<Timer, std::vector<Timer>, Later> timers_;
  std::uint64_t order_ = 0;
  std::vector<coll::Completion> done_;
  sg4::SemaphorePtr wake_ = sg4::Semaphore::create(0);
  std::uint64_t flows_ = 0;
  std::chrono::steady_clock::time_point wall_start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_report_ = wall_start_;
  std::uint64_t rerouted_ = 0;
};

FlowBackend::FlowBackend(const coll::Plan& plan, const topo::Topology& topology, const FlowConfig& config)
    : plan_(plan),
      topology_(topology),
      config_(config),
      rendezvous_(plan),
      routes_(plan, topology, config.seed),
      zone_(new PlanZone("fabric")) {
  sg4::NetZone* zone = zone_->get_iface();
  source_ = zone->create_host("source", 1.0);
  sink_ = zone->create_host("sink", 1.0);
  for (const topo::Link& l : topology.links) {
    for (const char* dir : {"+", "-"}) {
      lane_rate_.push_back(payload_rate(l));
      lanes_.push_back(zone->create_link(std::to_string(l.id) + dir, lane_rate_.back())
                           ->set_sharing_policy(sg4::Link::SharingPolicy::SHARED)
                           ->seal());
    }
  }
  zone->seal();
  lane_flows_.assign(lanes_.size(), 0);
  lane_bytes_.assign(lanes_.size(), 0);
  pending_.resize(rendezvous_.transfers().size());
  for (std::uint32_t i = 0; i < config_.link_events.size(); ++i) {
    add_timer(config_.link_events[i].at.count(), TimerKind::link_event, i);
  }
  sg4::Link::on_communication_state_change_cb(
      [this](simgrid::kernel::resource::NetworkAction& a, simgrid::kernel::resource::Action::State) {
        // NetworkAction's one base is Action, so its address is the Action's.
        const auto* action = reinterpret_cast<const simgrid::kernel::resource::Action*>(&a);
        if (action->get_state() == simgrid::kernel::resource::Action::State::FINISHED)
          finished(action->get_activity());
      });
}

void FlowBackend::report_progress() {
  if (!config_.on_progress) return;
  const auto wall = std::chrono::steady_clock::now();
  if (wall - last_report_ < std::chrono::seconds(1)) return;
  last_report_ = wall;
  config_.on_progress(Seconds(sg4::Engine::get_clock()),
                      std::chrono::duration<double>(wall - wall_start_).count(), flows_);
}

void FlowBackend::add_timer(double at, TimerKind kind, std::uint32_t index) {
  timers_.push({at, order_++, kind, index});
}

void FlowBackend::post(coll::StepRef ref, Seconds ready) {
  const coll::Step& s = plan_.ranks[ref.rank].steps[ref.step];
  if (s.kind == coll::StepKind::reduce || s.kind == coll::StepKind::copy) {
    const bool in_switch = plan_.reducer(ref.rank) != nullptr;
    const Seconds work = in_switch ? Seconds(0) : backend::local_step_time(s, config_.endpoint);
    steps_.push_back({ref, ready, ready + work});
    add_timer((ready + work).count(), TimerKind::local_step, static_cast<std::uint32_t>(steps_.size() - 1));
    return;
  }
  const auto index = rendezvous_.arrive(ref, ready);
  if (!index) return;
  const backend::Transfer& t = rendezvous_.transfer(*index);
  const std::int32_t from = t.send.rank, to = t.recv.rank;
  const MessageTiming m = message_timing(plan_.protocol, t.bytes, from, to, routes_.path(from, to),
                                         routes_.placement(), config_.endpoint);
  Pending& p = pending_[*index];
  p.start = t.start.count();
  p.wire_bytes = m.wire_bytes;
  p.rate_cap = m.rate_cap;
  p.ack = m.ack;
  add_timer(p.start + m.delay, TimerKind::latency_done, *index);
}

void FlowBackend::handle(const Timer& t) {
  switch (t.kind) {
    case TimerKind::local_step:
      done_.push_back(steps_[t.index]);
      break;
    case TimerKind::acked: {
      const backend::Transfer& transfer = rendezvous_.transfer(t.index);
      done_.push_back({transfer.send, transfer.start, Seconds(t.at)});
      break;
    }
    case TimerKind::latency_done:
      inject(t.index, t.at);
      break;
    case TimerKind::connection_free:
      start_flows(t.index, pending_[t.index].wire_bytes, t.at);
      break;
    case TimerKind::link_event:
      apply(config_.link_events[t.index]);
      break;
  }
}

// A rank pair's messages share one reliable connection, whose queue pair sends them in the order they
// were posted, as RDMA does and the packet model's queue pairs do: one at a time, or as many as fill
// the first link where a protocol holds each below its rate. Connections of one sender share its links
// max-min. A message's latency is charged before it waits here: on one path, delivery is then what the
// packet model gives (the previous message's last byte, its own bytes, then its propagation).
void FlowBackend::inject(std::uint32_t transfer, double now) {
  const backend::Transfer& t = rendezvous_.transfer(transfer);
  const topo::Path path = routes_.path(t.send.rank, t.recv.rank);
  Pending& p = pending_[transfer];
  if (path.empty() || p.wire_bytes == 0) {
    start_flows(transfer, p.wire_bytes, now);
    return;
  }
  p.connection = topo::rank_pair_flow(t.send.rank, t.recv.rank);
  const double cap = p.rate_cap;
  const auto room = cap > 0 ? std::max(1.0, std::floor(lane_rate_[lane_of(path.front())] / cap)) : 1.0;
  Connection& port = connections_[p.connection];
  if (static_cast<double>(port.sending) < room) {
    ++port.sending;
    start_flows(transfer, p.wire_bytes, now);
  } else {
    port.waiting.push_back(transfer);
  }
}

// The transfer's latency is paid: its bytes enter the solver on the paths its routing gives them now,
// so that a failure before this moment is routed around.
void FlowBackend::start_flows(std::uint32_t transfer, std::uint64_t bytes, double now) {
  const backend::Transfer& t = rendezvous_.transfer(transfer);
  const std::int32_t from = t.send.rank, to = t.recv.rank;
  const topo::Path ecmp = routes_.path(from, to);
  if (bytes == 0 || ecmp.empty()) {
    if (pending_[transfer].parts_left == 0) complete(transfer, now);
    return;
  }
  if (config_.routing == backend::Routing::ecmp) {
    start_part(transfer, ecmp, bytes);
    return;
  }
  const std::vector<SharedPath> variants = routes_.variants(from, to);
  if (config_.routing == backend::Routing::adaptive) {
    start_part(transfer, variants[least_loaded(variants)].path, bytes);
    return;
  }
  // Whole bytes per part, the rounding on the last, every part at least one byte.
  std::uint64_t left = bytes;
  for (std::size_t i = 0; i < variants.size() && left > 0; ++i) {
    const bool last = i + 1 == variants.size();
    const auto share =
        static_cast<std::uint64_t>(std::llround(static_cast<double>(bytes) * variants[i].share));
    const std::uint64_t b = last ? left : std::clamp<std::uint64_t>(share, 1, left);
    start_part(transfer, variants[i].path, b);
    left -= b;
  }
}

void FlowBackend::start_part(std::uint32_t transfer, const topo::Path& path, std::uint64_t bytes) {
  Part part{transfer, {}, nullptr};
  zone_->next_route.clear();
  for (const auto& hop : path) {
    const std::uint32_t lane = lane_of(hop);
    part.lanes.push_back(lane);
    zone_->next_route.push_back(lanes_[lane]);
    ++lane_flows_[lane];
    lane_bytes_[lane] += bytes;
  }
  std::uint32_t index = static_cast<std::uint32_t>(parts_.size());
  if (free_parts_.empty()) {
    parts_.emplace_back();
  } else {
    index = free_parts_.back();
    free_parts_.pop_back();
  }
  ++pending_[transfer].parts_left;
  ++flows_;
  part.comm = sg4::Comm::sendto_init();
  const double cap = pending_[transfer].rate_cap;
  if (cap > 0)
    part.comm->set_rate(cap * static_cast<double>(bytes) /
                        static_cast<double>(pending_[transfer].wire_bytes));
  part.comm->set_payload_size(bytes);
  part_of_[part.comm->get_impl()] = index;
  parts_[index] = std::move(part);
  // Giving both ends starts the flow, and SimGrid asks the zone for its route then.
  parts_[index].comm->set_source(source_);
  parts_[index].comm->set_destination(sink_);
}

void FlowBackend::finished(const void* activity) {
  const auto it = part_of_.find(activity);
  if (it == part_of_.end()) return;
  const std::uint32_t index = it->second;
  part_of_.erase(it);
  Part& part = parts_[index];
  for (std::uint32_t lane : part.lanes) --lane_flows_[lane];
  // SimGrid finishes the activity after this callback: drop our handle only once it has.
  retired_.push_back(std::move(part.comm));
  free_parts_.push_back(index);
  if (--pending_[part.transfer].parts_left == 0) complete(part.transfer, sg4::Engine::get_clock());
  wake_->release();
}

void FlowBackend::complete(std::uint32_t transfer, double end) {
  const backend::Transfer& t = rendezvous_.transfer(transfer);
  done_.push_back({t.recv, t.start, Seconds(end)});
  add_timer(end + pending_[transfer].ack, TimerKind::acked, transfer);
  if (pending_[transfer].connection == kNoConnection) return;
  Connection& port = connections_[pending_[transfer].connection];
  --port.sending;
  if (port.waiting.empty()) return;
  const std::uint32_t next = port.waiting.front();
  port.waiting.pop_front();
  ++port.sending;
  // Not from here: this runs inside SimGrid's solver (a flow's end), which must not gain a flow midway.
  add_timer(end, TimerKind::connection_free, next);
}

std::size_t FlowBackend::least_loaded(const std::vector<SharedPath>& variants) const {
  std::size_t best = 0;
  std::uint32_t best_load = UINT32_MAX;
  for (std::size_t k = 0; k < variants.size(); ++k) {
    const std::size_t i = (config_.seed + k) % variants.size();
    std::uint32_t load = 0;
    for (const auto& hop : variants[i].path) load = std::max(load, lane_flows_[lane_of(hop)]);
    if (load < best_load) {
      best = i;
      best_load = load;
    }
  }
  return best;
}

// A slowdown changes the link's rate for every flow on it; a failure moves the bytes still to send of
// each flow on it to a path over the links still up, as the fabric's routing would reconverge.
void FlowBackend::apply(const backend::LinkEvent& e) {
  const topo::Link& l = topology_.links[e.link];
  if (e.factor > 0) {
    for (std::uint32_t lane : {2 * e.link, 2 * e.link + 1})
      lanes_[lane]->set_bandwidth(payload_rate(l) * e.factor);
    return;
  }
  routes_.fail(e.link);
  std::vector<std::pair<std::uint32_t, std::uint64_t>> moved;
  for (std::uint32_t i = 0; i < parts_.size(); ++i) {
    Part& part = parts_[i];
    if (!part.comm) continue;
    const bool crosses = std::any_of(part.lanes.begin(), part.lanes.end(),
                                     [&](std::uint32_t lane) { return lane / 2 == e.link; });
    if (!crosses) continue;
    const auto rest = static_cast<std::uint64_t>(std::ceil(part.comm->get_remaining()));
    part_of_.erase(part.comm->get_impl());
    for (std::uint32_t lane : part.lanes) --lane_flows_[lane];
    part.comm->cancel();
    part.comm = nullptr;
    free_parts_.push_back(i);
    --pending_[part.transfer].parts_left;
    moved.emplace_back(part.transfer, rest);
  }
  for (const auto& [transfer, rest] : moved) {
    ++rerouted_;
    start_flows(transfer, rest, sg4::Engine::get_clock());
  }
}

std::vector<coll::Completion> FlowBackend::progress() {
  retired_.clear();
  report_progress();
  while (done_.empty()) {
    const bool flows = !part_of_.empty();
    if (timers_.empty() && !flows) return {};
    if (!timers_.empty()) {
      const double at = timers_.top().at;
      const double now = sg4::Engine::get_clock();
      bool due = at <= now;
      if (!due && !flows) {
        sg4::this_actor::sleep_until(at);
        due = true;
      } else if (!due) {
        due = wake_->acquire_timeout(at - now);
      }
      if (due) {
        const Timer t = timers_.top();
        timers_.pop();
        handle(t);
      }
      continue;
    }
    wake_->acquire();
  }
  std::vector<coll::Completion> out;
  out.swap(done_);
  return out;
}

FlowReport FlowBackend::report() const {
  FlowReport r;
  r.flows = flows_;
  r.rerouted = rerouted_;
  r.busiest = busiest(lane_bytes_, lane_rate_);
  return r;
}

}  // namespace

FlowResult run_in_this_process(const coll::Plan& plan, const topo::Topology& topology,
                               const FlowConfig& config) {
  char name[] = "fabtwin-flow";
#if defined(__SANITIZE_ADDRESS__)
  // SimGrid's own context switch (its default "raw" factory) moves stacks behind AddressSanitizer's
  // back; real threads are stacks it knows.
  char factory[] = "--cfg=contexts/factory:thread";
  char* argv[] = {name, factory, nullptr};
  int argc = 2;
#else
  char* argv[] = {name, nullptr};
  int argc = 1;
#endif
  xbt_log_control_set("root.thresh:critical");
  sg4::Engine engine(&argc, argv);
  for (const char* setting : kSettings) sg4::Engine::set_config(setting);
  FlowBackend backend(plan, topology, config);
  FlowResult result;
  std::exception_ptr error;
  sg4::Actor::create("runner", sg4::Host::by_name("source"), [&] {
    try {
      result.run = coll::run_plan(plan, backend);
    } catch (...) {
      error = std::current_exception();
    }
  });
  engine.run();
  if (error) std::rethrow_exception(error);
  result.time = result.run.makespan;
  result.fabric = backend.report();
  result.fabric.simulated = result.time;
  return result;
}

}  // namespace fabtwin::flow
