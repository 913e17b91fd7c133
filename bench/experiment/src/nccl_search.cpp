// NCCL's topology search as far as its model needs it: the ring graph's channels and their speed,
// the channels NCCL runs, the NVLS graph. Figures from NVIDIA/nccl v2.30 graph/search.cc, graph/topo.h,
// graph/connect.cc and transport/nvls.cc, for nodes of one GPU model with an NVSwitch.
#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "fabtwin/experiment/nccl_tuner.hpp"
#include "fabtwin/topo/node.hpp"

namespace fabtwin::experiment {

namespace {

// search.cc: per-channel speeds the search tries, highest first, by architecture and by whether the
// node has a network (Inter) or not (Intra).
const std::vector<double> kIntra = {40, 30, 20, 18, 15, 12, 10, 9, 7, 6, 5, 4, 3};
const std::vector<double> kInter = {48, 30, 28, 24, 20, 18, 15, 12, 10, 9, 7, 6, 5, 4, 3, 2.4, 1.2, 0.24, 0.12};
const std::vector<double> kSm90Intra = {60, 50, 40, 30, 24, 20, 15, 12, 11, 6, 3};
const std::vector<double> kSm90Inter = {48, 45, 42, 40, 30, 24, 22, 20, 17.5, 15, 12, 6, 3, 2.4, 1.2, 0.24, 0.12};
const std::vector<double> kSm100Intra = {90, 80, 70, 60, 50, 45, 40, 30, 24, 20, 19, 18};
const std::vector<double> kSm100Inter = {96, 86, 80, 48, 45.1, 42, 40, 30, 24, 22,
                                         20, 17.5, 15, 12, 6, 3, 2.4, 1.2, 0.24, 0.12};

const std::vector<double>& speeds(std::int32_t sm, bool network) {
  if (sm >= 100) return network ? kSm100Inter : kSm100Intra;
  if (sm >= 90) return network ? kSm90Inter : kSm90Intra;
  return network ? kInter : kIntra;
}

double first_at_most(const std::vector<double>& list, double limit) {
  for (double s : list) {
    if (s <= limit + 1e-9) return s;
  }
  return list.back();
}

// The ring graph: on a node with NICs, one channel per NIC at the speed of the GPU-NIC path; without,
// as many channels as the GPU's NVLink holds at the first speed that fits. ncclTopoDupChannels then
// doubles it unless the speed is low (search.cc).
void search_ring(NcclSystem& sys, double nic, double pcie) {
  const auto& list = speeds(sys.sm, sys.nodes > 1);
  if (sys.nodes > 1) {
    sys.channel_bw = first_at_most(list, std::min(nic, pcie));
    sys.search_channels = std::max(1, sys.nics_per_node);
  } else {
    sys.channel_bw = first_at_most(list, sys.nvlink);
    sys.search_channels = std::clamp(static_cast<std::int32_t>(sys.nvlink / sys.channel_bw + 1e-9), 1, 32);
  }
  const bool dup = !(sys.channel_bw < 25 || (sys.sm > 80 && sys.channel_bw < 50 && sys.search_channels > 4));
  if (dup) {
    sys.search_channels = std::min(32, 2 * sys.search_channels);
    sys.channel_bw /= 2;
  }
  // ncclTopoPostset doubles the channels again for the run, and Hopper multi-node rings once more
  // where each channel is fast and there are few.
  sys.comm_channels = std::min(64, 2 * sys.search_channels);
  if (sys.sm >= 90 && sys.nodes > 1 && sys.channel_bw > 45 && sys.comm_channels < 16) sys.comm_channels *= 2;
}

// The NVLS graph: a head per GPU of the node (per NIC across nodes), its NVLink speed the first that
// leaves room for one more channel, its channels at run time 16 on Hopper and 24/32 on Blackwell.
void search_nvls(NcclSystem& sys, std::int32_t gpus_per_node, const topo::GpuModel* gpu) {
  sys.nvls = gpu != nullptr && gpu->nvls && gpus_per_node > 2 && sys.sm >= 90;
  if (!sys.nvls) return;
  const auto& intra = speeds(sys.sm, false);
  sys.nvls_heads = sys.nodes > 1 ? std::max(1, sys.nics_per_node) : gpus_per_node;
  sys.nvls_bw_intra = first_at_most(intra, sys.nvlink / (gpus_per_node + 1));
  sys.nvls_bw_inter = sys.nodes > 1 ? sys.channel_bw * (sys.search_channels > sys.nics_per_node ? 2 : 1)
                                    : intra.front();
  sys.nvls_channels = sys.sm >= 100 ? (sys.nodes > 1 ? 32 : 24) : 16;
}

}  // namespace

NcclSystem nccl_system(const topo::Topology& t, const coll::Group& group) {
  NcclSystem sys;
  sys.ranks = group.ranks;
  std::set<std::int32_t> hosts, nics;
  std::int32_t on_first = 0;
  for (std::int32_t r = 0; r < group.ranks; ++r) {
    hosts.insert(group.host_of(r));
    if (group.host_of(r) != group.host_of(0)) continue;
    ++on_first;
    nics.insert(static_cast<std::int32_t>(t.ranks.at(r).nic));
  }
  sys.nodes = static_cast<std::int32_t>(hosts.size());
  sys.ppn = std::max(1, on_first);
  sys.nics_per_node = static_cast<std::int32_t>(nics.size());
  const topo::GpuModel* gpu = topo::gpu_model_of(t);
  sys.sm = gpu != nullptr ? gpu->sm : 90;
  // Rank 0's links as NCCL's topology sees them: NIC port speed / 8, PCIe at 12 GB/s per Gen3 x16
  // doubling per generation (0.75 of the raw rate), NVLink at its per-link rate.
  const topo::RankPlacement& r0 = t.ranks.at(0);
  double nic = 0, pcie = 0;
  for (const topo::Link& l : t.links) {
    const double gbps = l.bandwidth.count() / 8e9;
    if ((l.a == r0.gpu || l.b == r0.gpu) && l.layer == topo::LinkLayer::nvlink) sys.nvlink += gbps;
    if (l.a != r0.nic && l.b != r0.nic) continue;
    if (l.layer == topo::LinkLayer::pcie) pcie = std::max(pcie, gbps * 0.75);
    if (l.layer == topo::LinkLayer::roce || l.layer == topo::LinkLayer::infiniband) nic = std::max(nic, gbps);
  }
  if (sys.nvlink == 0) sys.nvlink = pcie;
  search_ring(sys, nic > 0 ? nic : pcie, pcie > 0 ? pcie : nic);
  search_nvls(sys, sys.ppn, gpu);
  std::ostringstream why;
  why << "ring " << sys.search_channels << " x " << sys.channel_bw << " GB/s, " << sys.comm_channels
      << " channels at run time";
  if (sys.nvls) why << "; NVLS " << sys.nvls_heads << " heads, " << sys.nvls_channels << " channels";
  sys.why = why.str();
  return sys;
}

}  // namespace fabtwin::experiment
