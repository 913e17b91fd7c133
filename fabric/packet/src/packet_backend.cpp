#include <ns3/node.h>
#include <ns3/object-factory.h>
#include <ns3/simulator.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>

#include "fabtwin/backend/rendezvous.hpp"
#include "fabtwin/hash.hpp"
#include "fabtwin/packet/packet.hpp"
#include "fabtwin/topo/wire.hpp"
#include "fabric_device.hpp"

namespace fabtwin::packet {

namespace {
constexpr topo::NodeId kNoNode = UINT32_MAX;
}  // namespace

const char* to_string(FabricKind k) {
  return k == FabricKind::roce ? "roce" : "ib";
}

const char* to_string(Routing r) {
  switch (r) {
    case Routing::ecmp:
      return "ecmp";
    case Routing::spray:
      return "spray";
    case Routing::adaptive:
      return "adaptive";
  }
  return "?";
}

const char* to_string(CongestionControl c) {
  return c == CongestionControl::dcqcn ? "dcqcn" : "none";
}

LinkEvent parse_link_event(const std::string& text, const topo::Topology& topology) {
  auto bad = [&](const std::string& why) -> std::invalid_argument {
    return std::invalid_argument("link event \"" + text + "\": " + why +
                                 " (expected NODE_A/NODE_B@TIME to fail a link or NODE_A/NODE_B@TIME=FACTOR "
                                 "to run it at a fraction of its rate, e.g. leaf0/spine1@20us=0.5)");
  };
  const auto slash = text.find('/');
  const auto at = text.find('@');
  if (slash == std::string::npos || at == std::string::npos || at < slash) throw bad("missing '/' or '@'");
  const std::string a = text.substr(0, slash);
  const std::string b = text.substr(slash + 1, at - slash - 1);
  std::string when = text.substr(at + 1);
  LinkEvent e;
  if (const auto eq = when.find('='); eq != std::string::npos) {
    const std::string f = when.substr(eq + 1);
    when = when.substr(0, eq);
    std::size_t used = 0;
    try {
      e.factor = std::stod(f, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != f.size() || !(e.factor > 0.0) || e.factor > 1.0) {
      throw bad("factor \"" + f + "\" must be a number in (0, 1]; use no factor to fail the link");
    }
  }
  try {
    e.at = parse_duration(when);
  } catch (const std::invalid_argument& err) {
    throw bad(std::string("time: ") + err.what());
  }
  if (e.at.count() < 0) throw bad("time must not be negative");
  topo::NodeId na = kNoNode, nb = kNoNode;
  for (const auto& n : topology.nodes) {
    if (n.name == a) na = n.id;
    if (n.name == b) nb = n.id;
  }
  if (na == kNoNode) throw bad("no node named \"" + a + "\" in " + topology.name);
  if (nb == kNoNode) throw bad("no node named \"" + b + "\" in " + topology.name);
  for (const auto& l : topology.links) {
    if ((l.a == na && l.b == nb) || (l.a == nb && l.b == na)) {
      e.link = l.id;
      return e;
    }
  }
  throw bad("no link joins " + a + " and " + b);
}

namespace {

bool g_backend_alive = false;

constexpr auto mix = splitmix64;

std::int64_t ps_of(Seconds s) {
  return std::llround(s.count() * 1e12);
}
std::int64_t now_ps() {
  return ns3::Simulator::Now().GetPicoSeconds();
}
Seconds seconds_of_ps(std::int64_t ps) {
  return Seconds(static_cast<double>(ps) * 1e-12);
}

struct Route {
  topo::Path hops;                 // link ids of the full topology
  std::vector<topo::NodeId> from;  // node each hop leaves
  topo::NodeId exit_nic = kNoNode;
};

struct Message {
  std::uint32_t first_psn = 0;
  std::uint32_t packets = 0;
  std::uint64_t bytes = 0;
  std::uint32_t transfer = 0;
};

struct QueuePair {
  std::uint32_t id = 0;
  std::int32_t src = 0, dst = 0;
  topo::NodeId src_node = 0, dst_node = 0;
  std::uint32_t route = 0, back = 0;
  std::uint32_t port = 0;  // the source endpoint's port of the first hop
  std::uint32_t mtu = 4096;
  double line_bps = 0;
  topo::FrameFormat pacing_format;
  std::vector<Message> messages;
  // Requester.
  std::size_t send_cursor = 0;  // message holding next_psn
  std::size_t acked_msgs = 0;
  std::uint32_t next_psn = 0, end_psn = 0, una = 0, max_sent = 0;
  std::int64_t last_progress_ps = 0;
  bool timer_armed = false;
  std::uint32_t retries = 0;
  // DCQCN reaction point.
  double rc = 0, rt = 0, alpha = 1.0;
  std::uint64_t byte_count = 0;
  std::uint32_t t_stage = 0, b_stage = 0;
  std::int64_t next_send_ps = 0;
  std::int64_t last_cnp_ps = std::numeric_limits<std::int64_t>::min() / 2;
  bool cc_timer = false;
  // Responder.
  std::uint32_t expected = 0;
  std::size_t recv_msgs = 0;
  std::uint32_t since_ack = 0;
  bool nak_sent = false;
  std::int64_t last_cnp_sent_ps = std::numeric_limits<std::int64_t>::min() / 2;
  std::map<std::uint32_t, std::uint32_t> out_of_order;  // psn -> payload, placed but not yet in sequence
  std::uint64_t delivered = 0;
};


}  // namespace

class PacketBackend::Impl {
 public:
  Impl(const coll::Plan& plan, const topo::Topology& topology, const PacketConfig& config);
  ~Impl();
  void post(coll::StepRef ref, Seconds ready);
  std::vector<coll::Completion> progress();
  FabricReport report() const;

  class Node;

  const coll::Plan& plan_;
  topo::Topology topology_;
  PacketConfig config_;
  std::vector<bool> failed_links_;
  // Routing over the links still up; link ids of `current_` map back to topology_ through to_full_.
  topo::Topology current_;
  std::vector<topo::LinkId> to_full_;
  std::unique_ptr<topo::Router> router_;

  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<ns3::Ptr<FabricDevice>> dev_of_;  // [2*link + (forward ? 0 : 1)]: the transmitting port
  std::vector<ns3::Ptr<FabricChannel>> channels_;
  std::vector<Route> routes_;
  std::vector<std::uint64_t> spray_turn_;
  std::vector<QueuePair> qps_;
  std::vector<std::uint32_t> qp_of_pair_;  // [src * n + dst]
  backend::Rendezvous rendezvous_;
  std::vector<std::uint32_t> qp_of_transfer_;
  std::vector<coll::Completion> done_;
  std::int64_t last_completion_ps_ = 0;
  bool watchdog_pending_ = false;
  std::string failure_;
  std::uint64_t rng_;
  std::chrono::steady_clock::time_point wall_start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_report_ = wall_start_;

  std::uint64_t pauses_ = 0, drops_ = 0, retransmitted_ = 0, timeouts_ = 0, marks_ = 0, cnps_ = 0,
                data_packets_ = 0;

  double uniform() {
    rng_ = mix(rng_);
    return static_cast<double>(rng_ >> 11) * 0x1.0p-53;
  }
  void fail(const std::string& why) {
    if (failure_.empty()) failure_ = why;
    ns3::Simulator::Stop();
  }
  void complete(coll::StepRef ref, Seconds start) {
    done_.push_back({ref, start, seconds_of_ps(now_ps())});
    last_completion_ps_ = now_ps();
    ns3::Simulator::Stop();
  }
  void complete_at(coll::StepRef ref, std::int64_t start_ps) { complete(ref, seconds_of_ps(start_ps)); }

  std::uint32_t add_route(std::int32_t src, std::int32_t dst);
  std::uint32_t reverse_route(std::uint32_t forward);
  FabricDevice* device_for(const topo::Hop& h) const {
    return PeekPointer(dev_of_[2 * h.link + (h.forward ? 0 : 1)]);
  }
  FabricDevice* next_device(topo::NodeId at, const Frame& h);
  void rebuild_router();
  void link_event(std::size_t index);
  void start_message(std::uint32_t transfer);
  void send_control(QueuePair& qp, FrameType type, std::uint32_t psn, bool to_requester);
  void on_data(QueuePair& qp, const Frame& h);
  void on_ack(QueuePair& qp, const Frame& h);
  void on_cnp(QueuePair& qp);
  void go_back(QueuePair& qp, std::uint32_t psn);
  void arm_timer(QueuePair& qp);
  void retransmit_timer(std::uint32_t qp);
  void cc_tick(std::uint32_t qp);
  void rate_increase(QueuePair& qp);
  void watchdog();
  std::string stuck_summary() const;
  void kick(QueuePair& qp);
  ns3::Ptr<ns3::Packet> pull(topo::NodeId node, std::uint32_t port, std::int64_t credit, std::int64_t* wake,
                             Frame* header);
};

// One topology node: it forwards frames that are not its own (switches, NICs, NVSwitches, and GPUs on a
// PXN detour), and terminates the queue pairs of the rank whose GPU it is.
class PacketBackend::Impl::Node final : public Element {
 public:
  Node(Impl& sim, const topo::Node& n, std::uint64_t capacity)
      : sim_(sim), id_(n.id), kind_(n.kind), capacity_(capacity) {
    node_ = ns3::CreateObject<ns3::Node>();
  }

  void Receive(std::uint32_t port, ns3::Ptr<ns3::Packet> packet, const Frame& header) override;
  void Dequeued(std::uint32_t in_port, std::uint32_t priority, std::uint32_t bytes) override;
  ns3::Ptr<ns3::Packet> Pull(std::uint32_t port, std::int64_t credit, std::int64_t* wake,
                             Frame* header) override {
    return sim_.pull(id_, port, credit, wake, header);
  }

  std::uint32_t add_port(ns3::Ptr<FabricDevice> dev) {
    node_->AddDevice(dev);
    ports_.push_back(PeekPointer(dev));
    ingress_.push_back({});
    xoff_.push_back({});
    return static_cast<std::uint32_t>(ports_.size() - 1);
  }
  FabricDevice* port(std::uint32_t i) const { return ports_[i]; }
  const std::vector<FabricDevice*>& ports() const { return ports_; }
  void add_source_qp(std::uint32_t port, std::uint32_t qp) {
    if (sources_.size() <= port) sources_.resize(ports_.size());
    sources_[port].qps.push_back(qp);
  }
  std::vector<std::uint32_t>* source_qps(std::uint32_t port, std::size_t** rr) {
    if (port >= sources_.size()) return nullptr;
    *rr = &sources_[port].rr;
    return &sources_[port].qps;
  }
  topo::NodeId id() const { return id_; }

 private:
  bool pfc_port(std::uint32_t port) const;
  void return_credit(std::uint32_t port, std::uint32_t priority, std::uint32_t bytes);

  Impl& sim_;
  topo::NodeId id_;
  topo::NodeKind kind_;
  ns3::Ptr<ns3::Node> node_;
  std::vector<FabricDevice*> ports_;
  std::vector<std::array<std::uint64_t, kPriorities>> ingress_;
  std::vector<std::array<bool, kPriorities>> xoff_;
  std::uint64_t used_ = 0;
  std::uint64_t capacity_;
  struct Source {
    std::vector<std::uint32_t> qps;
    std::size_t rr = 0;
  };
  std::vector<Source> sources_;
};

namespace {

const std::uint32_t kHeaderBytes = FabricHeader().GetSerializedSize();

ns3::Ptr<ns3::Packet> make_frame(const Frame& f) {
  ns3::Ptr<ns3::Packet> p = ns3::Create<ns3::Packet>(f.payload);
  p->AddHeader(FabricHeader(f));
  return p;
}

void init_ns3_once() {
  static std::once_flag once;
  // Nanosecond resolution rounds a 4 KiB frame at 400 Gb/s (81.92 ns) badly enough to skew rates.
  std::call_once(once, [] { ns3::Time::SetResolution(ns3::Time::PS); });
}

}  // namespace

bool PacketBackend::Impl::Node::pfc_port(std::uint32_t port) const {
  const FabricDevice* d = ports_[port];
  return !d->credit_based() && sim_.config_.pfc;
}

void PacketBackend::Impl::Node::return_credit(std::uint32_t port, std::uint32_t priority,
                                              std::uint32_t bytes) {
  FabricDevice* in = ports_[port];
  if (!in->credit_based()) return;
  FabricDevice* upstream = in->channel()->Peer(in);
  upstream->AddCreditAt(ns3::Simulator::Now().GetPicoSeconds() + in->channel()->delay_ps(), priority, bytes);
}

void PacketBackend::Impl::Node::Receive(std::uint32_t port, ns3::Ptr<ns3::Packet> packet,
                                        const Frame& header) {
  Frame h = header;
  if (h.type == FrameType::pause) {
    ports_[port]->SetPaused(h.priority, (h.flags & kXoff) != 0);
    return;
  }
  QueuePair& qp = sim_.qps_[h.qp];
  const bool data = h.type == FrameType::data;
  const topo::NodeId target = data ? qp.dst_node : qp.src_node;
  if (target == id_) {
    // Endpoints drain at line rate: the buffer slot is free as soon as the frame is in.
    if (data) return_credit(port, h.priority, packet->GetSize());
    if (data) {
      sim_.on_data(qp, h);
    } else if (h.type == FrameType::cnp) {
      sim_.on_cnp(qp);
    } else {
      sim_.on_ack(qp, h);
    }
    return;
  }
  FabricDevice* out = sim_.next_device(id_, h);
  if (!data) {
    if (out != nullptr && out->channel()->up()) {
      out->EnqueueControl(packet, h);
    } else {
      ++sim_.drops_;
    }
    return;
  }
  const std::uint32_t size = packet->GetSize();
  if (out == nullptr || !out->channel()->up()) {
    ++sim_.drops_;
    return_credit(port, h.priority, size);
    return;
  }
  FabricDevice* in = ports_[port];
  if (!in->credit_based()) {
    // Lossy ports drop on a full buffer. With PFC the headroom above XOFF should absorb what is in
    // flight; overflowing it anyway is a drop a lossless fabric reports as a misconfiguration.
    if (used_ + size > capacity_) {
      ++sim_.drops_;
      return;
    }
  }
  used_ += size;
  ingress_[port][h.priority] += size;
  if (pfc_port(port) && !xoff_[port][h.priority] &&
      ingress_[port][h.priority] >= sim_.config_.pfc_xoff.count()) {
    xoff_[port][h.priority] = true;
    ++sim_.pauses_;
    Frame pause;
    pause.type = FrameType::pause;
    pause.priority = h.priority;
    pause.flags = kXoff;
    in->EnqueueControl(make_frame(pause), pause);
  }
  if (kind_ == topo::NodeKind::network_switch && sim_.config_.fabric == FabricKind::roce) {
    const double q = static_cast<double>(out->queued_bytes(h.priority));
    const auto& ecn = sim_.config_.ecn;
    const double kmin = static_cast<double>(ecn.kmin.count()), kmax = static_cast<double>(ecn.kmax.count());
    double p = 0;
    if (q >= kmax) {
      p = 1;
    } else if (q > kmin) {
      p = ecn.pmax * (q - kmin) / (kmax - kmin);
    }
    if (p > 0 && (h.flags & kCe) == 0 && sim_.uniform() < p) {
      FabricHeader wire;
      packet->RemoveHeader(wire);
      wire.frame.flags |= kCe;
      packet->AddHeader(wire);
      h.flags |= kCe;
      ++sim_.marks_;
    }
  }
  out->EnqueueData(h, packet, port, size);
}

void PacketBackend::Impl::Node::Dequeued(std::uint32_t in_port, std::uint32_t priority, std::uint32_t bytes) {
  if (in_port >= ingress_.size()) return;
  used_ -= bytes;
  ingress_[in_port][priority] -= bytes;
  if (xoff_[in_port][priority] && ingress_[in_port][priority] <= sim_.config_.pfc_xon.count()) {
    xoff_[in_port][priority] = false;
    Frame resume;
    resume.type = FrameType::pause;
    resume.priority = static_cast<std::uint8_t>(priority);
    ports_[in_port]->EnqueueControl(make_frame(resume), resume);
  }
  return_credit(in_port, priority, bytes);
}

PacketBackend::Impl::Impl(const coll::Plan& plan, const topo::Topology& topology, const PacketConfig& config)
    : plan_(plan), topology_(topology), config_(config), rendezvous_(plan), rng_(mix(config.seed ^ 0x5eed)) {
  const std::int32_t n = plan.rank_count();
  if (n > topology.rank_count()) {
    throw std::invalid_argument("the plan has " + std::to_string(n) + " ranks but topology " + topology.name +
                                " places only " + std::to_string(topology.rank_count()) +
                                " (pick a larger topology or fewer ranks)");
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
  // The network's link layer follows the fabric chosen, whatever the topology file says.
  for (auto& l : topology_.links) {
    if (l.layer == topo::LinkLayer::roce || l.layer == topo::LinkLayer::infiniband) {
      l.layer = config.fabric == FabricKind::roce ? topo::LinkLayer::roce : topo::LinkLayer::infiniband;
    }
  }
  init_ns3_once();
  ns3::ObjectFactory scheduler;
  // Measured here 10-20% faster than ns-3's default map scheduler on this kind of event mix.
  scheduler.SetTypeId("ns3::PriorityQueueScheduler");
  ns3::Simulator::SetScheduler(scheduler);

  failed_links_.assign(topology_.links.size(), false);
  spray_turn_.assign(topology_.nodes.size(), 0);
  rebuild_router();

  nodes_.reserve(topology_.nodes.size());
  for (const auto& node : topology_.nodes) {
    nodes_.push_back(std::make_unique<Node>(*this, node, config.switch_buffer.count()));
  }
  dev_of_.resize(2 * topology_.links.size());
  channels_.reserve(topology_.links.size());
  for (const auto& link : topology_.links) {
    const bool host = link.layer == topo::LinkLayer::nvlink || link.layer == topo::LinkLayer::pcie;
    const bool credit = config.fabric == FabricKind::infiniband || host;
    const std::int64_t credit_bytes = (host ? config.host_credit_buffer : config.credit_buffer).count();
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
    dev_of_[2 * link.id] = a;
    dev_of_[2 * link.id + 1] = b;
    channels_.push_back(ch);
  }
  for (const auto& r : topology_.ranks) {
    if (r.rank >= n) continue;
    for (FabricDevice* d : nodes_[r.gpu]->ports()) d->MakeSource(config.data_priority);
  }

  qp_of_pair_.assign(static_cast<std::size_t>(n) * n, UINT32_MAX);
  qp_of_transfer_.reserve(rendezvous_.transfers().size());
  for (const auto& t : rendezvous_.transfers()) {
    const std::int32_t from = t.send.rank, to = t.recv.rank;
    std::uint32_t& q = qp_of_pair_[static_cast<std::size_t>(from) * n + to];
    if (q == UINT32_MAX) {
      q = static_cast<std::uint32_t>(qps_.size());
      QueuePair qp;
      qp.id = q;
      qp.src = from;
      qp.dst = to;
      qp.src_node = topology_.ranks[from].gpu;
      qp.dst_node = topology_.ranks[to].gpu;
      qp.route = add_route(from, to);
      qp.back = reverse_route(qp.route);
      const Route& route = routes_[qp.route];
      if (route.hops.empty()) {
        throw std::invalid_argument(
            "ranks " + std::to_string(from) + " and " + std::to_string(to) +
            " share a GPU: the packet model needs a link between every pair that talks");
      }
      qp.line_bps = std::numeric_limits<double>::max();
      std::uint64_t mtu = std::numeric_limits<std::uint64_t>::max();
      for (const auto& hop : route.hops) {
        const auto& l = topology_.links[hop.link];
        qp.line_bps = std::min(qp.line_bps, l.bandwidth.count());
        mtu = std::min<std::uint64_t>(mtu, l.mtu.count());
        if (l.layer == topo::LinkLayer::roce || l.layer == topo::LinkLayer::infiniband) {
          qp.pacing_format = topo::frame_format(l.layer);
        }
      }
      qp.mtu = static_cast<std::uint32_t>(std::max<std::uint64_t>(mtu, 1));
      qp.rc = qp.rt = qp.line_bps;
      FabricDevice* d = device_for(route.hops.front());
      for (std::uint32_t i = 0; i < nodes_[qp.src_node]->ports().size(); ++i) {
        if (nodes_[qp.src_node]->port(i) == d) qp.port = i;
      }
      nodes_[qp.src_node]->add_source_qp(qp.port, q);
      qps_.push_back(std::move(qp));
    }
    qp_of_transfer_.push_back(q);
  }
  for (std::size_t i = 0; i < config.link_events.size(); ++i) {
    ns3::Simulator::Schedule(ns3::PicoSeconds(ps_of(config.link_events[i].at)), &Impl::link_event, this, i);
  }
}

PacketBackend::Impl::~Impl() {
  // Destroy disposes every node, device and channel and drops pending events before the elements
  // their events point at go away.
  ns3::Simulator::Destroy();
}

void PacketBackend::Impl::rebuild_router() {
  current_ = topology_;
  current_.links.clear();
  to_full_.clear();
  for (const auto& l : topology_.links) {
    if (failed_links_[l.id]) continue;
    topo::Link copy = l;
    copy.id = static_cast<topo::LinkId>(current_.links.size());
    to_full_.push_back(l.id);
    current_.links.push_back(copy);
  }
  router_ = std::make_unique<topo::Router>(current_);
}

std::uint32_t PacketBackend::Impl::add_route(std::int32_t src, std::int32_t dst) {
  Route r;
  try {
    r.hops = router_->rank_path(src, dst, topo::rank_pair_flow(src, dst), config_.seed);
  } catch (const std::exception& e) {
    throw SimulationFailed("no path from rank " + std::to_string(src) + " to rank " + std::to_string(dst) +
                           " over the links still up: " + e.what());
  }
  topo::NodeId at = topology_.ranks[src].gpu;
  for (auto& hop : r.hops) {
    hop.link = to_full_[hop.link];
    r.from.push_back(at);
    const auto& l = topology_.links[hop.link];
    at = hop.forward ? l.b : l.a;
    if (topology_.nodes[at].kind == topo::NodeKind::nic) r.exit_nic = at;
  }
  routes_.push_back(std::move(r));
  return static_cast<std::uint32_t>(routes_.size() - 1);
}

std::uint32_t PacketBackend::Impl::reverse_route(std::uint32_t forward) {
  const Route& f = routes_[forward];
  Route r;
  for (auto it = f.hops.rbegin(); it != f.hops.rend(); ++it) {
    r.hops.push_back({it->link, !it->forward});
    const auto& l = topology_.links[it->link];
    r.from.push_back(it->forward ? l.b : l.a);
  }
  routes_.push_back(std::move(r));
  return static_cast<std::uint32_t>(routes_.size() - 1);
}

FabricDevice* PacketBackend::Impl::next_device(topo::NodeId at, const Frame& h) {
  const Route& r = routes_[h.route];
  if (h.type == FrameType::data && config_.routing != Routing::ecmp &&
      topology_.nodes[at].kind == topo::NodeKind::network_switch && r.exit_nic != kNoNode) {
    const auto& candidates = router_->next_hops(at, r.exit_nic);
    if (candidates.empty()) return nullptr;
    auto device = [&](const topo::Adjacency::Edge& e) {
      const topo::LinkId full = to_full_[e.link];
      return device_for({full, topology_.links[full].a == at});
    };
    if (candidates.size() == 1) return device(candidates.front());
    const std::uint64_t hash =
        mix(config_.seed ^ mix(h.qp * 0x100000001b3ull ^ h.psn) ^ (std::uint64_t(at) << 40));
    // Spraying deals a switch's packets to its equal-cost ports in turn, which evens their load exactly
    // where a random choice would leave binomial imbalance.
    if (config_.routing == Routing::spray) return device(candidates[spray_turn_[at]++ % candidates.size()]);
    // Adaptive: the least-occupied egress among the shortest-path ports; ties spread by the hash.
    FabricDevice* best = nullptr;
    std::uint64_t best_q = 0;
    for (std::size_t k = 0; k < candidates.size(); ++k) {
      FabricDevice* d = device(candidates[(hash + k) % candidates.size()]);
      const std::uint64_t q = d->queued_total();
      if (best == nullptr || q < best_q) {
        best = d;
        best_q = q;
      }
    }
    return best;
  }
  for (std::size_t i = 0; i < r.hops.size(); ++i) {
    if (r.from[i] == at) return device_for(r.hops[i]);
  }
  return nullptr;
}

void PacketBackend::Impl::link_event(std::size_t index) {
  const LinkEvent& e = config_.link_events[index];
  FabricDevice* a = PeekPointer(dev_of_[2 * e.link]);
  FabricDevice* b = PeekPointer(dev_of_[2 * e.link + 1]);
  if (e.factor > 0) {
    a->set_rate_factor(e.factor);
    b->set_rate_factor(e.factor);
    return;
  }
  channels_[e.link]->set_up(false);
  a->FlushOnFailure();
  b->FlushOnFailure();
  failed_links_[e.link] = true;
  rebuild_router();
  // The fabric reconverges: queue pairs whose path crossed the link move to a path without it. Frames
  // already in flight on the old path are lost there and recovered by go-back-N.
  for (auto& qp : qps_) {
    const Route& r = routes_[qp.route];
    const bool affected =
        std::any_of(r.hops.begin(), r.hops.end(), [&](const topo::Hop& h) { return h.link == e.link; });
    if (!affected) continue;
    try {
      qp.route = add_route(qp.src, qp.dst);
      qp.back = reverse_route(qp.route);
    } catch (const SimulationFailed& err) {
      fail("after link " + topo::link_label(topology_, e.link) + " failed: " + err.what());
      return;
    }
    const topo::Hop first = routes_[qp.route].hops.front();
    FabricDevice* d = device_for(first);
    Node& src = *nodes_[qp.src_node];
    for (std::uint32_t i = 0; i < src.ports().size(); ++i) {
      if (src.port(i) == d && i != qp.port) {
        std::size_t* rr = nullptr;
        auto* list = src.source_qps(qp.port, &rr);
        list->erase(std::remove(list->begin(), list->end(), qp.id), list->end());
        *rr = 0;
        qp.port = i;
        src.add_source_qp(i, qp.id);
      }
    }
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
  const Seconds start = rendezvous_.transfer(*index).start;
  const std::int64_t at = std::max<std::int64_t>(ps_of(start + config_.endpoint.per_message) - now_ps(), 0);
  ns3::Simulator::Schedule(ns3::PicoSeconds(at), &Impl::start_message, this, *index);
}

void PacketBackend::Impl::start_message(std::uint32_t index) {
  const backend::Transfer& t = rendezvous_.transfer(index);
  QueuePair& qp = qps_[qp_of_transfer_[index]];
  Message m;
  m.first_psn = qp.end_psn;
  m.packets = static_cast<std::uint32_t>(std::max<std::uint64_t>(1, (t.bytes + qp.mtu - 1) / qp.mtu));
  m.bytes = t.bytes;
  m.transfer = index;
  qp.end_psn += m.packets;
  qp.messages.push_back(m);
  kick(qp);
}

void PacketBackend::Impl::kick(QueuePair& qp) {
  nodes_[qp.src_node]->port(qp.port)->Kick();
}

ns3::Ptr<ns3::Packet> PacketBackend::Impl::pull(topo::NodeId node, std::uint32_t port, std::int64_t credit,
                                                std::int64_t* wake, Frame* header) {
  std::size_t* rr = nullptr;
  std::vector<std::uint32_t>* list = nodes_[node]->source_qps(port, &rr);
  if (list == nullptr || list->empty()) return nullptr;
  const std::int64_t now = now_ps();
  const std::size_t n = list->size();
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t slot = (*rr + k) % n;
    QueuePair& qp = qps_[(*list)[slot]];
    if (qp.next_psn >= qp.end_psn) continue;
    if (qp.next_send_ps > now) {
      if (*wake < 0 || qp.next_send_ps < *wake) *wake = qp.next_send_ps;
      continue;
    }
    while (qp.messages[qp.send_cursor].first_psn + qp.messages[qp.send_cursor].packets <= qp.next_psn) {
      ++qp.send_cursor;
    }
    const Message& m = qp.messages[qp.send_cursor];
    const std::uint32_t i = qp.next_psn - m.first_psn;
    Frame h;
    h.type = FrameType::data;
    h.priority = static_cast<std::uint8_t>(config_.data_priority);
    h.qp = qp.id;
    h.route = qp.route;
    h.psn = qp.next_psn;
    h.payload = static_cast<std::uint32_t>(i + 1 == m.packets ? m.bytes - std::uint64_t(i) * qp.mtu : qp.mtu);
    h.flags = (i == 0 ? kFirst : 0) | (i + 1 == m.packets ? kLast : 0);
    if (credit < static_cast<std::int64_t>(h.payload + kHeaderBytes)) return nullptr;
    *rr = (slot + 1) % n;
    if (qp.next_psn < qp.max_sent) ++retransmitted_;
    ++qp.next_psn;
    qp.max_sent = std::max(qp.max_sent, qp.next_psn);
    ++data_packets_;
    arm_timer(qp);
    const std::uint32_t wire = h.payload + qp.pacing_format.per_packet;
    if (config_.cc == CongestionControl::dcqcn && qp.rc < qp.line_bps) {
      qp.next_send_ps = now + static_cast<std::int64_t>(wire * 8.0 * 1e12 / qp.rc);
      qp.byte_count += wire;
      if (qp.byte_count >= config_.dcqcn.byte_counter.count()) {
        qp.byte_count = 0;
        ++qp.b_stage;
        rate_increase(qp);
      }
    }
    *header = h;
    return make_frame(h);
  }
  return nullptr;
}

void PacketBackend::Impl::send_control(QueuePair& qp, FrameType type, std::uint32_t psn, bool to_requester) {
  Frame h;
  h.type = type;
  h.priority = kControlPriority;
  h.qp = qp.id;
  h.route = to_requester ? qp.back : qp.route;
  h.psn = psn;
  const topo::NodeId from = to_requester ? qp.dst_node : qp.src_node;
  FabricDevice* out = next_device(from, h);
  if (out == nullptr || !out->channel()->up()) {
    ++drops_;
    return;
  }
  out->EnqueueControl(make_frame(h), h);
}

void PacketBackend::Impl::on_data(QueuePair& qp, const Frame& h) {
  const std::int64_t now = now_ps();
  if ((h.flags & kCe) && config_.cc == CongestionControl::dcqcn &&
      now - qp.last_cnp_sent_ps >= ps_of(config_.dcqcn.cnp_interval)) {
    qp.last_cnp_sent_ps = now;
    ++cnps_;
    send_control(qp, FrameType::cnp, 0, true);
  }
  const bool reorders = config_.routing != Routing::ecmp;
  if (h.psn < qp.expected) {
    send_control(qp, FrameType::ack, qp.expected, true);  // a duplicate after go-back-N
    return;
  }
  if (h.psn > qp.expected) {
    // Sprayed and adaptively routed frames arrive out of order by design; the responder places them by
    // their address (as NICs built for spraying do). In order-preserving routing a gap is a loss.
    if (reorders) {
      qp.out_of_order.emplace(h.psn, h.payload);
    } else if (!qp.nak_sent) {
      qp.nak_sent = true;
      send_control(qp, FrameType::nak, qp.expected, true);
    }
    return;
  }
  ++qp.expected;
  ++qp.since_ack;
  qp.delivered += h.payload;
  qp.nak_sent = false;
  while (!qp.out_of_order.empty() && qp.out_of_order.begin()->first <= qp.expected) {
    if (qp.out_of_order.begin()->first == qp.expected) {
      ++qp.expected;
      ++qp.since_ack;
      qp.delivered += qp.out_of_order.begin()->second;
    }
    qp.out_of_order.erase(qp.out_of_order.begin());
  }
  bool finished = false;
  while (qp.recv_msgs < qp.messages.size() &&
         qp.expected >= qp.messages[qp.recv_msgs].first_psn + qp.messages[qp.recv_msgs].packets) {
    const backend::Transfer& t = rendezvous_.transfer(qp.messages[qp.recv_msgs].transfer);
    complete(t.recv, t.start);
    ++qp.recv_msgs;
    finished = true;
  }
  if (finished || qp.since_ack >= config_.ack_every) {
    qp.since_ack = 0;
    send_control(qp, FrameType::ack, qp.expected, true);
  }
}

void PacketBackend::Impl::on_ack(QueuePair& qp, const Frame& h) {
  if (h.psn > qp.una) {
    qp.una = h.psn;
    qp.retries = 0;
    qp.last_progress_ps = now_ps();
    while (qp.acked_msgs < qp.messages.size() &&
           qp.una >= qp.messages[qp.acked_msgs].first_psn + qp.messages[qp.acked_msgs].packets) {
      const backend::Transfer& t = rendezvous_.transfer(qp.messages[qp.acked_msgs].transfer);
      complete(t.send, t.start);
      ++qp.acked_msgs;
    }
  }
  if (h.type == FrameType::nak) go_back(qp, h.psn);
}

void PacketBackend::Impl::go_back(QueuePair& qp, std::uint32_t psn) {
  if (qp.next_psn <= psn) return;
  qp.next_psn = psn;
  qp.send_cursor = 0;
  std::size_t lo = 0, hi = qp.messages.size();
  while (lo + 1 < hi) {
    const std::size_t mid = (lo + hi) / 2;
    (qp.messages[mid].first_psn <= psn ? lo : hi) = mid;
  }
  qp.send_cursor = lo;
  kick(qp);
}

void PacketBackend::Impl::arm_timer(QueuePair& qp) {
  if (qp.timer_armed) return;
  qp.timer_armed = true;
  qp.last_progress_ps = now_ps();
  ns3::Simulator::Schedule(ns3::PicoSeconds(ps_of(config_.retransmit_timeout)), &Impl::retransmit_timer, this,
                           qp.id);
}

void PacketBackend::Impl::retransmit_timer(std::uint32_t id) {
  QueuePair& qp = qps_[id];
  if (qp.una >= qp.max_sent) {
    qp.timer_armed = false;
    return;
  }
  const std::int64_t rto = ps_of(config_.retransmit_timeout);
  const std::int64_t due = qp.last_progress_ps + rto;
  if (now_ps() >= due) {
    ++timeouts_;
    if (++qp.retries > config_.retry_limit) {
      std::ostringstream msg;
      msg << "queue pair rank " << qp.src << " -> rank " << qp.dst << " exhausted " << config_.retry_limit
          << " retries: no acknowledgement beyond PSN " << qp.una << " of " << qp.end_psn << " for "
          << config_.retransmit_timeout.micros() * (config_.retry_limit + 1) << " us (path:";
      for (const auto& hop : routes_[qp.route].hops) {
        const auto& l = topology_.links[hop.link];
        msg << " " << topology_.nodes[hop.forward ? l.a : l.b].name;
      }
      msg << ")";
      fail(msg.str());
      return;
    }
    qp.last_progress_ps = now_ps();
    go_back(qp, qp.una);
    ns3::Simulator::Schedule(ns3::PicoSeconds(rto), &Impl::retransmit_timer, this, id);
    return;
  }
  ns3::Simulator::Schedule(ns3::PicoSeconds(due - now_ps()), &Impl::retransmit_timer, this, id);
}

void PacketBackend::Impl::on_cnp(QueuePair& qp) {
  if (config_.cc != CongestionControl::dcqcn) return;
  const auto& c = config_.dcqcn;
  qp.rt = qp.rc;
  qp.rc = std::max(qp.line_bps * c.min_fraction, qp.rc * (1 - qp.alpha / 2));
  qp.alpha = (1 - c.g) * qp.alpha + c.g;
  qp.t_stage = qp.b_stage = 0;
  qp.byte_count = 0;
  qp.last_cnp_ps = now_ps();
  if (!qp.cc_timer) {
    qp.cc_timer = true;
    ns3::Simulator::Schedule(ns3::PicoSeconds(ps_of(c.increase_period)), &Impl::cc_tick, this, qp.id);
  }
}

void PacketBackend::Impl::cc_tick(std::uint32_t id) {
  QueuePair& qp = qps_[id];
  const auto& c = config_.dcqcn;
  if (now_ps() - qp.last_cnp_ps >= ps_of(c.alpha_period)) qp.alpha *= 1 - c.g;
  ++qp.t_stage;
  rate_increase(qp);
  if (qp.rc >= qp.line_bps) {
    qp.rc = qp.rt = qp.line_bps;
    qp.cc_timer = false;
    qp.next_send_ps = 0;
    return;
  }
  ns3::Simulator::Schedule(ns3::PicoSeconds(ps_of(c.increase_period)), &Impl::cc_tick, this, id);
}

void PacketBackend::Impl::rate_increase(QueuePair& qp) {
  const auto& c = config_.dcqcn;
  const std::uint32_t hi = std::max(qp.t_stage, qp.b_stage), lo = std::min(qp.t_stage, qp.b_stage);
  if (hi >= c.fast_recovery) {
    qp.rt += qp.line_bps * (lo > c.fast_recovery ? c.hyper_fraction : c.additive_fraction);
  }
  qp.rt = std::min(qp.rt, qp.line_bps);
  qp.rc = std::min((qp.rt + qp.rc) / 2, qp.line_bps);
}

std::string PacketBackend::Impl::stuck_summary() const {
  std::ostringstream msg;
  int shown = 0;
  for (const auto& qp : qps_) {
    if (qp.una >= qp.end_psn || shown >= 6) continue;
    msg << " [rank " << qp.src << " -> " << qp.dst << ": acknowledged " << qp.una << " of " << qp.end_psn
        << " packets]";
    ++shown;
  }
  return msg.str();
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
  watchdog_pending_ = true;
  ns3::Simulator::Schedule(ns3::MilliSeconds(1), &Impl::watchdog, this);
}

std::vector<coll::Completion> PacketBackend::Impl::progress() {
  if (done_.empty() && failure_.empty()) {
    if (!watchdog_pending_) {
      watchdog_pending_ = true;
      ns3::Simulator::Schedule(ns3::MilliSeconds(1), &Impl::watchdog, this);
    }
    ns3::Simulator::Run();
  }
  if (!failure_.empty()) throw SimulationFailed(failure_);
  std::vector<coll::Completion> out;
  out.swap(done_);
  return out;
}

FabricReport PacketBackend::Impl::report() const {
  FabricReport r;
  std::vector<LinkUse> uses;
  for (std::size_t i = 0; i < dev_of_.size(); ++i) {
    const FabricDevice& d = *dev_of_[i];
    const auto& s = d.stats();
    r.packet_hops += s.frames;
    r.drops += s.drops;
    if (s.wire_bytes > 0) {
      uses.push_back({d.link(), d.forward(), s.wire_bytes, seconds_of_ps(s.busy_ps)});
    }
    if (s.peak_queue_bytes > r.peak_queue_bytes) {
      r.peak_queue_bytes = s.peak_queue_bytes;
      r.peak_queue_port = topo::link_direction_name(topology_, d.link(), d.forward());
    }
  }
  std::stable_sort(uses.begin(), uses.end(),
                   [](const LinkUse& a, const LinkUse& b) { return a.busy > b.busy; });
  if (uses.size() > 10) uses.resize(10);
  r.busiest = std::move(uses);
  r.pfc_pauses = pauses_;
  r.drops += drops_;
  r.retransmitted_packets = retransmitted_;
  r.timeouts = timeouts_;
  r.ecn_marks = marks_;
  r.cnps = cnps_;
  r.data_packets = data_packets_;
  for (const auto& qp : qps_) r.delivered_bytes += qp.delivered;
  r.events = ns3::Simulator::GetEventCount();
  r.simulated = seconds_of_ps(now_ps());
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start_).count();
  return r;
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

PacketResult simulate(const coll::Plan& plan, const topo::Topology& topology, const PacketConfig& config) {
  PacketBackend backend(plan, topology, config);
  PacketResult r;
  r.run = coll::run_plan(plan, backend);
  r.time = r.run.makespan;
  r.fabric = backend.report();
  return r;
}

}  // namespace fabtwin::packet
