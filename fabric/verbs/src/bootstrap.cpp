#include "fabtwin/verbs/bootstrap.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <thread>

#include "errors.hpp"
#include "hello.hpp"

namespace fabtwin::verbs {

namespace {

// Blobs are QP tables and result rows: anything near this is a corrupt or foreign stream.
constexpr std::uint32_t kMaxFrameBytes = 64u << 20;

using Clock = std::chrono::steady_clock;

Clock::time_point deadline_in(Seconds s) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s.count()));
}

int ms_until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

void set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL, 0);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  // Exchanges are small request/response messages: Nagle would only add latency to each barrier.
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

struct Bootstrap::Peer {
  int fd = -1;
  std::int32_t rank = -1;
  std::string inbuf;
  std::deque<std::string> data;
  bool closed = false;
};

Bootstrap::Bootstrap(const LaunchInfo& launch, Seconds timeout, Log log)
    : rank_(launch.rank),
      world_(launch.world),
      root_(launch.root),
      token_(launch.token),
      timeout_(timeout),
      log_(std::move(log)) {
  if (token_.size() > kMaxTokenBytes) {
    throw std::invalid_argument("--token: at most " + std::to_string(kMaxTokenBytes) + " bytes, got " +
                                std::to_string(token_.size()));
  }
  if (world_ == 1) return;
  if (rank_ == 0) {
    peers_.resize(world_);
    accept_all(timeout);
  } else {
    peers_.resize(1);
    connect_root(timeout);
  }
}

Bootstrap::~Bootstrap() {
  for (Peer& p : peers_) {
    if (p.fd >= 0) close(p.fd);
  }
  if (listen_fd_ >= 0) close(listen_fd_);
}

void Bootstrap::listen_on_root() {
  const auto [host, port] = parse_host_port("--root", root_);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  // The address given, not every interface: a root named 127.0.0.1 must not be reachable from the
  // network. 0.0.0.0 and [::] (or *) ask for every interface, for hosts behind NAT or in containers.
  const bool any = host == "*" || host.empty();
  const int gai = getaddrinfo(any ? nullptr : host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (gai != 0) {
    throw std::invalid_argument("--root " + root_ + ": cannot resolve \"" + host +
                                "\": " + gai_strerror(gai));
  }
  std::string last_error = "no address";
  for (addrinfo* a = res; a != nullptr && listen_fd_ < 0; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, world_) == 0) {
      listen_fd_ = fd;
    } else {
      last_error = errno == EADDRNOTAVAIL ? "it is not an address of this host (give this host's address, or "
                                            "0.0.0.0:PORT to listen on every interface)"
                                          : errno_text(errno) + "; pick a free port";
      close(fd);
    }
  }
  freeaddrinfo(res);
  if (listen_fd_ < 0) {
    throw RunError("rank 0: cannot listen on " + root_ + " (from --root): " + last_error);
  }
  set_nonblocking(listen_fd_);
}

void Bootstrap::refuse(Peer& p, const std::string& why) {
  const std::string line = "rank 0: refused a connection to " + root_ + ": " + why;
  refused_.push_back(why);
  if (log_) log_(line);
  close(p.fd);
  p.fd = -1;
}

bool Bootstrap::admit(Peer& p, bool gone) {
  const Hello hello = parse_hello(p.inbuf);
  if (hello.state == Hello::State::malformed) {
    refuse(p, "not a fabtwin hello (a port scanner, or another program on this port?)");
    return false;
  }
  if (hello.state == Hello::State::incomplete) {
    if (gone) refuse(p, "it closed before its hello was complete");
    return false;
  }
  const std::int32_t r = hello.rank;
  const std::int32_t w = hello.world;
  p.inbuf.erase(0, hello.consumed);
  if (hello.token != token_) {
    refuse(p, "its job token differs from this job's (a rank of another job, or a stale one?)");
    return false;
  }
  const bool fits = w == world_ && r > 0 && r < world_ && peers_[r].fd < 0;
  if (!fits && token_.empty()) {
    // Without a token nothing proves the peer is ours: a stranger must not stop the job.
    refuse(p, "it claimed rank " + std::to_string(r) + " of " + std::to_string(w) + " in a job of " +
                  std::to_string(world_) + " ranks");
    return false;
  }
  if (!fits) {
    const std::string why =
        "rank 0: a rank of this job joined as rank " + std::to_string(r) + " of " + std::to_string(w) +
        " but this job has " + std::to_string(world_) + " ranks" +
        (r > 0 && r < world_ && peers_[r].fd >= 0 ? " and rank " + std::to_string(r) + " already joined"
                                                  : "");
    send_frame(p, kAbort, why);
    close(p.fd);
    p.fd = -1;
    fail(why + ": check every rank's --rank/--world (or the launcher's variables)");
  }
  p.rank = r;
  peers_[r] = std::move(p);
  p.fd = -1;
  return true;
}

