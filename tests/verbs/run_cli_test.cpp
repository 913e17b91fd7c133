// `fabtwin run` as a user meets it on a machine without RDMA: clear errors, right exit codes.
#include <gtest/gtest.h>
#include <infiniband/verbs.h>

#include <sstream>

#include "cli_harness.hpp"
#include "fabtwin/verbs/device.hpp"

namespace fabtwin::cli {
namespace {

bool has_rdma_device() {
  int n = 0;
  ibv_device** list = ibv_get_device_list(&n);
  if (list != nullptr) ibv_free_device_list(list);
  return n > 0;
}

TEST(RunCli, OptionErrorsAreUnusableInputNamingTheOption) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"run", "--rank", "1"}, "--rank and --world go together"},
      {{"run", "--rank", "0", "--world", "2"}, "--root HOST:PORT"},
      {{"run", "--timeout", "soon"}, "--timeout"},
      {{"run", "--timeout", "0s"}, "--timeout must be positive"},
      {{"run", "-b", "1MiB", "-e", "1KiB"}, "-e/--maxbytes"},
      {{"run", "--dtype", "complex"}, "--dtype: unknown type"},
      {{"run", "--p2p", "--inplace"}, "--inplace/--outplace apply to collectives"},
      {{"run", "--collective", "all_to_all", "--inplace"}, "all_to_all cannot run in place"},
      {{"run", "--rank", "0", "--world", "2", "--root", "localhost"}, "--root: expected HOST:PORT"},
  };
  for (const auto& [args, fragment] : cases) {
    const auto r = fabtwin(args);
    EXPECT_EQ(r.code, 2) << args.back() << ": " << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
  }
}

TEST(RunCli, WithoutADeviceSaysHowToGetSoftRoce) {
  if (has_rdma_device()) GTEST_SKIP() << "this machine has an RDMA device";
  const auto r = fabtwin({"run", "-b", "8", "-e", "8"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("no RDMA device found"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("rdma link add rxe0 type rxe netdev"), std::string::npos) << r.err;
  const auto p2p = fabtwin({"run", "--p2p"});
  EXPECT_EQ(p2p.code, 2) << p2p.err;
  EXPECT_NE(p2p.err.find("--world 2"), std::string::npos) << p2p.err;
}

TEST(RunCli, NoDeviceIsADeviceErrorNotACrash) {
  if (has_rdma_device()) GTEST_SKIP() << "this machine has an RDMA device";
  EXPECT_THROW(verbs::open_device(""), verbs::DeviceError);
  EXPECT_THROW(verbs::open_device("mlx5_0"), verbs::DeviceError);
}

TEST(RunCli, ARootThatNeverAppearsIsARunFailureWithExitCode4) {
  const auto r =
      fabtwin({"run", "--rank", "1", "--world", "2", "--root", "127.0.0.1:1", "--timeout", "300ms"});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_NE(r.err.find("could not reach the root (rank 0) at 127.0.0.1:1"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace fabtwin::cli
