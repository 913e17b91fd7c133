// PacketBackend: builds the ns-3 fabric of a topology (nodes, ports, channels), opens one queue pair per
// rank pair that talks, and runs the simulator between the collective runner's posts. It also owns what
// spans the whole run: link events and rerouting, the stall watchdog and the progress callback.
#include <ns3/object-factory.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <sstream>

#include "fabtwin/backend/rendezvous.hpp"
#include "fabtwin/budget.hpp"
#include "fabtwin/packet/packet.hpp"
#include "node.hpp"
#include "queue_pair.hpp"
#include "report.hpp"
#include "routes.hpp"
#include "sim.hpp"

namespace fabtwin::packet {

namespace {

bool g_backend_alive = false;

void init_ns3_once() {
  static std::once_flag once;
  // Nanosecond resolution rounds a 4 KiB frame at 400 Gb/s (81.92 ns) badly enough to skew rates.
  std::call_once(once, [] { ns3::Time::SetResolution(ns3::Time::PS); });
}

void check_config(const coll::Plan& plan, const topo::Topology& topology, const PacketConfig& config) {
  backend::check_plan_fits(plan, topology);
  if (!plan.reducers.empty()) {
    throw std::invalid_argument(
        "the packet model has no switch that reduces yet: a plan with in-network reduction (NVLS) runs on "
        "the "
        "analytic backend (--backend analytic)");
  }
  if (config.pfc_xon.count() > config.pfc_xoff.count()) {
    throw std::invalid_argument("PFC XON threshold (" + format_bytes(config.pfc_xon) +
                                ") must not exceed XOFF (" + format_bytes(config.pfc_xoff) + ")");
  }
  if (config.ecn.kmin.count() >= config.ecn.kmax.count() || config.ecn.pmax < 0 || config.ecn.pmax > 1) {
    throw std::invalid_argument("ECN needs Kmin < Kmax and 0 <= Pmax <= 1");
  }
  if (config.ack_every == 0) throw std::invalid_argument("ack_every must be at least 1");
  for (const auto& e : config.link_events) {
    if (e.link >= topology.links.size())
      throw std::invalid_argument("link event names a link that does not exist");
  }
}

// The topology the run simulates: its network links follow the fabric chosen, whatever the file says.
topo::Topology fabric_topology(const coll::Plan& plan, const topo::Topology& topology,
                               const PacketConfig& config) {
  check_config(plan, topology, config);
  topo::Topology t = topology;
  for (auto& l : t.links) {
    if (l.layer == topo::LinkLayer::roce || l.layer == topo::LinkLayer::infiniband) {
      l.layer = config.fabric == FabricKind::roce ? topo::LinkLayer::roce : topo::LinkLayer::infiniband;
    }
  }
  return t;
}

}  // namespace

class PacketBackend::Impl final : private QueuePair::Owner {
 public:
  Impl(const coll::Plan& plan, const topo::Topology& topology, const PacketConfig& config);
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl();
  void post(coll::StepRef ref, Seconds ready);
  std::vector<coll::Completion> progress();
  FabricReport report() const;

 private:
  void received(std::uint32_t transfer) override { finish(rendezvous_.transfer(transfer).recv, transfer); }
  void acknowledged(std::uint32_t transfer) override {
    finish(rendezvous_.transfer(transfer).send, transfer);
  }
  // A channel whose protocol moves slower than the fabric holds its transfer to that ceiling.
  void finish(coll::StepRef ref, std::uint32_t transfer) {
    const Seconds start = rendezvous_.transfer(transfer).start;
    const std::int64_t due = ps_of(start + least_[transfer]) - now_ps();
    if (due > 0) {
      ns3::Simulator::Schedule(ns3::PicoSeconds(due), &Impl::complete, this, ref, start);
      return;
    }
    complete(ref, start);
  }
  void fail(const std::string& why) override {
    if (failure_.empty()) failure_ = why;
    ns3::Simulator::Stop();
  }
  // Stops the simulator so that the runner sees each completion as soon as it happens.
  void complete(coll::StepRef ref, Seconds start) {
    done_.push_back({ref, start, seconds_of_ps(now_ps())});
    last_completion_ps_ = now_ps();
    ns3::Simulator::Stop();
  }
  void build_fabric();
  void open_queue_pairs();
  void start_message(std::uint32_t transfer);
  void link_event(std::size_t index);
  void reroute_around(topo::LinkId link);
  void schedule_watchdog();
  void watchdog();
  std::string stuck_summary() const;

