#include "terminal.hpp"

#include <cstdio>

namespace fabtwin::cli {

namespace {

void write_escape(std::ostream& out, unsigned code) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\u%04x", code);
  out << buf;
}

}  // namespace

EscapingBuf::~EscapingBuf() {
  flush_pending();
}

void EscapingBuf::flush_pending() {
  if (pending_c2_) target_.put(static_cast<char>(0xC2));
  pending_c2_ = false;
}

void EscapingBuf::put(unsigned char c) {
  if (pending_c2_) {
    pending_c2_ = false;
    if (c >= 0x80 && c <= 0x9F) {
      write_escape(target_, c);
      return;
    }
    target_.put(static_cast<char>(0xC2));
  }
  if (c == 0xC2) {
    pending_c2_ = true;
  } else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
    write_escape(target_, c);
  } else {
    target_.put(static_cast<char>(c));
  }
}

EscapingBuf::int_type EscapingBuf::overflow(int_type c) {
  if (!traits_type::eq_int_type(c, traits_type::eof())) put(static_cast<unsigned char>(c));
  return traits_type::not_eof(c);
}

std::streamsize EscapingBuf::xsputn(const char* s, std::streamsize n) {
  for (std::streamsize i = 0; i < n; ++i) put(static_cast<unsigned char>(s[i]));
  return n;
}

// A held 0xC2 stays held: its follower, still to come, decides what it is.
int EscapingBuf::sync() {
  target_.flush();
  return 0;
}

}  // namespace fabtwin::cli
