// The one hash every part of fabtwin uses where it needs a deterministic, well-mixed 64-bit value
// (ECMP choices, ECN marking draws, generated test data).
#pragma once

#include <cstdint>

namespace fabtwin {

// splitmix64: every input bit flips about half the output bits, so consecutive ids spread evenly over
// any number of choices, and the result is identical on every platform.
constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace fabtwin
