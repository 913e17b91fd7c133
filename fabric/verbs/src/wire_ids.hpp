// What the transport and the plan backend over it agree on: request ids, buffer alignment, transfer keys.
#pragma once

#include <cstdint>

namespace fabtwin::verbs::detail {

// Regions start on cache lines so a reduction kernel never straddles two buffers' lines.
inline constexpr std::uint64_t kAlignBytes = 64;

inline std::uint64_t align_up(std::uint64_t v) {
  return (v + kAlignBytes - 1) / kAlignBytes * kAlignBytes;
}

// A transfer on this rank: the peer and the plan's tag.
inline std::uint64_t key(std::int32_t peer, std::uint32_t tag) {
  return static_cast<std::uint64_t>(static_cast<std::uint32_t>(peer)) << 32 | tag;
}

inline constexpr std::uint64_t kGrantWr = 1ull << 63;  // wr_id of a clear-to-send write; else the step index

}  // namespace fabtwin::verbs::detail
