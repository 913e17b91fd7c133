#include "fabtwin/verbs/transport.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <set>

#include "errors.hpp"
#include "fabtwin/coll/datatype.hpp"
#include "fabtwin/coll/reference.hpp"

namespace fabtwin::verbs {

namespace {

// Regions start on cache lines so a reduction kernel never straddles two buffers' lines.
constexpr std::uint64_t kAlignBytes = 64;

std::uint64_t align_up(std::uint64_t v) {
  return (v + kAlignBytes - 1) / kAlignBytes * kAlignBytes;
}

std::string hex(std::uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%x", v);
  return b;
}

// The out-of-band record each rank publishes: its address, its buffer, and its QP for every rank.
struct WireHeader {
  std::uint32_t rank;
  std::uint16_t lid;
  std::uint8_t mtu;
  std::uint8_t ethernet;
  std::uint8_t gid[16];
  std::uint64_t addr;
  std::uint32_t rkey;
  std::uint32_t world;
};
struct WireQp {
  std::uint32_t qp_num;
  std::uint32_t psn;
};

std::uint64_t key(std::int32_t peer, std::uint32_t tag) {
  return static_cast<std::uint64_t>(static_cast<std::uint32_t>(peer)) << 32 | tag;
}

constexpr std::uint64_t kGrantWr = 1ull << 63;  // wr_id of a clear-to-send write; else the step index

}  // namespace

struct Transport::Connection {
  VerbsPtr<ibv_qp> qp;
  std::uint32_t psn = 0;
  std::uint64_t remote_addr = 0;
  std::uint32_t rkey = 0;
  std::uint32_t outstanding = 0;
  std::deque<PendingWrite> backlog;
};

Transport::Transport(Bootstrap& boot, const TransportOptions& options, std::uint64_t buffer_bytes,
                     const std::vector<std::int32_t>& peers)
    : boot_(boot), options_(options) {
  const std::int32_t world = boot.world();
  const std::string me = "rank " + std::to_string(boot.rank());
  try {
    ctx_ = open_device(options.device);
    address_ = select_port(ctx_.get(), options.port, options.gid_index);
  } catch (const std::exception& e) {
    // Every rank stops, not only the one without a device.
    boot.abort(me + ": " + e.what());
    throw;
  }
  ibv_port_attr pa{};
  ibv_query_port(ctx_.get(), address_.port, &pa);
  max_message_bytes_ = pa.max_msg_sz;
  ibv_device_attr dev{};
  ibv_query_device(ctx_.get(), &dev);

  pd_.reset(ibv_alloc_pd(ctx_.get()));
  if (!pd_) throw VerbsError(me + ": ibv_alloc_pd on " + address_.device + " failed: " + errno_text(errno));
  // Page-aligned and touched once, so registration pins real pages and timing never pays a fault.
  buffer_bytes_ = std::max<std::uint64_t>(align_up(buffer_bytes), kAlignBytes);
  buffer_.reset(static_cast<std::byte*>(std::aligned_alloc(4096, (buffer_bytes_ + 4095) / 4096 * 4096)));
  if (!buffer_) throw std::bad_alloc();
  std::memset(buffer_.get(), 0, buffer_bytes_);
  mr_.reset(
      ibv_reg_mr(pd_.get(), buffer_.get(), buffer_bytes_, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE));
  if (!mr_) {
    throw VerbsError(me + ": ibv_reg_mr of " + format_bytes(Bytes(buffer_bytes_)) + " on " + address_.device +
                     " failed: " + errno_text(errno) + " (check `ulimit -l`: registered memory is pinned)");
  }
  channel_.reset(ibv_create_comp_channel(ctx_.get()));
  if (!channel_) throw VerbsError(me + ": ibv_create_comp_channel failed: " + errno_text(errno));
  fcntl(channel_->fd, F_SETFL, fcntl(channel_->fd, F_GETFL) | O_NONBLOCK);
  const int cqe = std::min<int>(
      dev.max_cqe, static_cast<int>((kSendDepth + kRecvDepth) * std::max<std::size_t>(peers.size(), 1) + 16));
  cq_.reset(ibv_create_cq(ctx_.get(), cqe, nullptr, channel_.get(), 0));
  if (!cq_)
    throw VerbsError(me + ": ibv_create_cq(" + std::to_string(cqe) +
                     " entries) failed: " + errno_text(errno));

  connections_.resize(static_cast<std::size_t>(world));
  std::mt19937 rng(std::random_device{}());
  for (std::int32_t p : peers) {
    if (p < 0 || p >= world || p == boot.rank()) continue;
    ibv_qp_init_attr init{};
    init.send_cq = cq_.get();
    init.recv_cq = cq_.get();
    init.qp_type = IBV_QPT_RC;
    init.cap.max_send_wr = kSendDepth;
    init.cap.max_recv_wr = kRecvDepth;
    init.cap.max_send_sge = 1;
    init.cap.max_recv_sge = 1;
    Connection& c = connections_[p];
    c.qp.reset(ibv_create_qp(pd_.get(), &init));
    if (!c.qp) {
      throw VerbsError(me + ": ibv_create_qp (RC, " + std::to_string(kSendDepth) + " send / " +
                       std::to_string(kRecvDepth) + " recv) for rank " + std::to_string(p) + " on " +
                       address_.device + " failed: " + errno_text(errno));
    }
    c.psn = rng() & 0xffffff;  // PSNs are 24 bits
  }

  std::string blob(sizeof(WireHeader) + sizeof(WireQp) * static_cast<std::size_t>(world), '\0');
  WireHeader h{};
  h.rank = static_cast<std::uint32_t>(boot.rank());
  h.lid = address_.lid;
  h.mtu = static_cast<std::uint8_t>(address_.active_mtu);
  h.ethernet = address_.ethernet ? 1 : 0;
  std::memcpy(h.gid, address_.gid.raw, 16);
  h.addr = reinterpret_cast<std::uintptr_t>(buffer_.get());
  h.rkey = mr_->rkey;
  h.world = static_cast<std::uint32_t>(world);
  std::memcpy(blob.data(), &h, sizeof h);
  for (std::int32_t p = 0; p < world; ++p) {
    const WireQp q{connections_[p].qp ? connections_[p].qp->qp_num : 0, connections_[p].psn};
    std::memcpy(blob.data() + sizeof h + sizeof(WireQp) * static_cast<std::size_t>(p), &q, sizeof q);
  }
  const auto all = boot.allgather(blob, "the QP exchange");
  for (std::int32_t p : peers) {
    if (p < 0 || p >= world || p == boot.rank()) continue;
    Connection& c = connections_[p];
    WireHeader rh{};
    WireQp rq{};
    if (all[p].size() != blob.size())
      throw RunError(me + ": malformed QP record from rank " + std::to_string(p));
    std::memcpy(&rh, all[p].data(), sizeof rh);
    std::memcpy(&rq, all[p].data() + sizeof rh + sizeof(WireQp) * static_cast<std::size_t>(boot.rank()),
                sizeof rq);
    if (rq.qp_num == 0) {
      throw RunError(me + ": rank " + std::to_string(p) +
                     " made no QP for this rank: the ranks disagree on the plan (same --algo, sizes and "
                     "options everywhere?)");
    }
    if ((rh.ethernet != 0) != address_.ethernet) {
      throw DeviceError(me + ": rank " + std::to_string(p) + " is on " +
                        (rh.ethernet ? "RoCE" : "InfiniBand") + " but this rank's " + address_.device +
                        " is not: use devices of one link layer");
    }
    RemoteQp remote;
    remote.qp_num = rq.qp_num;
    remote.psn = rq.psn;
    remote.lid = rh.lid;
    std::memcpy(remote.gid.raw, rh.gid, 16);
    PortAddress local = address_;
    local.active_mtu = static_cast<ibv_mtu>(std::min<int>(address_.active_mtu, rh.mtu));
    try {
      connect_rc_qp(c.qp.get(), local, c.psn, remote, p);
    } catch (const VerbsError& e) {
      throw VerbsError(me + ": " + e.what());
    }
    c.remote_addr = rh.addr;
    c.rkey = rh.rkey;
    post_recvs(c, kRecvDepth);
  }
  // No rank may write before its peer's QP is ready to receive.
  boot.barrier("the barrier after connecting QPs");
}

// Members go in reverse order of declaration: QPs, CQ, channel, MR, buffer, PD, device.
Transport::~Transport() = default;

void Transport::post_recvs(Connection& c, std::uint32_t n) {
  for (std::uint32_t i = 0; i < n; ++i) {
    // A write with immediate consumes a receive but places its data by address: no scatter list.
    ibv_recv_wr wr{};
    wr.wr_id = 0;
    wr.num_sge = 0;
    ibv_recv_wr* bad = nullptr;
    if (const int rc = ibv_post_recv(c.qp.get(), &wr, &bad); rc != 0) {
      throw VerbsError("rank " + std::to_string(rank()) + ": ibv_post_recv on QP " + hex(c.qp->qp_num) +
                       " failed: " + errno_text(rc));
    }
  }
}

void Transport::write(std::int32_t peer, std::uint64_t local_offset, std::uint64_t remote_offset,
                      std::uint64_t bytes, std::optional<std::uint32_t> immediate, std::uint64_t wr_id) {
  if (peer < 0 || peer >= static_cast<std::int32_t>(connections_.size()) || !connections_[peer].qp) {
    throw std::logic_error("rank " + std::to_string(rank()) + ": no QP to rank " + std::to_string(peer));
  }
  if (bytes > max_message_bytes_) {
    throw std::invalid_argument("a transfer of " + format_bytes(Bytes(bytes)) + " exceeds " +
                                address_.device + "'s largest message (" +
                                format_bytes(Bytes(max_message_bytes_)) +
                                "): use a smaller size or more --chunks");
  }
  if (local_offset + bytes > buffer_bytes_) throw std::logic_error("write outside the registered buffer");
  Connection& c = connections_[peer];
  const PendingWrite w{local_offset, remote_offset, bytes, immediate, wr_id};
  if (c.outstanding >= kSendDepth || !c.backlog.empty()) {
    c.backlog.push_back(w);
    return;
  }
  post_now(c, w);
}

void Transport::post_now(Connection& c, const PendingWrite& w) {
  ibv_sge sge{};
  sge.addr = reinterpret_cast<std::uintptr_t>(buffer_.get()) + w.local_offset;
  sge.length = static_cast<std::uint32_t>(w.bytes);
  sge.lkey = mr_->lkey;
  ibv_send_wr wr{};
  wr.wr_id = w.wr_id;
  wr.sg_list = w.bytes > 0 ? &sge : nullptr;
  wr.num_sge = w.bytes > 0 ? 1 : 0;
  wr.opcode = w.immediate ? IBV_WR_RDMA_WRITE_WITH_IMM : IBV_WR_RDMA_WRITE;
  wr.send_flags = IBV_SEND_SIGNALED;
  if (w.immediate) wr.imm_data = htonl(*w.immediate);
  wr.wr.rdma.remote_addr = c.remote_addr + w.remote_offset;
  wr.wr.rdma.rkey = c.rkey;
  ibv_send_wr* bad = nullptr;
  if (const int rc = ibv_post_send(c.qp.get(), &wr, &bad); rc != 0) {
    throw VerbsError("rank " + std::to_string(rank()) + ": ibv_post_send (RDMA write of " +
                     std::to_string(w.bytes) + " B) on QP " + hex(c.qp->qp_num) +
                     " failed: " + errno_text(rc));
  }
  ++c.outstanding;
}

std::int32_t Transport::peer_of_qp(std::uint32_t qp_num) const {
  for (std::size_t p = 0; p < connections_.size(); ++p) {
    if (connections_[p].qp && connections_[p].qp->qp_num == qp_num) return static_cast<std::int32_t>(p);
  }
  return -1;
}

std::vector<Transport::Event> Transport::poll(Seconds max_wait, const Describe& describe) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto since = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  std::vector<Event> events;
  bool armed = false;
  while (true) {
    ibv_wc wcs[32];
    const int n = ibv_poll_cq(cq_.get(), 32, wcs);
    if (n < 0) throw VerbsError("rank " + std::to_string(rank()) + ": ibv_poll_cq failed: " + errno_text(-n));
    for (int i = 0; i < n; ++i) {
      const ibv_wc& wc = wcs[i];
      const std::int32_t peer = peer_of_qp(wc.qp_num);
      if (wc.status != IBV_WC_SUCCESS) {
        char buf[96];
        std::snprintf(buf, sizeof buf, " (status %d, vendor error 0x%x)", wc.status, wc.vendor_err);
        throw VerbsError(
            "rank " + std::to_string(rank()) + ": work completion error on QP " + hex(wc.qp_num) +
            " to rank " + std::to_string(peer) + " (" + address_.device + " port " +
            std::to_string(address_.port) + "): " + ibv_wc_status_str(wc.status) + buf + " for " +
            (describe ? describe(wc.wr_id) : "work request " + std::to_string(wc.wr_id)) +
            (wc.status == IBV_WC_RETRY_EXC_ERR
                 ? ": rank " + std::to_string(peer) + " stopped answering (dead, or the path to it is down)"
                 : ""));
      }
      if (peer < 0) continue;
      Connection& c = connections_[peer];
      if (wc.opcode == IBV_WC_RECV_RDMA_WITH_IMM) {
        post_recvs(c, 1);
        events.push_back({Event::Kind::immediate, peer, 0, ntohl(wc.imm_data)});
      } else {
        --c.outstanding;
        if (!c.backlog.empty()) {
          const PendingWrite w = c.backlog.front();
          c.backlog.pop_front();
          post_now(c, w);
        }
        events.push_back({Event::Kind::write_done, peer, wc.wr_id, 0});
      }
    }
    if (!events.empty()) return events;
    if (n > 0) continue;
    const double elapsed = since();
    if (elapsed < options_.spin.count()) continue;
    // Past the spin a syscall per loop is cheap next to sleeping: look for news of other ranks.
    boot_.check();
    if (elapsed >= max_wait.count()) return events;
    if (!armed) {
      // Arm, then poll once more: a completion that landed before arming raises no event.
      if (const int rc = ibv_req_notify_cq(cq_.get(), 0); rc != 0) {
        throw VerbsError("rank " + std::to_string(rank()) + ": ibv_req_notify_cq failed: " + errno_text(rc));
      }
      armed = true;
      continue;
    }
    std::vector<pollfd> fds{{channel_->fd, POLLIN, 0}};
    for (int fd : boot_.watch_fds()) fds.push_back({fd, POLLIN, 0});
    // Wake at least every 100 ms to re-check the deadline.
    const int wait_ms = std::clamp(static_cast<int>((max_wait.count() - elapsed) * 1e3) + 1, 1, 100);
    ::poll(fds.data(), fds.size(), wait_ms);
    if (fds[0].revents & POLLIN) {
      ibv_cq* ev_cq = nullptr;
      void* ev_ctx = nullptr;
      if (ibv_get_cq_event(channel_.get(), &ev_cq, &ev_ctx) == 0) {
        ibv_ack_cq_events(ev_cq, 1);
        armed = false;
      }
    }
  }
}

Layout layout_for(const coll::Plan& plan, std::int32_t rank, bool in_place) {
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
