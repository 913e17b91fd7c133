// Simulated time in integer picoseconds and the frame helpers every part of the packet model shares.
#pragma once

#include <ns3/packet.h>
#include <ns3/simulator.h>

#include <cmath>
#include <cstdint>

#include "fabric_device.hpp"
#include "fabtwin/packet/packet.hpp"

namespace fabtwin::packet {

constexpr topo::NodeId kNoNode = UINT32_MAX;

inline std::int64_t ps_of(Seconds s) {
  return std::llround(s.count() * 1e12);
}
inline std::int64_t now_ps() {
  return ns3::Simulator::Now().GetPicoSeconds();
}
inline Seconds seconds_of_ps(std::int64_t ps) {
  return Seconds(static_cast<double>(ps) * 1e-12);
}

inline std::uint32_t header_bytes() {
  static const std::uint32_t bytes = FabricHeader().GetSerializedSize();
  return bytes;
}

inline ns3::Ptr<ns3::Packet> make_frame(const Frame& f) {
  ns3::Ptr<ns3::Packet> p = ns3::Create<ns3::Packet>(f.payload);
  p->AddHeader(FabricHeader(f));
  return p;
}

}  // namespace fabtwin::packet
