#include "fabtwin/backend/rendezvous.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace fabtwin::backend {

void check_plan_fits(const coll::Plan& plan, const topo::Topology& topology) {
  if (plan.group_ranks() <= topology.rank_count()) return;
  throw std::invalid_argument("the plan has " + std::to_string(plan.group_ranks()) + " ranks but topology " +
                              topology.name + " places only " + std::to_string(topology.rank_count()) +
                              " (pick a larger topology or fewer ranks)");
}

Rendezvous::Rendezvous(const coll::Plan& plan) {
  coll::TransferPairs pairs = coll::pair_transfers(plan);
  index_of_ = std::move(pairs.index_of);
  transfers_.reserve(pairs.pairs.size());
  for (const auto& p : pairs.pairs) {
    Transfer t;
    t.send = {p.from, p.send};
    t.recv = {p.to, p.recv};
    t.bytes = plan.ranks[p.from].steps[p.send].src.bytes;
    transfers_.push_back(t);
  }
}

std::optional<std::uint32_t> Rendezvous::arrive(coll::StepRef ref, Seconds ready) {
  const std::uint32_t index = index_of(ref);
  Transfer& t = transfers_[index];
  const bool is_send = t.send.rank == ref.rank && t.send.step == ref.step;
  (is_send ? t.send_ready : t.recv_ready) = ready;
  if (t.send_ready.count() < 0 || t.recv_ready.count() < 0) return std::nullopt;
  t.start = std::max(t.send_ready, t.recv_ready);
  return index;
}

}  // namespace fabtwin::backend
