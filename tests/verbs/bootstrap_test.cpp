// The out-of-band exchange on loopback: ranks as threads, each with its own Bootstrap.
#include "fabtwin/verbs/bootstrap.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
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

LaunchInfo launch(std::int32_t rank, std::int32_t world, const std::string& root) {
  return {rank, world, root, "test"};
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

}  // namespace
}  // namespace fabtwin::verbs
