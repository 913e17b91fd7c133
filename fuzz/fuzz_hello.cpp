// What a stranger can send the root first: every byte sequence is incomplete, malformed or one whole
// hello that consumes no more than it was given.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "hello.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string received(reinterpret_cast<const char*>(data), size);
  const auto h = fabtwin::verbs::parse_hello(received);
  if (h.state == fabtwin::verbs::Hello::State::whole) {
    if (h.consumed > received.size() || h.token.size() > fabtwin::verbs::kMaxTokenBytes) std::abort();
    const std::string again = fabtwin::verbs::hello_frame(static_cast<std::uint32_t>(h.rank),
                                                          static_cast<std::uint32_t>(h.world), h.token);
    if (received.compare(0, h.consumed, again) != 0) std::abort();
  }
  return 0;
}
