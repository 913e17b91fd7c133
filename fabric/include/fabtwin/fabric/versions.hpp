// Versions of the libraries a result was produced with, recorded in every result's provenance.
#pragma once

#include <string>

namespace fabtwin::fabric {

std::string ns3_version();
std::string rdma_core_version();

}  // namespace fabtwin::fabric
