// The packet model against numbers derived by hand, and against the analytic model where both should
// agree.
#include "fabtwin/fabric/packet.hpp"

#include <gtest/gtest.h>
#include <ns3/type-id.h>

#include "fabtwin/coll/algorithms.hpp"
#include "fabtwin/coll/cost_model.hpp"
#include "fabtwin/coll/metrics.hpp"
#include "fabtwin/topo/generators.hpp"
#include "fabtwin/topo/wire.hpp"

namespace fabtwin::fabric {
namespace {

using coll::Collective;

// Sends of `bytes` from each rank in `senders` to `receiver`, all posted at time zero.
coll::Plan incast(const std::vector<std::int32_t>& senders, std::int32_t receiver, std::int32_t ranks,
                  std::uint64_t bytes) {
  coll::Plan p;
  p.collective = Collective::broadcast;
  p.algorithm = "test-incast";

  p.dtype = coll::DataType::int32;
  p.count = bytes / 4;
  p.size_bytes = bytes;
  p.ranks.resize(ranks);
  std::uint64_t offset = 0;
  for (std::int32_t s : senders) {
    coll::Step send;
    send.kind = coll::StepKind::send;
    send.peer = receiver;
    send.src = {coll::BufferKind::input, 0, bytes};
    p.ranks[s].steps.push_back(send);
    p.ranks[s].input_bytes = bytes;
    coll::Step recv;
    recv.kind = coll::StepKind::recv;
    recv.peer = s;
    recv.dst = {coll::BufferKind::output, offset, bytes};
    offset += bytes;
    p.ranks[receiver].steps.push_back(recv);
  }
  p.ranks[receiver].output_bytes = offset;
  return p;
}

const coll::TraceRecord& record(const coll::RunResult& run, std::int32_t rank, coll::StepKind kind,
                                std::int32_t peer) {
  for (const auto& t : run.trace) {
    if (t.rank == rank && t.kind == kind && t.peer == peer) return t;
  }
  throw std::runtime_error("no such trace record");
}

PacketConfig quiet() {
  PacketConfig c;
  c.copy_rate = BitsPerSecond(1e18);
  return c;
}

TEST(Packet, TypeIdsAreRegistered) {
  ns3::TypeId tid;
  EXPECT_TRUE(ns3::TypeId::LookupByNameFailSafe("fabtwin::FabricDevice", &tid));
  EXPECT_TRUE(ns3::TypeId::LookupByNameFailSafe("fabtwin::FabricChannel", &tid));
}

TEST(Packet, OneQueuePairReachesLineRateTimesPayloadShare) {
  const auto t =
      topo::topology_from_spec("fat-tree:tiers=2,hosts=2,hosts_per_leaf=2,speed=400Gbps,latency=1us");
  const std::uint64_t bytes = 64ull << 20;
  const auto result = simulate(incast({0}, 1, 2, bytes), t, quiet());
  const auto& recv = record(result.run, 1, coll::StepKind::recv, 0);
  // Fixed costs: per-message 2 us, two PCIe hops of 0.5 us and two network hops of 1 us.
  const double fixed = 2e-6 + 3e-6;
  const double goodput = bytes * 8.0 / (recv.end.count() - fixed);
  const double expected = 400e9 * 4096.0 / (4096.0 + 82.0);
  EXPECT_NEAR(goodput / expected, 1.0, 0.005) << "goodput " << goodput / 1e9 << " Gb/s";
  EXPECT_EQ(result.fabric.drops, 0u);
  EXPECT_EQ(result.fabric.retransmitted_packets, 0u);
  EXPECT_EQ(result.fabric.pfc_pauses, 0u);
  // The sender completes when the last acknowledgement is back, after the receiver.
  const auto& send = record(result.run, 0, coll::StepKind::send, 1);
  EXPECT_GT(send.end, recv.end);
}

}  // namespace
}  // namespace fabtwin::fabric
