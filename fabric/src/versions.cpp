#include "fabtwin/fabric/versions.hpp"

namespace fabtwin::fabric {

// Taken from the packages' CMake and pkg-config metadata at configure time, so a result file says
// which ns-3 and rdma-core built the binary that produced it.
std::string ns3_version() {
  return FABTWIN_NS3_VERSION;
}
std::string rdma_core_version() {
  return FABTWIN_IBVERBS_VERSION;
}

}  // namespace fabtwin::fabric
