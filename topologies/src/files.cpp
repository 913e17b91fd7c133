#include "fabtwin/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace fabtwin {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int e) {
  return std::strerror(e);
}

std::size_t line_of(std::string_view text, std::size_t byte) {
  const std::size_t end = std::min(byte, text.size());
  std::size_t line = 1;
  for (std::size_t i = 0; i < end; ++i) line += text[i] == '\n';
  return line;
}

// One pass over the text outside strings; linear, so it is safe on any input before the parser runs.
void check_depth(std::string_view text, const std::string& origin) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        throw std::invalid_argument(origin + ":" + std::to_string(line_of(text, i)) +
                                    ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                                    " levels: not a fabtwin file (fabtwin's formats nest a few levels)");
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

void write_all(int fd, std::string_view content, const std::string& path) {
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw std::invalid_argument("writing " + path + " failed: " + errno_text(errno) + " (disk full?)");
    done += static_cast<std::size_t>(n);
  }
}

std::string read_all(int fd, const std::string& name, std::string_view what, std::uint64_t max_bytes) {
  std::string text;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::invalid_argument(name + ": read failed: " + errno_text(errno));
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) {
      throw std::invalid_argument(name + ": larger than " + std::to_string(max_bytes >> 20) +
                                  " MiB, more than any real " + std::string(what) + " holds: refused");
    }
  }
  return text;
}

}  // namespace

std::string read_standard_input(std::string_view what, std::uint64_t max_bytes) {
  const std::string name = std::string(what) + " on standard input";
  // Read from a terminal, the command would wait for typing with no end in sight.
  if (::isatty(STDIN_FILENO)) {
    throw std::invalid_argument(name + ": standard input is a terminal; pipe the " + std::string(what) +
                                " in (... | fabtwin ... -) or name a file");
  }
  return read_all(STDIN_FILENO, name, what, max_bytes);
}

std::string read_input_file(const std::string& path, std::string_view what, std::uint64_t max_bytes) {
  if (path == "-") return read_standard_input(what, max_bytes);
  const std::string name = std::string(what) + " " + path;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    throw std::invalid_argument(name + ": cannot open: " + (ec ? ec.message() : "no such file") +
                                " (check the path)");
  }
  if (fs::is_directory(st))
    throw std::invalid_argument(name + ": is a folder, not a file: name a file in it");
  Fd in{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) throw std::invalid_argument(name + ": cannot open: " + errno_text(errno));
  return read_all(in.fd, name, what, max_bytes);
}

nlohmann::json parse_json_text(std::string_view text, const std::string& origin) {
  check_depth(text, origin);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::invalid_argument(origin + ": invalid JSON (line " + std::to_string(line_of(text, e.byte)) +
                                "): " + e.what());
  } catch (const nlohmann::json::exception& e) {
    // A number too large for a double (1e400) and the like: the document is JSON, its value is not.
    throw std::invalid_argument(origin + ": a value is out of range (" + e.what() +
                                "): numbers must fit in a 64-bit integer or a double");
  }
}

std::string dump_json(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_file_atomically(const std::string& path, std::string_view content) {
  std::error_code ec;
  fs::path target(path);
  // Through a symbolic link to the file it names, so the link stays a link.
  if (fs::is_symlink(fs::symlink_status(path, ec))) {
    target = fs::canonical(path, ec);
    if (ec) throw std::invalid_argument("cannot write " + path + ": it is a broken symbolic link");
  }
  if (fs::is_directory(target, ec)) throw std::invalid_argument("cannot write " + path + ": it is a folder");
  const std::string tmp = target.string() + ".fabtwin-tmp-" + std::to_string(::getpid());
  Fd out{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
  if (out.fd < 0) {
    throw std::invalid_argument("cannot write " + path + ": " + errno_text(errno) +
                                " (check that its folder exists and is writable)");
  }
  try {
    write_all(out.fd, content, path);
    if (::fsync(out.fd) != 0)
      throw std::invalid_argument("writing " + path + " failed: " + errno_text(errno));
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  close(out.fd);
  out.fd = -1;
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    throw std::invalid_argument("cannot replace " + path + ": " + errno_text(e));
  }
}

void append_line(const std::string& path, std::string_view line) {
  Fd out{::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)};
  if (out.fd < 0) {
    throw std::invalid_argument("cannot append to " + path + ": " + errno_text(errno) +
                                " (check that its folder exists and is writable)");
  }
  std::string record(line);
  record += '\n';
  // O_APPEND makes one write() land whole at the end; a short write (disk full) is undone so the file
  // never ends in half a record.
  const off_t before = ::lseek(out.fd, 0, SEEK_END);
  const ssize_t n = ::write(out.fd, record.data(), record.size());
  if (n != static_cast<ssize_t>(record.size())) {
    const int e = n < 0 ? errno : ENOSPC;
    if (before >= 0 && ::ftruncate(out.fd, before) != 0) {
      throw std::invalid_argument("appending to " + path + " failed (" + errno_text(e) +
                                  ") and its last line could not be removed: delete it by hand");
    }
    throw std::invalid_argument("appending to " + path + " failed: " + errno_text(e) + " (disk full?)");
  }
}

namespace {

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  const fs::path pa = fs::weakly_canonical(fs::absolute(a, ec), ec);
  const fs::path pb = fs::weakly_canonical(fs::absolute(b, ec), ec);
  return pa == pb;
}

bool names_a_file(const NamedPath& p) {
  return !p.path.empty() && p.path != "-";
}

}  // namespace

void refuse_overwriting_inputs(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs) {
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const NamedPath& out = outputs[i];
    if (!names_a_file(out)) continue;
    for (const NamedPath& in : inputs) {
      if (names_a_file(in) && same_file(in.path, out.path)) {
        throw std::invalid_argument(out.option + " " + out.path + " is the same file as the input " +
                                    in.option + " " + in.path +
                                    ": writing it would destroy the input; name another file");
      }
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (names_a_file(outputs[j]) && same_file(outputs[j].path, out.path)) {
        throw std::invalid_argument(out.option + " and " + outputs[j].option + " both name " + out.path +
                                    ": one would overwrite the other; name two files");
      }
    }
  }
}

}  // namespace fabtwin