void Bootstrap::accept_all(Seconds wait) {
  listen_on_root();
  const auto deadline = deadline_in(wait);
  std::vector<Peer> pending;
  std::int32_t joined = 1;
  while (joined < world_) {
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
    for (const Peer& p : pending) fds.push_back({p.fd, POLLIN, 0});
    const int left = ms_until(deadline);
    if (left == 0) {
      std::string missing;
      for (std::int32_t r = 1; r < world_; ++r) {
        if (peers_[r].fd < 0) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
      }
      fail("rank 0: timed out after " + format_duration(wait) + " waiting for rank(s) " + missing +
           " to connect to " + root_ + " (are they running with --world " + std::to_string(world_) +
           " and this --root?)" +
           (refused_.empty() ? ""
                             : "; refused " + std::to_string(refused_.size()) +
                                   " connection(s), the last as " + refused_.back()));
    }
    if (poll(fds.data(), fds.size(), left) < 0 && errno != EINTR) {
      throw RunError("rank 0: poll on the bootstrap listener failed: " + errno_text(errno));
    }
    if (fds[0].revents & POLLIN) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        set_nonblocking(fd);
        Peer p;
        p.fd = fd;
        pending.push_back(std::move(p));
      }
    }
    for (Peer& p : pending) {
      char buf[512];
      const ssize_t got = recv(p.fd, buf, sizeof buf, 0);
      if (got > 0) p.inbuf.append(buf, static_cast<std::size_t>(got));
      const bool gone = got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
      if (admit(p, gone)) ++joined;
    }
    std::erase_if(pending, [](const Peer& p) { return p.fd < 0; });
  }
  for (Peer& p : pending) close(p.fd);
}

void Bootstrap::connect_root(Seconds wait) {
  const auto [host, port] = parse_host_port("--root", root_);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int gai = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (gai != 0) {
    throw std::invalid_argument("--root " + root_ + ": cannot resolve \"" + host +
                                "\": " + gai_strerror(gai));
  }
  const auto deadline = deadline_in(wait);
  std::string last_error = "no address";
  int fd = -1;
  while (fd < 0) {
    for (addrinfo* a = res; a != nullptr && fd < 0; a = a->ai_next) {
      const int s = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (s < 0) continue;
      if (connect(s, a->ai_addr, a->ai_addrlen) == 0) {
        fd = s;
      } else {
        last_error = errno_text(errno);
        close(s);
      }
    }
    if (fd >= 0) break;
    if (ms_until(deadline) == 0) {
      freeaddrinfo(res);
      throw RunError("rank " + std::to_string(rank_) + ": could not reach the root (rank 0) at " + root_ +
                     " within " + format_duration(wait) + ": " + last_error +
                     "; is rank 0 running with the same --root?");
    }
    // The root may simply not be up yet: launchers start ranks in any order.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  freeaddrinfo(res);
  set_nonblocking(fd);
  peers_[0].fd = fd;
  peers_[0].rank = 0;
  const std::string hello =
      hello_frame(static_cast<std::uint32_t>(rank_), static_cast<std::uint32_t>(world_), token_);
  send_frame(peers_[0], kHello, hello.substr(kHeaderBytes));
}

void Bootstrap::send_frame(Peer& p, std::uint8_t type, const std::string& payload) {
  std::string frame(1, static_cast<char>(type));
  frame += u32_bytes(static_cast<std::uint32_t>(payload.size()));
  frame += payload;
  std::size_t sent = 0;
  const auto deadline = deadline_in(timeout_);
  while (sent < frame.size()) {
    const ssize_t n = ::send(p.fd, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      pollfd f{p.fd, POLLOUT, 0};
      if (ms_until(deadline) == 0) {
        throw RunError("rank " + std::to_string(rank_) + ": timed out sending to rank " +
                       std::to_string(p.rank) + " over the bootstrap connection");
      }
      poll(&f, 1, std::min(ms_until(deadline), 100));
      continue;
    }
    p.closed = true;
    throw RunError("rank " + std::to_string(rank_) + ": lost the bootstrap connection to rank " +
                   std::to_string(p.rank) + " (" + errno_text(errno) + "): it exited or its host failed");
  }
}

void Bootstrap::fail(const std::string& message) {
  abort(message);
  throw RunError(message);
}

void Bootstrap::abort(const std::string& message) noexcept {
  for (Peer& p : peers_) {
    if (p.fd < 0 || p.closed) continue;
    try {
      send_frame(p, kAbort, message);
    } catch (...) {
      // Best effort: the peer may be the one that is gone.
    }
  }
}

std::vector<int> Bootstrap::watch_fds() const {
  std::vector<int> fds;
  for (const Peer& p : peers_) {
    if (p.fd >= 0 && !p.closed) fds.push_back(p.fd);
  }
  return fds;
}

void Bootstrap::check() {
  pump(0);
}

void Bootstrap::pump(int wait_ms) {
  std::vector<pollfd> fds;
  std::vector<Peer*> who;
  for (Peer& p : peers_) {
    if (p.fd < 0 || p.closed) continue;
    fds.push_back({p.fd, POLLIN, 0});
    who.push_back(&p);
  }
  if (!fds.empty() && poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR) {
    throw RunError("rank " + std::to_string(rank_) +
                   ": poll on bootstrap sockets failed: " + errno_text(errno));
  }
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].revents == 0) continue;
    Peer& p = *who[i];
    char buf[65536];
    while (true) {
      const ssize_t got = recv(p.fd, buf, sizeof buf, 0);
      if (got > 0) {
        p.inbuf.append(buf, static_cast<std::size_t>(got));
        continue;
      }
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (got < 0 && errno == EINTR) continue;
      // The peer is gone, but what it sent before leaving (a last reply) still counts.
      p.closed = true;
      break;
    }
  }
  // Frames may also sit in a buffer from an earlier read (the hello's read can take more): parse all.
  for (Peer& p : peers_) {
    while (p.inbuf.size() >= kHeaderBytes) {
      const auto type = static_cast<std::uint8_t>(p.inbuf[0]);
      const std::uint32_t len = read_u32(p.inbuf, 1);
      if (len > kMaxFrameBytes) {
        fail("rank " + std::to_string(rank_) + ": corrupt bootstrap frame from rank " +
             std::to_string(p.rank));
      }
      if (p.inbuf.size() < kHeaderBytes + len) break;
      std::string payload = p.inbuf.substr(kHeaderBytes, len);
      p.inbuf.erase(0, kHeaderBytes + len);
      if (type == kAbort) {
        p.closed = true;
        // The root forwards one rank's failure to every other rank, so all of them stop.
        if (rank_ == 0) {
          for (Peer& other : peers_) {
            if (&other != &p && other.fd >= 0 && !other.closed) {
              try {
                send_frame(other, kAbort, payload);
              } catch (...) {
              }
            }
          }
        }
        throw RunError("rank " + std::to_string(rank_) +
                       ": stopping because another rank failed: " + payload);
      }
      if (type != kData) {
        fail("rank " + std::to_string(rank_) + ": unexpected bootstrap frame type " + std::to_string(type) +
             " from rank " + std::to_string(p.rank));
      }
      p.data.push_back(std::move(payload));
    }
    if (p.closed && p.data.empty() && p.fd >= 0) fail_closed(p);
  }
}

