// A plan of plain sends for backend tests: the traffic pattern is the test's, not an algorithm's.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "fabtwin/coll/plan.hpp"

namespace fabtwin::test {

// One send of `bytes` per (from, to) pair, every one ready at time zero.
inline coll::Plan sends(const std::vector<std::pair<std::int32_t, std::int32_t>>& pairs, std::int32_t ranks,
                        std::uint64_t bytes) {
  coll::Plan p;
  p.collective = coll::Collective::broadcast;
  p.algorithm = "test-sends";
  p.dtype = coll::DataType::int32;
  p.count = bytes / 4;
  p.size_bytes = bytes;
  p.ranks.resize(ranks);
  for (const auto& [from, to] : pairs) {
    coll::Step send;
    send.kind = coll::StepKind::send;
    send.peer = to;
    send.src = {coll::BufferKind::input, 0, bytes};
    p.ranks[from].steps.push_back(send);
    p.ranks[from].input_bytes = bytes;
    coll::Step recv;
    recv.kind = coll::StepKind::recv;
    recv.peer = from;
    recv.dst = {coll::BufferKind::output, p.ranks[to].output_bytes, bytes};
    p.ranks[to].output_bytes += bytes;
    p.ranks[to].steps.push_back(recv);
  }
  return p;
}

}  // namespace fabtwin::test
