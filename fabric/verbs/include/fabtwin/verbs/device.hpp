// RAII over the libibverbs objects the transport uses, in the order rc_pingpong builds them: device
// context, protection domain, memory region, completion channel and queue, reliable-connected queue
// pair. Destructors never throw. Every failing call throws with the call, the errno text and the
// object's state (device, port, QP number, peer rank).
#pragma once

#include <infiniband/verbs.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "fabtwin/verbs/bootstrap.hpp"

namespace fabtwin::verbs {

// QP transition parameters, named so that a reader of a packet trace knows what to expect.
// Local ACK timeout exponent: 4.096 us x 2^14 = 67 ms per try. Long enough for Soft-RoCE under an
// emulator and for a congested fabric; short enough that a dead peer surfaces within a second.
inline constexpr std::uint8_t kAckTimeoutExponent = 14;
// Retries after an ACK timeout before IBV_WC_RETRY_EXC_ERR (7 is the largest the field holds).
inline constexpr std::uint8_t kRetryCount = 7;
// 7 means retry forever on receiver-not-ready: receives are re-posted as they complete, so an RNR is
// always transient, and a dead peer is caught by the ACK timeout and the bootstrap instead.
inline constexpr std::uint8_t kRnrRetry = 7;
// Minimal RNR NAK delay code 12 = 0.64 ms before the sender retries.
inline constexpr std::uint8_t kMinRnrTimer = 12;
// Outstanding RDMA reads/atomics: the transport issues none, but 1 is the portable minimum.
inline constexpr std::uint8_t kMaxRdAtomic = 1;
// Hop limit for RoCEv2 / GRH traffic: routed fabrics need more than the default of 1 hop.
inline constexpr std::uint8_t kHopLimit = 64;
// GID entries examined when choosing automatically. Soft-RoCE's table has 1024 entries, and reading
// them all through sysfs takes about a minute under an emulator; addresses sit at the front.
inline constexpr int kGidScanEntries = 16;

// No device, an unknown device name, an inactive port, an empty or unusable GID index: unusable
// input, with what to do about it.
class DeviceError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A verbs call failed at run time: the message names the call, errno text and the object's state.
class VerbsError : public RunError {
 public:
  using RunError::RunError;
};

struct VerbsDeleter {
  void operator()(ibv_context* p) const noexcept;
  void operator()(ibv_pd* p) const noexcept;
  void operator()(ibv_mr* p) const noexcept;
  void operator()(ibv_comp_channel* p) const noexcept;
  void operator()(ibv_cq* p) const noexcept;
  void operator()(ibv_qp* p) const noexcept;
};

template <typename T>
using VerbsPtr = std::unique_ptr<T, VerbsDeleter>;

// What a port offers and the address this process uses on it.
struct PortAddress {
  std::string device;
  std::uint8_t port = 1;
  bool ethernet = false;  // RoCE: address by GID; InfiniBand: by LID
  std::uint16_t lid = 0;
  int gid_index = -1;
  ibv_gid gid{};
  std::string gid_type;  // "RoCE v2", "RoCE v1", "IB"
  ibv_mtu active_mtu = IBV_MTU_1024;
};

std::string format_gid(const ibv_gid& gid);
std::string device_help();

// Opens `name`, or the first device when empty. Throws DeviceError when there is none (saying how to
// get Soft-RoCE) or the name is unknown (listing what there is).
VerbsPtr<ibv_context> open_device(const std::string& name);
// The names libibverbs lists, in its order; empty when there are none.
std::vector<std::string> device_names();

// Checks the port is ACTIVE and picks the GID: `gid_index` >= 0 as given (checked to hold an
// address), otherwise the first RoCE v2 entry, preferring an IPv4-mapped one (routable), then RoCE
// v1, among the first kGidScanEntries. InfiniBand ports also record their LID.
PortAddress select_port(ibv_context* ctx, std::uint8_t port, int gid_index);

// The peer's half of an RC connection, as exchanged over the bootstrap.
struct RemoteQp {
  std::uint32_t qp_num = 0;
  std::uint32_t psn = 0;
  std::uint16_t lid = 0;
  ibv_gid gid{};
};

// RESET -> INIT -> RTR -> RTS with remote write allowed, one call per transition so a failure names
// the state it could not reach. `peer` is for messages.
void connect_rc_qp(ibv_qp* qp, const PortAddress& local, std::uint32_t local_psn, const RemoteQp& remote,
                   std::int32_t peer);

}  // namespace fabtwin::verbs
