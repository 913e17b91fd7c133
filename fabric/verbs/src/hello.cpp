#include "hello.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace fabtwin::verbs {

std::string u32_bytes(std::uint32_t v) {
  const std::uint32_t n = htonl(v);
  return std::string(reinterpret_cast<const char*>(&n), 4);
}

std::uint32_t read_u32(const std::string& s, std::size_t at) {
  std::uint32_t n = 0;
  std::memcpy(&n, s.data() + at, 4);
  return ntohl(n);
}

std::string hello_frame(std::uint32_t rank, std::uint32_t world, const std::string& token) {
  const std::string payload = u32_bytes(rank) + u32_bytes(world) + token;
  return std::string(1, static_cast<char>(kHello)) + u32_bytes(static_cast<std::uint32_t>(payload.size())) +
         payload;
}

Hello parse_hello(const std::string& received) {
  Hello h;
  if (received.size() < kHeaderBytes) return h;
  const std::uint32_t len = read_u32(received, 1);
  if (static_cast<std::uint8_t>(received[0]) != kHello || len < 8 || len > 8 + kMaxTokenBytes) {
    h.state = Hello::State::malformed;
    return h;
  }
  if (received.size() < kHeaderBytes + len) return h;
  h.state = Hello::State::whole;
  h.rank = static_cast<std::int32_t>(read_u32(received, kHeaderBytes));
  h.world = static_cast<std::int32_t>(read_u32(received, kHeaderBytes + 4));
  h.token = received.substr(kHeaderBytes + 8, len - 8);
  h.consumed = kHeaderBytes + len;
  return h;
}

}  // namespace fabtwin::verbs
