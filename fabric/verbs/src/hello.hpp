// The first frame a rank sends the root: who it claims to be and the job's token. Parsed apart from
// the sockets so that every byte sequence a stranger can send is tested (fuzz/fuzz_hello.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fabtwin::verbs {

enum FrameType : std::uint8_t { kHello = 1, kData = 2, kAbort = 3 };
inline constexpr std::size_t kHeaderBytes = 5;  // type, then payload length as big-endian u32
// A job token is an id, not a document: a hello announcing more is not one of ours.
inline constexpr std::size_t kMaxTokenBytes = 256;

std::string u32_bytes(std::uint32_t v);
std::uint32_t read_u32(const std::string& s, std::size_t at);  // `at + 4` must be within `s`

// kHello, length, rank, world, token.
std::string hello_frame(std::uint32_t rank, std::uint32_t world, const std::string& token);

struct Hello {
  enum class State { incomplete, malformed, whole } state = State::incomplete;
  std::int32_t rank = -1;
  std::int32_t world = -1;
  std::string token;
  std::size_t consumed = 0;  // bytes of the buffer the hello took
};
// Reads a hello from the start of what a connection has sent so far.
Hello parse_hello(const std::string& received);

}  // namespace fabtwin::verbs
