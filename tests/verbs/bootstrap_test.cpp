// The out-of-band exchange on loopback: ranks as threads, each with its own Bootstrap.
#include "fabtwin/verbs/bootstrap.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>

namespace fabtwin::verbs {
namespace {

// A port nobody listens on right now (the kernel's choice for an ephemeral bind).
std::string free_root() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

LaunchInfo launch(std::int32_t rank, std::int32_t world, const std::string& root,
                  const std::string& token = "") {
  LaunchInfo l{rank, world, root, "test", token, {}, rank, "test", "test"};
  return l;
}

// A raw TCP client that sends `bytes` to the root and keeps the connection open until destroyed.
struct Stranger {
  int fd = -1;
  Stranger(const std::string& root, const std::string& bytes) {
    const auto [host, port] = parse_host_port("root", root);
    for (int attempt = 0; attempt < 200 && fd < 0; ++attempt) {
      fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(fd);
        fd = -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    if (fd >= 0) {
      EXPECT_EQ(send(fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    }
  }
  ~Stranger() {
    if (fd >= 0) close(fd);
  }
};

// The 13-byte hello of a rank without a token: type 1, length 8, rank, world (big-endian).
std::string bare_hello(std::uint32_t rank, std::uint32_t world) {
  std::string h = {1, 0, 0, 0, 8};
  for (std::uint32_t v : {rank, world}) {
    for (int shift = 24; shift >= 0; shift -= 8) h += static_cast<char>((v >> shift) & 0xff);
  }
  return h;
}

TEST(Bootstrap, AllgatherGivesEveryRankEveryBlobInRankOrder) {
  const std::string root = free_root();
  const int world = 4;
  std::vector<std::future<std::vector<std::string>>> ranks;
  for (int r = 0; r < world; ++r) {
    ranks.push_back(std::async(std::launch::async, [=] {
      Bootstrap b(launch(r, world, root), Seconds(10));
      b.barrier("a test barrier");
      auto first = b.allgather("blob" + std::to_string(r), "a test exchange");
      // A second round must not mix with the first, even when a fast rank sends before a slow one reads.
      auto second = b.allgather(std::string(100000, static_cast<char>('a' + r)), "a large exchange");
      EXPECT_EQ(second[3], std::string(100000, 'd'));
      b.barrier("the last barrier");
      return first;
    }));
  }
  for (auto& f : ranks) {
    EXPECT_EQ(f.get(), (std::vector<std::string>{"blob0", "blob1", "blob2", "blob3"}));
  }
}

TEST(Bootstrap, ADeadRankStopsEveryOtherRankWithItsName) {
  const std::string root = free_root();
  auto survivor = [&](int r) {
    return std::async(std::launch::async, [=]() -> std::string {
      try {
        Bootstrap b(launch(r, 3, root), Seconds(10));
        b.barrier("the first barrier");
        b.barrier("a barrier rank 2 never reaches");
      } catch (const RunError& e) {
        return e.what();
      }
      return "no error";
    });
  };
  auto r0 = survivor(0);
  auto r1 = survivor(1);
  {
    Bootstrap b(launch(2, 3, root), Seconds(10));
    b.barrier("the first barrier");
  }  // closes its socket without a word, as a killed process does
  const auto t0 = std::chrono::steady_clock::now();
  const std::string m0 = r0.get();
  const std::string m1 = r1.get();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_NE(m0.find("rank 2 closed its connection"), std::string::npos) << m0;
  EXPECT_NE(m1.find("rank 2 closed its connection"), std::string::npos) << m1;
}

TEST(Bootstrap, AbortReachesEveryRank) {
  const std::string root = free_root();
  auto waiter = [&](int r) {
    return std::async(std::launch::async, [=]() -> std::string {
      try {
        Bootstrap b(launch(r, 3, root), Seconds(10));
        b.barrier("the first barrier");
        b.barrier("a barrier rank 1 never reaches");
      } catch (const RunError& e) {
        return e.what();
      }
      return "no error";
    });
  };
  auto r0 = waiter(0);
  auto r2 = waiter(2);
  Bootstrap b(launch(1, 3, root), Seconds(10));
  b.barrier("the first barrier");
  b.abort("rank 1: the device went away");
  EXPECT_NE(r0.get().find("rank 1: the device went away"), std::string::npos);
  EXPECT_NE(r2.get().find("rank 1: the device went away"), std::string::npos);
}

TEST(Bootstrap, TimeoutsNameWhatWasAwaited) {
  const std::string root = free_root();
  try {
    Bootstrap b(launch(0, 3, root), Seconds(0.3));
    FAIL() << "no rank connected, yet the root went on";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("waiting for rank(s) 1, 2 to connect"), std::string::npos)
        << e.what();
  }
  try {
    Bootstrap b(launch(1, 2, free_root()), Seconds(0.3));
    FAIL() << "connected to a root that does not exist";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("could not reach the root (rank 0)"), std::string::npos) << e.what();
  }
  // A root that accepts but never answers: the rank waits in its first exchange, then says so.
  const std::string silent = free_root();
  auto root_rank = std::async(std::launch::async, [=] {
    Bootstrap b(launch(0, 2, silent), Seconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  });
  try {
    Bootstrap b(launch(1, 2, silent), Seconds(0.5));
    b.barrier("the test barrier");
    FAIL() << "barrier passed without the root";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("in the test barrier waiting for rank 0 (the root) to answer"),
              std::string::npos)
        << e.what();
  }
  root_rank.get();
}

// A stranger (or a rank of another job) that reaches the port is refused and logged; the job's own
// ranks still join and the run goes on.
TEST(Bootstrap, StrangersAreRefusedAndLoggedNotFatal) {
  const std::string root = free_root();
  std::vector<std::string> log;
  std::mutex log_mutex;
  auto root_rank = std::async(std::launch::async, [&] {
    Bootstrap b(launch(0, 2, root, "job-a"), Seconds(10), [&](const std::string& line) {
      const std::lock_guard<std::mutex> lock(log_mutex);
      log.push_back(line);
    });
    return b.allgather("zero", "the exchange");
  });
  {
    Stranger bare(root, bare_hello(1, 2));                          // no token: another job's old build
    Stranger garbage(root, std::string("GET / HTTP/1.0\r\n\r\n"));  // not ours at all
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Bootstrap other(launch(1, 2, root, "job-b"), Seconds(10));  // another job's rank 1
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  Bootstrap mine(launch(1, 2, root, "job-a"), Seconds(10));
  EXPECT_EQ(mine.allgather("one", "the exchange"), (std::vector<std::string>{"zero", "one"}));
  EXPECT_EQ(root_rank.get(), (std::vector<std::string>{"zero", "one"}));
  const std::lock_guard<std::mutex> lock(log_mutex);
  ASSERT_EQ(log.size(), 3u);
  std::string all;
  for (const auto& l : log) all += l + "\n";
  EXPECT_NE(all.find("refused a connection to " + root + ": its job token differs"), std::string::npos)
      << all;
  EXPECT_NE(all.find("not a fabtwin hello"), std::string::npos) << all;
}

// Without a token, a hello claiming a rank the job does not have is a stranger's, not a reason to stop.
TEST(Bootstrap, WithoutATokenAWrongClaimIsRefusedNotFatal) {
  const std::string root = free_root();
  auto root_rank = std::async(std::launch::async, [&] {
    Bootstrap b(launch(0, 2, root), Seconds(10));
    return b.allgather("zero", "the exchange");
  });
  {
    Stranger liar(root, bare_hello(7, 9));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  Bootstrap mine(launch(1, 2, root), Seconds(10));
  EXPECT_EQ(mine.allgather("one", "the exchange").at(0), "zero");
  root_rank.get();
}

// --root 127.0.0.1:P must not listen on the host's other addresses.
TEST(Bootstrap, TheRootListensOnTheAddressItWasGiven) {
  std::string other;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* i = list; i != nullptr && other.empty(); i = i->ifa_next) {
      if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
      const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      if (ntohl(in->sin_addr.s_addr) >> 24 == 127) continue;
      char text[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
      other = text;
    }
    freeifaddrs(list);
  }
  const std::string root = free_root();
  auto root_rank = std::async(std::launch::async, [&] {
    try {
      Bootstrap b(launch(0, 2, root), Seconds(1));
    } catch (const RunError&) {
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  if (!other.empty()) {
    const auto [host, port] = parse_host_port("root", root);
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, other.c_str(), &a.sin_addr);
    EXPECT_NE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0)
        << "reached the root through " << other;
    close(fd);
  }
  root_rank.get();
  // An address of another host cannot be listened on, and the message says what to give instead.
  try {
    Bootstrap b(launch(0, 2, "192.0.2.1:" + root.substr(root.rfind(':') + 1)), Seconds(1));
    FAIL() << "listened on an address this host does not have";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("not an address of this host"), std::string::npos) << e.what();
  }
  if (other.empty()) GTEST_SKIP() << "no non-loopback IPv4 address to try the first half on";
}

}  // namespace
}  // namespace fabtwin::verbs
