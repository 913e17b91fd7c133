#include "fabtwin/verbs/device.hpp"

#include <arpa/inet.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "errors.hpp"

namespace fabtwin::verbs {

namespace {

// Destroy calls report failure through their return value; a destructor can only log it.
void report_destroy(const char* call, int rc) noexcept {
  if (rc != 0)
    std::fprintf(stderr, "fabtwin: warning: %s failed: %s\n", call, std::strerror(rc < 0 ? -rc : rc));
}

const char* port_state_name(ibv_port_state s) {
  switch (s) {
    case IBV_PORT_DOWN:
      return "DOWN";
    case IBV_PORT_INIT:
      return "INIT";
    case IBV_PORT_ARMED:
      return "ARMED";
    case IBV_PORT_ACTIVE:
      return "ACTIVE";
    case IBV_PORT_ACTIVE_DEFER:
      return "ACTIVE_DEFER";
    default:
      return "NOP";
  }
}

bool gid_is_zero(const ibv_gid& g) {
  for (unsigned char b : g.raw) {
    if (b != 0) return false;
  }
  return true;
}

bool gid_is_ipv4_mapped(const ibv_gid& g) {
  for (int i = 0; i < 10; ++i) {
    if (g.raw[i] != 0) return false;
  }
  return g.raw[10] == 0xff && g.raw[11] == 0xff;
}

const char* gid_type_name(unsigned type) {
  switch (type) {
    case IBV_GID_TYPE_ROCE_V2:
      return "RoCE v2";
    case IBV_GID_TYPE_ROCE_V1:
      return "RoCE v1";
    default:
      return "IB";
  }
}

std::string qp_state_text(ibv_qp* qp, std::int32_t peer, const PortAddress& local) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "QP 0x%x to rank %d on %s port %u", qp->qp_num, peer, local.device.c_str(),
                local.port);
  return buf;
}

}  // namespace

void VerbsDeleter::operator()(ibv_context* p) const noexcept {
  report_destroy("ibv_close_device", ibv_close_device(p));
}
void VerbsDeleter::operator()(ibv_pd* p) const noexcept {
  report_destroy("ibv_dealloc_pd", ibv_dealloc_pd(p));
}
void VerbsDeleter::operator()(ibv_mr* p) const noexcept {
  report_destroy("ibv_dereg_mr", ibv_dereg_mr(p));
}
void VerbsDeleter::operator()(ibv_comp_channel* p) const noexcept {
  report_destroy("ibv_destroy_comp_channel", ibv_destroy_comp_channel(p));
}
void VerbsDeleter::operator()(ibv_cq* p) const noexcept {
  report_destroy("ibv_destroy_cq", ibv_destroy_cq(p));
}
void VerbsDeleter::operator()(ibv_qp* p) const noexcept {
  report_destroy("ibv_destroy_qp", ibv_destroy_qp(p));
}

std::string format_gid(const ibv_gid& gid) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, gid.raw, text, sizeof text);
  return text;
}

std::string device_help() {
  return "use a host with an RDMA NIC (InfiniBand or RoCE) and its driver loaded, or create a Soft-RoCE "
         "device on an Ethernet interface: `modprobe rdma_rxe && rdma link add rxe0 type rxe netdev IFACE` "
         "(IFACE from `ip link`; the kernel needs CONFIG_RDMA_RXE). `ibv_devices` lists what libibverbs "
         "sees.";
}

std::vector<std::string> device_names() {
  int count = 0;
  ibv_device** list = ibv_get_device_list(&count);
  std::vector<std::string> names;
  for (int i = 0; list != nullptr && i < count; ++i) names.emplace_back(ibv_get_device_name(list[i]));
  if (list != nullptr) ibv_free_device_list(list);
  return names;
}

