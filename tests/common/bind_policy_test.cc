#include "common/bind_policy.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"

namespace agora {
namespace {

TEST(BindPolicyTest, LoopbackIsWhatOnlyThisMachineReaches) {
  for (const char* local : {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "lo", "tcp://127.0.0.1:5050",
                            "tcp://[::1]:5050", "tcp://localhost:5050", "ipc:///run/agora.sock", "inproc://x"}) {
    EXPECT_TRUE(IsLoopback(local)) << local;
  }
  for (const char* wide : {"0.0.0.0", "::", "*", "tcp://*:5050", "tcp://0.0.0.0:5050", "tcp://10.1.2.3:5050",
                           "192.168.1.1", "tcp://eth0:5050", "", "tcp://127.0.0.1", "no-such-host.invalid"}) {
    EXPECT_FALSE(IsLoopback(wide)) << wide;
  }
}

TEST(BindPolicyTest, AnOpenDaemonBindsBeyondLoopbackOnlyWhenToldInsecure) {
  EXPECT_TRUE(CheckOpenBind("--listen", "tcp://127.0.0.1:5050", false, false).ok());
  EXPECT_TRUE(CheckOpenBind("--listen", "tcp://0.0.0.0:5050", /*secured=*/true, false).ok());
  EXPECT_TRUE(CheckOpenBind("--listen", "tcp://0.0.0.0:5050", false, /*insecure=*/true).ok());
  absl::Status refused = CheckOpenBind("--listen", "tcp://0.0.0.0:5050", false, false);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused));
  EXPECT_TRUE(absl::StartsWith(refused.message(), "--listen tcp://0.0.0.0:5050 reaches beyond this machine"))
      << refused.message();
}

}  // namespace
}  // namespace agora
