// NCCL's tuner: its topology search and cost model (graph/search.cc ncclTopoCompute, graph/connect.cc
// ncclTopoPostset, graph/tuning.cc ncclTopoTuneModel, enqueue.cc topoGetAlgoInfo; NVIDIA/nccl v2.30)
// evaluated for the cluster the topology describes, to pick what NCCL would run at a size. The pick is
// then simulated like any plan; the model's own time is kept beside it, as NCCL's TUNING line has it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/coll/nccl.hpp"
#include "fabtwin/topo/topology.hpp"

namespace fabtwin::experiment {

// What NCCL's search would find for the cluster: the facts its model starts from (GB/s, NCCL's units).
struct NcclSystem {
  std::int32_t ranks = 1;
  std::int32_t nodes = 1;
  std::int32_t ppn = 1;  // ranks per node
  std::int32_t nics_per_node = 0;
  std::int32_t sm = 90;  // compute capability x 10 of the GPUs
  double nvlink = 0;     // a GPU's NVLink bandwidth (all links)
  // The ring and tree graph: search channels and the bandwidth of each, then the channels NCCL runs.
  std::int32_t search_channels = 1;
  double channel_bw = 0;
  std::int32_t comm_channels = 2;
  // The NVLS graph: one head per GPU (one node) or per NIC, and its channels at run time.
  bool nvls = false;
  std::int32_t nvls_heads = 0;
  double nvls_bw_intra = 0, nvls_bw_inter = 0;
  std::int32_t nvls_channels = 0;
  std::string why;  // how the search went, for the output
};

NcclSystem nccl_system(const topo::Topology& t, const coll::Group& group);

struct NcclChoice {
  coll::nccl::Algo algo;
  coll::nccl::Proto proto;
  double model_time_us = 0;   // NCCL's own estimate
  std::int32_t channels = 0;  // what the call runs on
};

// NCCL's estimate of an all-reduce of `bytes` with (algo, proto), microseconds; negative when NCCL
// would not run it (disabled, or no bandwidth).
double nccl_model_time_us(const NcclSystem& sys, coll::nccl::Algo algo, coll::nccl::Proto proto,
                          std::uint64_t bytes);
// The most one of `channels` channels moves per second with (algo, proto) where its protocol, not the
// links, caps it (LL and LL128: NCCL's llMaxBws and per-channel tables spread over the channels the call
// runs on), GB/s; 0 otherwise.
double nccl_channel_rate_gbps(const NcclSystem& sys, coll::nccl::Algo algo, coll::nccl::Proto proto,
                              std::int32_t channels);
// The channels a call of `bytes` runs on with (algo, proto) (enqueue.cc topoGetAlgoInfo).
std::int32_t nccl_call_channels(const NcclSystem& sys, coll::nccl::Algo algo, coll::nccl::Proto proto,
                                std::uint64_t bytes);

// The fastest of `algos` x `protos` by NCCL's model (NCCL_ALGO / NCCL_PROTO narrow the lists).
NcclChoice nccl_choose(const NcclSystem& sys, const std::vector<coll::nccl::Algo>& algos,
                       const std::vector<coll::nccl::Proto>& protos, std::uint64_t bytes);

}  // namespace fabtwin::experiment