VerbsPtr<ibv_context> open_device(const std::string& name) {
  int count = 0;
  errno = 0;
  ibv_device** list = ibv_get_device_list(&count);
  if (list == nullptr || count == 0) {
    const int e = errno;
    if (list != nullptr) ibv_free_device_list(list);
    throw DeviceError("no RDMA device found (ibv_get_device_list: " +
                      (e != 0 ? errno_text(e) : std::string("no devices")) + "): " + device_help());
  }
  ibv_device* chosen = nullptr;
  std::string names;
  for (int i = 0; i < count; ++i) {
    const char* n = ibv_get_device_name(list[i]);
    names += (i ? ", " : "") + std::string(n);
    if (chosen == nullptr && (name.empty() || name == n)) chosen = list[i];
  }
  if (chosen == nullptr) {
    ibv_free_device_list(list);
    throw DeviceError("--device " + name + ": no such RDMA device (found: " + names + ")");
  }
  const std::string chosen_name = ibv_get_device_name(chosen);
  errno = 0;
  ibv_context* ctx = ibv_open_device(chosen);
  const int e = errno;
  ibv_free_device_list(list);
  if (ctx == nullptr) throw VerbsError("ibv_open_device(" + chosen_name + ") failed: " + errno_text(e));
  return VerbsPtr<ibv_context>(ctx);
}

PortAddress select_port(ibv_context* ctx, std::uint8_t port, int gid_index) {
  PortAddress a;
  a.device = ibv_get_device_name(ctx->device);
  a.port = port;
  ibv_device_attr dev{};
  if (const int rc = ibv_query_device(ctx, &dev); rc != 0) {
    throw VerbsError("ibv_query_device(" + a.device + ") failed: " + errno_text(rc));
  }
  if (port < 1 || port > dev.phys_port_cnt) {
    throw DeviceError("--port " + std::to_string(port) + ": " + a.device + " has ports 1.." +
                      std::to_string(dev.phys_port_cnt));
  }
  ibv_port_attr pa{};
  if (const int rc = ibv_query_port(ctx, port, &pa); rc != 0) {
    throw VerbsError("ibv_query_port(" + a.device + ", " + std::to_string(port) +
                     ") failed: " + errno_text(rc));
  }
  if (pa.state != IBV_PORT_ACTIVE) {
    throw DeviceError(a.device + " port " + std::to_string(port) + " is " + port_state_name(pa.state) +
                      ", not ACTIVE: check the cable / link (`ibv_devinfo -d " + a.device +
                      "`), or for Soft-RoCE that its Ethernet interface is up");
  }
  a.ethernet = pa.link_layer == IBV_LINK_LAYER_ETHERNET;
  a.lid = pa.lid;
  a.active_mtu = pa.active_mtu;
  const int table = pa.gid_tbl_len;

  if (gid_index >= 0) {
    if (gid_index >= table) {
      throw DeviceError("--gid-index " + std::to_string(gid_index) + ": " + a.device + " port " +
                        std::to_string(port) + " has GID indexes 0.." + std::to_string(table - 1) +
                        " (see `show_gids` or /sys/class/infiniband/" + a.device + "/ports/" +
                        std::to_string(port) + "/gids)");
    }
    ibv_gid_entry e{};
    if (const int rc = ibv_query_gid_ex(ctx, port, static_cast<std::uint32_t>(gid_index), &e, 0); rc != 0) {
      throw DeviceError("--gid-index " + std::to_string(gid_index) + ": " + a.device + " port " +
                        std::to_string(port) + " has no address at that index (ibv_query_gid_ex: " +
                        errno_text(rc < 0 ? -rc : rc) + "); leave --gid-index out to choose automatically");
    }
    if (gid_is_zero(e.gid)) {
      throw DeviceError("--gid-index " + std::to_string(gid_index) + ": entry is empty on " + a.device +
                        " port " + std::to_string(port) + "; leave --gid-index out to choose automatically");
    }
    a.gid_index = gid_index;
    a.gid = e.gid;
    a.gid_type = gid_type_name(e.gid_type);
    return a;
  }
  if (!a.ethernet) {
    // InfiniBand addresses by LID; GID 0 (the port GID) is kept for a GRH across subnets.
    ibv_query_gid(ctx, port, 0, &a.gid);
    a.gid_index = 0;
    a.gid_type = "IB";
    if (a.lid == 0) {
      throw DeviceError(a.device + " port " + std::to_string(port) +
                        " has LID 0: is a subnet manager (opensm) running on the fabric?");
    }
    return a;
  }
  int best = -1;
  int best_rank = 0;
  ibv_gid_entry best_entry{};
  for (int i = 0; i < table && i < kGidScanEntries; ++i) {
    ibv_gid_entry e{};
    if (ibv_query_gid_ex(ctx, port, static_cast<std::uint32_t>(i), &e, 0) != 0 || gid_is_zero(e.gid))
      continue;
    int rank = 1;
    if (e.gid_type == IBV_GID_TYPE_ROCE_V2) rank = gid_is_ipv4_mapped(e.gid) ? 3 : 2;
    if (rank > best_rank) {
      best = i;
      best_rank = rank;
      best_entry = e;
    }
  }
  if (best < 0) {
    throw DeviceError(a.device + " port " + std::to_string(port) + " has no GID among its first " +
                      std::to_string(kGidScanEntries) +
                      " entries: give its Ethernet interface an address (IPv6 link-local suffices) or "
                      "pass --gid-index");
  }
  a.gid_index = best;
  a.gid = best_entry.gid;
  a.gid_type = gid_type_name(best_entry.gid_type);
  return a;
}

