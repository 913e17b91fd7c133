// Everything the command line prints passes through here: text from input files (scenario names, log
// lines, JSON strings quoted in errors) may hold terminal control sequences that would recolour,
// retitle or rewrite the user's terminal, so they are shown escaped instead.
#pragma once

#include <ostream>
#include <streambuf>

namespace fabtwin::cli {

// Forwards to `target`, writing each C0 control byte except tab, line feed and carriage return, DEL,
// and each UTF-8-encoded C1 control (U+0080..U+009F) as \u00XX: readable on a terminal, and the same
// character again inside a JSON string, so JSON written to standard output stays valid.
class EscapingBuf : public std::streambuf {
 public:
  explicit EscapingBuf(std::ostream& target) : target_(target) {}
  ~EscapingBuf() override;
  EscapingBuf(const EscapingBuf&) = delete;
  EscapingBuf& operator=(const EscapingBuf&) = delete;

 protected:
  int_type overflow(int_type c) override;
  std::streamsize xsputn(const char* s, std::streamsize n) override;
  int sync() override;

 private:
  void put(unsigned char c);
  void flush_pending();
  std::ostream& target_;
  bool pending_c2_ = false;  // a 0xC2 lead byte whose follower decides whether it starts a C1 control
};

class EscapingStream : public std::ostream {
 public:
  explicit EscapingStream(std::ostream& target) : std::ostream(nullptr), buf_(target) { rdbuf(&buf_); }

 private:
  EscapingBuf buf_;
};

}  // namespace fabtwin::cli
