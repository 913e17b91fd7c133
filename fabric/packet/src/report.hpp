// The fabric report of a run: what the ports saw, summed with what the nodes and queue pairs counted.
#pragma once

#include <ns3/ptr.h>

#include <chrono>
#include <memory>
#include <vector>

#include "fabric_device.hpp"
#include "fabtwin/packet/packet.hpp"
#include "node.hpp"
#include "queue_pair.hpp"

namespace fabtwin::packet {

struct ReportSources {
  const topo::Topology& topology;
  const std::vector<ns3::Ptr<FabricDevice>>& devices;
  const std::vector<std::unique_ptr<Node>>& nodes;
  const QueuePairs& qps;
  std::chrono::steady_clock::time_point wall_start;
};

FabricReport build_report(const ReportSources& from);

}  // namespace fabtwin::packet
