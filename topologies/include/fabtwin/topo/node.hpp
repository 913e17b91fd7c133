// What a GPU host is made of, from public datasheets: the GPU generation (its NVLink and PCIe rates,
// whether its NVSwitch reduces, its memory bandwidth) and node presets that name a whole server.
// Generators read these through the spec keys gpu=, nics= and node=; the NCCL tuner reads the GPU
// generation to pick NCCL's tables for it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fabtwin/topo/topology.hpp"
#include "fabtwin/units.hpp"

namespace fabtwin::topo {

struct GpuModel {
  std::string_view name;
  std::int32_t sm = 0;         // compute capability x 10 (80 Ampere, 90 Hopper, 100 Blackwell)
  BitsPerSecond nvlink;        // per GPU, per direction, all links together
  BitsPerSecond pcie;          // GPU to NIC, per direction
  bool nvls = false;           // its NVSwitch reduces and multicasts (NVLink SHARP)
  double nvls_efficiency = 0;  // of the NVLink rate that NVLS traffic reaches
  BitsPerSecond memory;        // HBM bandwidth
  Seconds nvlink_latency;      // per link, GPU to NVSwitch
  std::string_view source;     // where the figures come from
};

// A whole server: the GPU, how many of each, and its compute NICs.
struct NodePreset {
  std::string_view name;
  std::string_view gpu;
  std::int32_t gpus = 8;
  std::int32_t nics = 8;
  BitsPerSecond nic_speed;
  LinkLayer layer = LinkLayer::infiniband;
  std::string_view source;
};

const GpuModel* find_gpu_model(std::string_view name);
const NodePreset* find_node_preset(std::string_view name);
// "a100, h100, ..." for error messages.
std::string gpu_model_names();
std::string node_preset_names();

// The GPU model a topology's GPUs are (its `gpu` field), or nullptr when it does not say.
const GpuModel* gpu_model_of(const Topology& t);

}  // namespace fabtwin::topo
