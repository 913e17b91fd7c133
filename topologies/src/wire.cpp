#include "fabtwin/topo/wire.hpp"

#include <algorithm>
#include <stdexcept>

namespace fabtwin::topo {

FrameFormat frame_format(LinkLayer layer) {
  switch (layer) {
    case LinkLayer::roce:
      return {8 + 14 + 20 + 8 + 12 + 4 + 4 + 12, 16, 4};
    case LinkLayer::infiniband:
      return {8 + 12 + 4 + 2, 16, 4};
    case LinkLayer::nvlink:
    case LinkLayer::pcie:
      return {};
  }
  throw std::logic_error("frame_format: bad LinkLayer");
}

WireCost rdma_write_on_wire(Bytes payload, Bytes mtu, LinkLayer layer) {
  const FrameFormat f = frame_format(layer);
  if (f.per_packet == 0) return {1, payload};
  if (mtu.count() == 0) throw std::invalid_argument("rdma_write_on_wire: MTU must be positive");
  const std::uint64_t p = payload.count();
  const std::uint64_t m = mtu.count();
  const std::uint64_t packets = std::max<std::uint64_t>(1, (p + m - 1) / m);
  const std::uint64_t bytes = p + packets * f.per_packet + f.first_extra + f.last_extra;
  return {packets, Bytes(bytes)};
}

}  // namespace fabtwin::topo