void connect_rc_qp(ibv_qp* qp, const PortAddress& local, std::uint32_t local_psn, const RemoteQp& remote,
                   std::int32_t peer) {
  const auto fail = [&](const char* transition, int rc) {
    throw VerbsError("ibv_modify_qp(" + std::string(transition) + ") failed on " +
                     qp_state_text(qp, peer, local) + " (remote QP 0x" +
                     [&] {
                       char h[16];
                       std::snprintf(h, sizeof h, "%x", remote.qp_num);
                       return std::string(h);
                     }() +
                     ", GID " + format_gid(remote.gid) + ", LID " + std::to_string(remote.lid) +
                     "): " + errno_text(rc < 0 ? -rc : rc));
  };
  ibv_qp_attr init{};
  init.qp_state = IBV_QPS_INIT;
  init.pkey_index = 0;
  init.port_num = local.port;
  init.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_LOCAL_WRITE;
  if (const int rc =
          ibv_modify_qp(qp, &init, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
      rc != 0) {
    fail("RESET->INIT", rc);
  }

  ibv_qp_attr rtr{};
  rtr.qp_state = IBV_QPS_RTR;
  rtr.path_mtu = local.active_mtu;
  rtr.dest_qp_num = remote.qp_num;
  rtr.rq_psn = remote.psn;
  rtr.max_dest_rd_atomic = kMaxRdAtomic;
  rtr.min_rnr_timer = kMinRnrTimer;
  rtr.ah_attr.port_num = local.port;
  rtr.ah_attr.dlid = remote.lid;
  if (local.ethernet) {
    rtr.ah_attr.is_global = 1;
    rtr.ah_attr.grh.dgid = remote.gid;
    rtr.ah_attr.grh.sgid_index = static_cast<std::uint8_t>(local.gid_index);
    rtr.ah_attr.grh.hop_limit = kHopLimit;
  }
  if (const int rc = ibv_modify_qp(qp, &rtr,
                                   IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
                                       IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);
      rc != 0) {
    fail("INIT->RTR", rc);
  }

  ibv_qp_attr rts{};
  rts.qp_state = IBV_QPS_RTS;
  rts.timeout = kAckTimeoutExponent;
  rts.retry_cnt = kRetryCount;
  rts.rnr_retry = kRnrRetry;
  rts.sq_psn = local_psn;
  rts.max_rd_atomic = kMaxRdAtomic;
  if (const int rc = ibv_modify_qp(qp, &rts,
                                   IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
                                       IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
      rc != 0) {
    fail("RTR->RTS", rc);
  }
}

}  // namespace fabtwin::verbs