  const coll::Plan& plan_;
  PacketConfig config_;
  backend::Rendezvous rendezvous_;
  topo::Topology topology_;
  std::vector<ns3::Ptr<FabricDevice>> devices_;  // [2*link + (forward ? 0 : 1)]: the transmitting port
  std::vector<ns3::Ptr<FabricChannel>> channels_;
  Routes routes_;
  Rng rng_;
  QueuePairs qps_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::uint32_t> qp_of_transfer_;
  std::vector<std::uint64_t> wire_bytes_;  // per transfer, with its protocol's framing
  std::vector<Seconds> least_;             // per transfer, its channel's protocol ceiling
  std::vector<coll::Completion> done_;
  std::int64_t last_completion_ps_ = 0;
  bool watchdog_pending_ = false;
  std::string failure_;
  std::chrono::steady_clock::time_point wall_start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_report_ = wall_start_;
};

PacketBackend::Impl::Impl(const coll::Plan& plan, const topo::Topology& topology, const PacketConfig& config)
    : plan_(plan),
      config_(config),
      rendezvous_(plan),
      topology_(fabric_topology(plan, topology, config)),
      routes_(topology_, config_, devices_),
      rng_(config.seed) {
  init_ns3_once();
  ns3::ObjectFactory scheduler;
  // Measured here 10-20% faster than ns-3's default map scheduler on this kind of event mix.
  scheduler.SetTypeId("ns3::PriorityQueueScheduler");
  ns3::Simulator::SetScheduler(scheduler);
  build_fabric();
  open_queue_pairs();
  for (std::size_t i = 0; i < config_.link_events.size(); ++i) {
    ns3::Simulator::Schedule(ns3::PicoSeconds(ps_of(config_.link_events[i].at)), &Impl::link_event, this, i);
  }
}

PacketBackend::Impl::~Impl() {
  // Destroy disposes every node, device and channel and drops pending events before the elements
  // their events point at go away.
  ns3::Simulator::Destroy();
}

void PacketBackend::Impl::build_fabric() {
  nodes_.reserve(topology_.nodes.size());
  for (const auto& node : topology_.nodes) {
    nodes_.push_back(std::make_unique<Node>(node, config_, routes_, qps_, rng_));
  }
  devices_.resize(2 * topology_.links.size());
  channels_.reserve(topology_.links.size());
  for (const auto& link : topology_.links) {
    const bool host = link.layer == topo::LinkLayer::nvlink || link.layer == topo::LinkLayer::pcie;
    const bool credit = config_.fabric == FabricKind::infiniband || host;
    const std::int64_t credit_bytes = (host ? config_.host_credit_buffer : config_.credit_buffer).count();
    auto a = ns3::CreateObject<FabricDevice>();
    auto b = ns3::CreateObject<FabricDevice>();
    auto ch = ns3::CreateObject<FabricChannel>();
    const std::uint32_t pa = nodes_[link.a]->add_port(a);
    const std::uint32_t pb = nodes_[link.b]->add_port(b);
    a->Configure(nodes_[link.a].get(), pa, link, true, credit, credit_bytes);
    b->Configure(nodes_[link.b].get(), pb, link, false, credit, credit_bytes);
    ch->Connect(a, b, link);
    a->SetChannel(ch);
    b->SetChannel(ch);
    devices_[2 * link.id] = a;
    devices_[2 * link.id + 1] = b;
    channels_.push_back(ch);
  }
  for (const auto& r : topology_.ranks) {
    if (r.rank >= plan_.rank_count()) continue;
    for (FabricDevice* d : nodes_[r.gpu]->ports()) d->MakeSource(config_.data_priority);
  }
}

// One queue pair per ordered rank pair that has a transfer, in the order of their first transfers.
void PacketBackend::Impl::open_queue_pairs() {
  const std::size_t n = static_cast<std::size_t>(plan_.rank_count());
  std::vector<std::uint32_t> qp_of_pair(n * n, UINT32_MAX);
  qp_of_transfer_.reserve(rendezvous_.transfers().size());
  wire_bytes_.assign(rendezvous_.transfers().size(), 0);
  least_.assign(rendezvous_.transfers().size(), Seconds(0));
  for (const auto& t : rendezvous_.transfers()) {
    std::uint32_t& q = qp_of_pair[static_cast<std::size_t>(t.send.rank) * n + t.recv.rank];
    if (q == UINT32_MAX) {
      q = static_cast<std::uint32_t>(qps_.size());
      QueuePair::Ends ends;
      ends.id = q;
      ends.src = t.send.rank;
      ends.dst = t.recv.rank;
      ends.src_node = topology_.ranks[ends.src].gpu;
      ends.dst_node = topology_.ranks[ends.dst].gpu;
      qps_.push_back(
          std::make_unique<QueuePair>(ends, config_, routes_, static_cast<QueuePair::Owner&>(*this)));
      QueuePair& qp = *qps_.back();
      Node& src = *nodes_[qp.src_node()];
      src.add_source(src.port_of(routes_.device_for(routes_.route(qp.route()).hops.front())), qp);
    }
    qp_of_transfer_.push_back(q);
  }
}

void PacketBackend::Impl::link_event(std::size_t index) {
  const LinkEvent& e = config_.link_events[index];
  FabricDevice* a = PeekPointer(devices_[2 * e.link]);
  FabricDevice* b = PeekPointer(devices_[2 * e.link + 1]);
  if (e.factor > 0) {
    a->set_rate_factor(e.factor);
    b->set_rate_factor(e.factor);
    return;
  }
  channels_[e.link]->set_up(false);
  a->FlushOnFailure();
  b->FlushOnFailure();
  routes_.fail_link(e.link);
  reroute_around(e.link);
}

// The fabric reconverges: queue pairs whose path crossed the link move to a path without it. Frames
// already in flight on the old path are lost there and recovered by go-back-N.
void PacketBackend::Impl::reroute_around(topo::LinkId link) {
  for (auto& qp : qps_) {
    if (!routes_.crosses(qp->route(), link)) continue;
    try {
      qp->reroute();
    } catch (const SimulationFailed& err) {
      fail("after link " + topo::link_label(topology_, link) + " failed: " + err.what());
      return;
    }
    Node& src = *nodes_[qp->src_node()];
    src.move_source(*qp, src.port_of(routes_.device_for(routes_.route(qp->route()).hops.front())));
  }
}

void PacketBackend::Impl::post(coll::StepRef ref, Seconds ready) {
  const coll::Step& s = plan_.ranks[ref.rank].steps[ref.step];
  const std::int64_t delay = std::max<std::int64_t>(ps_of(ready) - now_ps(), 0);
  if (s.kind == coll::StepKind::reduce || s.kind == coll::StepKind::copy) {
    const std::int64_t work = ps_of(backend::local_step_time(s, config_.endpoint));
    ns3::Simulator::Schedule(ns3::PicoSeconds(delay + work), &Impl::complete, this, ref, ready);
    return;
  }
  const auto index = rendezvous_.arrive(ref, ready);
  if (!index) return;
  const backend::Transfer& t = rendezvous_.transfer(*index);
  const bool crosses = topology_.host_of_rank(t.send.rank) != topology_.host_of_rank(t.recv.rank);
  Seconds path_latency(0);
  for (const auto& hop : routes_.route(qps_[qp_of_transfer_[*index]]->route()).hops) {
    path_latency += topology_.links[hop.link].latency;
  }
  const auto cost = backend::message_cost(plan_.protocol, t.bytes, crosses, path_latency, config_.endpoint);
  wire_bytes_[*index] = cost.wire_bytes;
  least_[*index] = cost.least;
  const std::int64_t at = std::max<std::int64_t>(ps_of(t.start + cost.fixed) - now_ps(), 0);
  ns3::Simulator::Schedule(ns3::PicoSeconds(at), &Impl::start_message, this, *index);
}

void PacketBackend::Impl::start_message(std::uint32_t index) {
  qps_[qp_of_transfer_[index]]->add_message(index, wire_bytes_[index]);
}

std::string PacketBackend::Impl::stuck_summary() const {
  std::ostringstream msg;
  int shown = 0;
  for (const auto& qp : qps_) {
    if (!qp->outstanding() || shown >= 6) continue;
    qp->describe_progress(msg);
    ++shown;
  }
  return msg.str();
}

void PacketBackend::Impl::schedule_watchdog() {
  watchdog_pending_ = true;
  ns3::Simulator::Schedule(ns3::MilliSeconds(1), &Impl::watchdog, this);
}

void PacketBackend::Impl::watchdog() {
  watchdog_pending_ = false;
  if (now_ps() - last_completion_ps_ >= ps_of(config_.stall_timeout)) {
    fail("no step completed for " + format_duration(config_.stall_timeout) +
         " of simulated time (pause storm, or a lossless fabric out of buffer); queue pairs with data "
         "outstanding:" +
         stuck_summary());
    return;
  }
  const auto wall = std::chrono::steady_clock::now();
  if (config_.on_progress && wall - last_report_ >= std::chrono::seconds(1)) {
    last_report_ = wall;
    config_.on_progress(seconds_of_ps(now_ps()), std::chrono::duration<double>(wall - wall_start_).count(),
                        ns3::Simulator::GetEventCount());
  }
  // With nothing else pending the run is over (or stalled); a watchdog alone must not keep it alive.
  if (ns3::Simulator::IsFinished()) return;
  schedule_watchdog();
}

std::vector<coll::Completion> PacketBackend::Impl::progress() {
  if (done_.empty() && failure_.empty()) {
    if (!watchdog_pending_) schedule_watchdog();
    ns3::Simulator::Run();
  }
  if (!failure_.empty()) throw SimulationFailed(failure_);
  std::vector<coll::Completion> out;
  out.swap(done_);
  return out;
}

FabricReport PacketBackend::Impl::report() const {
  return build_report({topology_, devices_, nodes_, qps_, wall_start_});
}

PacketBackend::PacketBackend(const coll::Plan& plan, const topo::Topology& topology,
                             const PacketConfig& config) {
  if (g_backend_alive) {
    throw std::logic_error("only one PacketBackend may exist at a time: ns-3's simulator is a singleton");
  }
  g_backend_alive = true;
  try {
    impl_ = std::make_unique<Impl>(plan, topology, config);
  } catch (...) {
    ns3::Simulator::Destroy();
    g_backend_alive = false;
    throw;
  }
}

PacketBackend::~PacketBackend() {
  impl_.reset();
  g_backend_alive = false;
}

void PacketBackend::post(coll::StepRef ref, Seconds ready) {
  impl_->post(ref, ready);
}
std::vector<coll::Completion> PacketBackend::progress() {
  return impl_->progress();
}
FabricReport PacketBackend::report() const {
  return impl_->report();
}

// Measured: ns-3's devices, queues and channels cost about 25 KB per link of the fabric (fat-tree:k=32,
// 32,768 links, builds in 820 MB), whichever ranks the collective uses.
constexpr double kBytesPerLink = 25e3;

PacketResult simulate(const coll::Plan& plan, const topo::Topology& topology, const PacketConfig& config) {
  check_memory(
      "the packet model of " + topology.name + " (" + std::to_string(topology.links.size()) + " links)",
      kBytesPerLink * static_cast<double>(topology.links.size()),
      "simulate a smaller fabric (the hosts the ranks use), or use --backend analytic");
  PacketBackend backend(plan, topology, config);
  PacketResult r;
  r.run = coll::run_plan(plan, backend);
  r.time = r.run.makespan;
  r.fabric = backend.report();
  return r;
}

}  // namespace fabtwin::packet
