#include <stdexcept>
#include <string>

#include "fabtwin/packet/packet.hpp"
#include "sim.hpp"

namespace fabtwin::packet {

const char* to_string(FabricKind k) {
  return k == FabricKind::roce ? "roce" : "ib";
}

const char* to_string(CongestionControl c) {
  return c == CongestionControl::dcqcn ? "dcqcn" : "none";
}

}  // namespace fabtwin::packet
