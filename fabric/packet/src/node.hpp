// One topology node: it forwards frames that are not its own (switches, NICs, NVSwitches, and GPUs on a
// PXN detour), and terminates the queue pairs of the rank whose GPU it is. Forwarding models the shared
// buffer, PFC on lossless Ethernet ports, link-level credits on credit-based ones and ECN marking.
#pragma once

#include <ns3/node.h>

#include <array>
#include <cstdint>
#include <vector>

#include "fabric_device.hpp"
#include "queue_pair.hpp"
#include "routes.hpp"

namespace fabtwin::packet {

// The run's one random sequence; the ECN marking decisions draw from it in event order.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  double uniform();

 private:
  std::uint64_t state_;
};

struct NodeStats {
  std::uint64_t pauses = 0;
  std::uint64_t drops = 0;
  std::uint64_t marks = 0;
};

class Node final : public Element {
 public:
  Node(const topo::Node& n, const PacketConfig& config, Routes& routes, QueuePairs& qps, Rng& rng);

  void Receive(std::uint32_t port, ns3::Ptr<ns3::Packet> packet, const Frame& header) override;
  void Dequeued(std::uint32_t in_port, std::uint32_t priority, std::uint32_t bytes) override;
  ns3::Ptr<ns3::Packet> Pull(std::uint32_t port, std::int64_t credit, std::int64_t* wake,
                             Frame* header) override;

  std::uint32_t add_port(ns3::Ptr<FabricDevice> dev);
  const std::vector<FabricDevice*>& ports() const { return ports_; }
  std::uint32_t port_of(const FabricDevice* device) const;
  // Attaches a queue pair this node sources to the port its first hop leaves through.
  void add_source(std::uint32_t port, QueuePair& qp);
  void move_source(QueuePair& qp, std::uint32_t port);
  const NodeStats& stats() const { return stats_; }

 private:
  void terminate(std::uint32_t port, const ns3::Ptr<ns3::Packet>& packet, const Frame& h);
  bool admit(std::uint32_t port, const Frame& h, std::uint32_t size);
  void mark_ecn(const FabricDevice& out, const ns3::Ptr<ns3::Packet>& packet, Frame& h);
  bool pfc_port(std::uint32_t port) const;
  void return_credit(std::uint32_t port, std::uint32_t priority, std::uint32_t bytes);

  const PacketConfig& config_;
  Routes& routes_;
  QueuePairs& qps_;
  Rng& rng_;
  topo::NodeId id_;
  topo::NodeKind kind_;
  ns3::Ptr<ns3::Node> node_;
  std::vector<FabricDevice*> ports_;
  std::vector<std::array<std::uint64_t, kPriorities>> ingress_;
  std::vector<std::array<bool, kPriorities>> xoff_;
  std::uint64_t used_ = 0;
  std::uint64_t capacity_;
  struct Source {
    std::vector<QueuePair*> qps;
    std::size_t rr = 0;
  };
  std::vector<Source> sources_;
  NodeStats stats_;
};

}  // namespace fabtwin::packet
