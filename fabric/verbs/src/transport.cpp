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
#include "wire_ids.hpp"

namespace fabtwin::verbs {

using detail::align_up;
using detail::kAlignBytes;
using detail::key;
using detail::kGrantWr;

namespace {

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

}  // namespace fabtwin::verbs
