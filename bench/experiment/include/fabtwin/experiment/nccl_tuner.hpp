// NCCL's tuner: its own cost model (graph/tuning.cc ncclTopoTuneModel, enqueue.cc topoGetAlgoTime)
// evaluated for the cluster the topology describes, to pick what NCCL would run at a size. The pick
// is then simulated like any plan; the model's own time is kept beside it for the TUNING line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/coll/nccl.hpp"
#include "fabtwin/topo/topology.hpp"

namespace fabtwin::experiment {

// What NCCL's search would find for the cluster: the facts its model starts from.
struct NcclSystem {
  std::int32_t ranks = 1;
  std::int32_t nodes = 1;
  std::int32_t nics_per_node = 1;
  std::int32_t sm = 90;            // compute capability x 10 of the GPUs
  std::int32_t search_channels = 1;
  double channel_bw = 0;           // GB/s per search channel, from NCCL's speed lists
  std::string why;                 // how the channel bandwidth was found, for the output
};

NcclSystem nccl_system(const topo::Topology& t, const coll::Group& group);

struct NcclChoice {
  coll::nccl::Algo algo;
  coll::nccl::Proto proto;
  double model_time_us = 0;  // NCCL's own estimate
  double bandwidth = 0;      // its algorithm bandwidth, GB/s
};

// NCCL's estimate of an all-reduce of `bytes` with (algo, proto); negative when NCCL would not use it.
double nccl_model_time_us(const NcclSystem& sys, coll::nccl::Algo algo, coll::nccl::Proto proto,
                          std::uint64_t bytes);

// The fastest of `algos` x every protocol by NCCL's model (NCCL_ALGO / NCCL_PROTO narrow the lists).
NcclChoice nccl_choose(const NcclSystem& sys, const std::vector<coll::nccl::Algo>& algos,
                       const std::vector<coll::nccl::Proto>& protos, std::uint64_t bytes);

}  // namespace fabtwin::experiment
