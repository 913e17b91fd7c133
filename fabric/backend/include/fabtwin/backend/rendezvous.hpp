// A transfer starts once both its halves are posted. Every timed backend pairs the plan's sends with
// their receives the same way; this is that pairing and the moment each transfer may begin.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "fabtwin/coll/runner.hpp"
#include "fabtwin/topo/topology.hpp"

namespace fabtwin::backend {

struct Transfer {
  coll::StepRef send;
  coll::StepRef recv;
  std::uint64_t bytes = 0;
  Seconds send_ready{-1};
  Seconds recv_ready{-1};
  Seconds start{0};  // the later of the two readiness times, once both are known
};

// Throws std::invalid_argument when the plan has more ranks than the topology places.
void check_plan_fits(const coll::Plan& plan, const topo::Topology& topology);

class Rendezvous {
 public:
  explicit Rendezvous(const coll::Plan& plan);

  // Records that the send or receive `ref` is ready at `ready`. Returns the transfer's index when this
  // was the second half, so the transfer can start at transfer(index).start.
  std::optional<std::uint32_t> arrive(coll::StepRef ref, Seconds ready);

  std::uint32_t index_of(coll::StepRef ref) const { return index_of_[ref.rank][ref.step]; }
  const Transfer& transfer(std::uint32_t index) const { return transfers_[index]; }
  const std::vector<Transfer>& transfers() const { return transfers_; }

 private:
  std::vector<std::vector<std::uint32_t>> index_of_;
  std::vector<Transfer> transfers_;
};

}  // namespace fabtwin::backend
