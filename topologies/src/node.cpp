#include "fabtwin/topo/node.hpp"

#include <array>

namespace fabtwin::topo {

namespace {

// Per-direction rates. NVLink at what a link carries, as NCCL counts it (graph/topo.h SM80_NVLINK_BW
// 20.0, SM90_NVLINK_BW 20.6, SM100_NVLINK_BW 40.1 GB/s per link; the datasheets' 25 and 50 are the
// signalling rate); PCIe x16 at 32 GB/s per direction for Gen4 and 64 for Gen5 before protocol overhead;
// NVLS traffic at the fraction of NVLink that NCCL's model gives it (graph/tuning.cc nvlsEfficiency,
// v2.28 and later: Hopper 0.85, Blackwell 0.74).
constexpr double kGB = 8e9;
// Half of a GPU-to-GPU hop through the NVSwitch, which NCCL measures at 0.6 us with its LL protocol
// (graph/tuning.cc hwLat[NVLINK][Ring][LL]): the whole hop is no slower than that.
constexpr Seconds kNvlinkHop{0.3e-6};

const std::array<GpuModel, 4> kGpus = {{
    {"a100", 80, BitsPerSecond(12 * 20.0 * kGB), BitsPerSecond(32 * kGB), false, 0.0,
     BitsPerSecond(2039 * kGB), kNvlinkHop,
     "A100 SXM4 datasheet: NVLink 3, 12 links, 600 GB/s bidirectional; PCIe Gen4 x16; HBM2e 2039 GB/s (80 "
     "GB)"},
    {"h100", 90, BitsPerSecond(18 * 20.6 * kGB), BitsPerSecond(64 * kGB), true, 0.85,
     BitsPerSecond(3350 * kGB), kNvlinkHop,
     "H100 SXM5 datasheet: NVLink 4, 18 links, 900 GB/s bidirectional; PCIe Gen5 x16; HBM3 3.35 TB/s; "
     "NVSwitch gen 3 with NVLS"},
    {"b200", 100, BitsPerSecond(18 * 40.1 * kGB), BitsPerSecond(64 * kGB), true, 0.74,
     BitsPerSecond(8000 * kGB), kNvlinkHop,
     "DGX B200 datasheet: NVLink 5, 1.8 TB/s bidirectional per GPU; PCIe Gen5 to the NICs; HBM3e 8 TB/s"},
    {"gb200", 100, BitsPerSecond(18 * 40.1 * kGB), BitsPerSecond(64 * kGB), true, 0.74,
     BitsPerSecond(8000 * kGB), kNvlinkHop,
     "GB200 NVL72 datasheet: NVLink 5, 1.8 TB/s bidirectional per GPU, 72 GPUs in one NVLink domain; "
     "HBM3e 8 TB/s"},
}};

const std::array<NodePreset, 4> kNodes = {{
    {"dgx-a100", "a100", 8, 8, BitsPerSecond(200e9), LinkLayer::infiniband,
     "DGX A100 user guide: 8 A100, 8 ConnectX-6 HDR 200 Gb/s compute ports"},
    {"dgx-h100", "h100", 8, 8, BitsPerSecond(400e9), LinkLayer::infiniband,
     "DGX H100 user guide: 8 H100, 8 ConnectX-7 NDR 400 Gb/s compute ports"},
    {"dgx-b200", "b200", 8, 8, BitsPerSecond(400e9), LinkLayer::infiniband,
     "DGX B200 user guide: 8 B200, 8 ConnectX-7 400 Gb/s compute ports"},
    {"gb200-nvl72", "gb200", 72, 72, BitsPerSecond(400e9), LinkLayer::infiniband,
     "GB200 NVL72: 72 GPUs in one NVLink domain, one 400 Gb/s compute port per GPU"},
}};

template <class Table>
std::string names_of(const Table& table) {
  std::string out;
  for (const auto& e : table) out += (out.empty() ? "" : ", ") + std::string(e.name);
  return out;
}

}  // namespace

const GpuModel* find_gpu_model(std::string_view name) {
  for (const auto& g : kGpus) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

const NodePreset* find_node_preset(std::string_view name) {
  for (const auto& n : kNodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

std::string gpu_model_names() {
  return names_of(kGpus);
}

std::string node_preset_names() {
  return names_of(kNodes);
}

const GpuModel* gpu_model_of(const Topology& t) {
  return find_gpu_model(t.gpu);
}

}  // namespace fabtwin::topo