void Bootstrap::fail_closed(const Peer& p) {
  const std::string who = p.rank == 0 ? "rank 0 (the root)" : "rank " + std::to_string(p.rank);
  fail("rank " + std::to_string(rank_) + ": " + who +
       " closed its connection before the run ended: it exited, crashed or was killed");
}

std::vector<std::string> Bootstrap::allgather(const std::string& mine, const std::string& what) {
  if (world_ == 1) return {mine};
  const auto deadline = deadline_in(timeout_);
  const auto timed_out = [&](const std::string& waiting_for) {
    fail("rank " + std::to_string(rank_) + ": timed out after " + format_duration(timeout_) + " in " + what +
         " waiting for " + waiting_for);
  };
  if (rank_ == 0) {
    while (true) {
      std::string missing;
      for (std::int32_t r = 1; r < world_; ++r) {
        if (!peers_[r].data.empty()) continue;
        if (peers_[r].closed) fail_closed(peers_[r]);
        missing += (missing.empty() ? "rank " : ", rank ") + std::to_string(r);
      }
      if (missing.empty()) break;
      if (ms_until(deadline) == 0) timed_out(missing);
      pump(std::min(ms_until(deadline), 100));
    }
    std::vector<std::string> all(world_);
    all[0] = mine;
    std::string packed = u32_bytes(static_cast<std::uint32_t>(mine.size())) + mine;
    for (std::int32_t r = 1; r < world_; ++r) {
      all[r] = std::move(peers_[r].data.front());
      peers_[r].data.pop_front();
      packed += u32_bytes(static_cast<std::uint32_t>(all[r].size())) + all[r];
    }
    for (std::int32_t r = 1; r < world_; ++r) send_frame(peers_[r], kData, packed);
    return all;
  }
  send_frame(peers_[0], kData, mine);
  while (peers_[0].data.empty()) {
    if (peers_[0].closed) fail_closed(peers_[0]);
    if (ms_until(deadline) == 0) timed_out("rank 0 (the root) to answer");
    pump(std::min(ms_until(deadline), 100));
  }
  const std::string packed = std::move(peers_[0].data.front());
  peers_[0].data.pop_front();
  std::vector<std::string> all;
  std::size_t at = 0;
  while (at + 4 <= packed.size()) {
    const std::uint32_t len = read_u32(packed, at);
    all.push_back(packed.substr(at + 4, len));
    at += 4 + len;
  }
  if (static_cast<std::int32_t>(all.size()) != world_) {
    fail("rank " + std::to_string(rank_) + ": malformed " + what + " reply from the root");
  }
  return all;
}

}  // namespace fabtwin::verbs
