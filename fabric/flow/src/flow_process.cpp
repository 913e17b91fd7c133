// SimGrid allows one engine per process and keeps its state after a run, so each simulation runs in a
// child process: the parent stays free to run the next size, and every run starts from a clean engine
// (a run's figures do not depend on what ran before it in the process).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "flow_model.hpp"

namespace fabtwin::flow {

namespace {

static_assert(std::is_trivially_copyable_v<coll::TraceRecord> && std::is_trivially_copyable_v<LinkUse>);

enum class Status : std::uint8_t { ok, invalid, failed, error };

void put(std::string& out, const void* data, std::size_t n) {
  if (n > 0) out.append(static_cast<const char*>(data), n);
}
template <class T>
void put(std::string& out, const T& v) {
  put(out, &v, sizeof v);
}
template <class T>
void put_all(std::string& out, const std::vector<T>& v) {
  put(out, static_cast<std::uint64_t>(v.size()));
  put(out, v.data(), v.size() * sizeof(T));
}

std::string encode(const FlowResult& r) {
  std::string out;
  put(out, Status::ok);
  put(out, r.time);
  put_all(out, r.run.trace);
  put(out, r.run.makespan);
  put_all(out, r.fabric.busiest);
  put(out, r.fabric.flows);
  put(out, r.fabric.rerouted);
  put(out, r.fabric.simulated);
  return out;
}

std::string encode_error(Status status, const char* what) {
  std::string out;
  put(out, status);
  put(out, std::string_view(what).size());
  out += what;
  return out;
}

class Reader {
 public:
  explicit Reader(const std::string& in) : in_(in) {}
  template <class T>
  T get() {
    T v;
    take(&v, sizeof v);
    return v;
  }
  template <class T>
  std::vector<T> get_all() {
    std::vector<T> v(get<std::uint64_t>());
    take(v.data(), v.size() * sizeof(T));
    return v;
  }
  std::string rest() const { return in_.substr(at_); }

 private:
  void take(void* to, std::size_t n) {
    if (in_.size() - at_ < n) throw std::runtime_error("the flow model's process sent a truncated result");
    if (n > 0) std::memcpy(to, in_.data() + at_, n);
    at_ += n;
  }
  const std::string& in_;
  std::size_t at_ = 0;
};

void write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

[[noreturn]] void run_child(int fd, const coll::Plan& plan, const topo::Topology& topology,
                            const FlowConfig& config) {
  std::string message;
  try {
    message = encode(run_in_this_process(plan, topology, config));
  } catch (const std::invalid_argument& e) {
    message = encode_error(Status::invalid, e.what());
  } catch (const backend::SimulationFailed& e) {
    message = encode_error(Status::failed, e.what());
  } catch (const std::exception& e) {
    message = encode_error(Status::error, e.what());
  }
  write_all(fd, message);
  ::close(fd);
  // No exit handlers: they belong to the parent, and SimGrid's teardown is not needed.
  ::_exit(0);
}

std::string read_all(int fd) {
  std::string in;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw std::runtime_error(std::string("reading the flow model's result: ") + std::strerror(errno));
    if (n == 0) return in;
    in.append(buffer, static_cast<std::size_t>(n));
  }
}

FlowResult decode(const std::string& in) {
  Reader r(in);
  const auto status = r.get<Status>();
  if (status != Status::ok) {
    const auto size = r.get<std::size_t>();
    const std::string what = r.rest().substr(0, size);
    if (status == Status::invalid) throw std::invalid_argument(what);
    if (status == Status::failed) throw backend::SimulationFailed(what);
    throw std::runtime_error("the flow model: " + what);
  }
  FlowResult out;
  out.time = r.get<Seconds>();
  out.run.trace = r.get_all<coll::TraceRecord>();
  out.run.makespan = r.get<Seconds>();
  out.fabric.busiest = r.get_all<LinkUse>();
  out.fabric.flows = r.get<std::uint64_t>();
  out.fabric.rerouted = r.get<std::uint64_t>();
  out.fabric.simulated = r.get<Seconds>();
  return out;
}

}  // namespace

FlowResult simulate(const coll::Plan& plan, const topo::Topology& topology, const FlowConfig& config) {
  const auto begin = std::chrono::steady_clock::now();
  // The child would otherwise write again what the parent has buffered but not yet written.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  int fds[2];
  if (::pipe(fds) != 0)
    throw std::runtime_error(std::string("pipe for the flow model: ") + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(std::string("fork for the flow model: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::close(fds[0]);
    run_child(fds[1], plan, topology, config);
  }
  ::close(fds[1]);
  std::string in;
  try {
    in = read_all(fds[0]);
  } catch (...) {
    ::close(fds[0]);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    throw;
  }
  ::close(fds[0]);
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  if (in.empty()) {
    const std::string how = WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                                : "exit code " + std::to_string(WEXITSTATUS(status));
    throw std::runtime_error("the flow model's process ended with " + how +
                             " before it gave a result (SimGrid's message, if any, is above)");
  }
  FlowResult out = decode(in);
  out.fabric.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  out.fabric.peak_memory_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
  return out;
}

}  // namespace fabtwin::flow
