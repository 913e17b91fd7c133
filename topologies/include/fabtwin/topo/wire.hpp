// What a message costs on the wire: RDMA payload cut into MTU-sized packets, each wrapped in the
// headers of its link layer. A 400 Gbps RoCE link carries about 392 Gbps of payload at a 4 KiB MTU; the
// analytic model and the packet simulator both charge these bytes, so neither reports the raw rate.
#pragma once

#include <cstdint>

#include "fabtwin/topo/topology.hpp"
#include "fabtwin/units.hpp"

namespace fabtwin::topo {

// Per-packet bytes around the payload of an RDMA WRITE, wire time included (preamble and inter-frame
// gap on Ethernet).
struct FrameFormat {
  std::uint32_t per_packet = 0;   // on every packet
  std::uint32_t first_extra = 0;  // RETH: remote address, rkey and length on the first packet
  std::uint32_t last_extra = 0;   // immediate data on the last packet of a WRITE WITH IMMEDIATE
};

// RoCEv2 over IPv4: preamble+SFD 8, Ethernet 14, IPv4 20, UDP 8, BTH 12, ICRC 4, FCS 4, gap 12.
// RoCEv2 headers alone exceed Ethernet's 64-byte minimum frame, so no packet is ever padded.
// InfiniBand: LRH 8, BTH 12, ICRC 4, VCRC 2 (no GRH inside one subnet). NVLink and PCIe links carry
// raw bytes here: their protocol overhead is folded into the rates they are given.
FrameFormat frame_format(LinkLayer layer);

struct WireCost {
  std::uint64_t packets = 0;
  Bytes bytes;  // payload plus every header, as the link serialises them
};

// An RDMA WRITE WITH IMMEDIATE of `payload` over a link of this layer and MTU (MTU = payload bytes
// per packet, as RDMA defines it). A zero-byte write still sends one packet.
WireCost rdma_write_on_wire(Bytes payload, Bytes mtu, LinkLayer layer);

// Time the link is busy serialising that message.
inline Seconds wire_time(Bytes payload, const Link& link) {
  return transfer_time(rdma_write_on_wire(payload, link.mtu, link.layer).bytes, link.bandwidth);
}

}  // namespace fabtwin::topo
