// The leading master cut off from ZooKeeper (its network namespace's link
// down, as when a cable is pulled): it pauses before the ensemble can end its
// session, so before the other master is elected, and then exits. Never two
// masters acting as leader at once: shown by the masters' own logs (one
// clock, one machine).
#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/leader_detector.h"
#include "tests/integration/cluster.h"
#include "tests/integration/netns.h"
#include "tests/integration/zk_ensemble.h"

namespace agora::testing {
namespace {

// Milliseconds since midnight of the log line holding `what` ("I
// 2026-12-07T06:41:38.482 master: ..."), -1 when there is none.
int64_t LoggedAt(const std::string& log, const std::string& what) {
  const size_t at = log.find(what);
  if (at == std::string::npos) return -1;
  const size_t line = log.rfind('\n', at) == std::string::npos ? 0 : log.rfind('\n', at) + 1;
  const size_t t = log.find('T', line);
  int h = 0, m = 0;
  double s = 0;
  if (t == std::string::npos || !absl::SimpleAtoi(log.substr(t + 1, 2), &h) ||
      !absl::SimpleAtoi(log.substr(t + 4, 2), &m) || !absl::SimpleAtod(log.substr(t + 7, 6), &s)) {
    return -1;
  }
  return (h * 3600 + m * 60) * 1000 + static_cast<int64_t>(s * 1000);
}

TEST(HaPartitionTest, ALeaderCutOffFromZooKeeperPausesBeforeAnotherIsElectedThenExits) {
  if (!NetnsHost::Available()) GTEST_SKIP() << "network namespaces need root and iproute2";
  NetnsHost island;
  ASSERT_TRUE(island.ok());
  ZkEnsemble zk(3, island.host_ip());
  ASSERT_TRUE(zk.WaitServing());
  const std::string url = zk.url("/partition");
  const std::string dir = ::testing::TempDir() + absl::StrCat("agora-ha-partition-", ::getpid());
  std::filesystem::create_directories(dir);
  auto master = [&](const std::string& name, const std::string& listen) {
    return std::vector<std::string>{BinPath("agora-master"), "--listen", listen, "--work_dir",
                                    dir + "/" + name, "--http_port", "0", "--zk", url,
                                    "--zk_session_timeout", "2s"};
  };
  const std::string island_endpoint = absl::StrCat("tcp://", island.ip(), ":", FreePort());
  Process on_island(island.Command(master("island", island_endpoint)), dir + "/island.log");
  ASSERT_TRUE(WaitFor([&] {
    auto leader = FindLeader(url, absl::Seconds(2));
    return leader.ok() && leader->endpoint == island_endpoint;
  }, absl::Seconds(30))) << FileText(dir + "/island.log");
  const std::string here_endpoint = absl::StrCat("tcp://127.0.0.1:", FreePort());
  Process here(master("here", here_endpoint), dir + "/here.log");
  ASSERT_TRUE(WaitFor([&] { return FileText(dir + "/here.log").find("contending") != std::string::npos; },
                      absl::Seconds(20)));

  island.Cut();
  ASSERT_TRUE(WaitFor([&] {
    auto leader = FindLeader(url, absl::Seconds(2));
    return leader.ok() && leader->endpoint == here_endpoint;
  }, absl::Seconds(30))) << FileText(dir + "/here.log");
  int status = 0;
  EXPECT_TRUE(on_island.Wait(absl::Seconds(10), &status)) << FileText(dir + "/island.log");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << status;

  const std::string island_log = FileText(dir + "/island.log");
  const int64_t paused = LoggedAt(island_log, "lost ZooKeeper: pausing");
  const int64_t exited = LoggedAt(island_log, "no longer leading");
  const int64_t elected = LoggedAt(FileText(dir + "/here.log"), "elected leader");
  ASSERT_GE(paused, 0) << island_log;
  ASSERT_GE(exited, 0) << island_log;
  ASSERT_GE(elected, 0);
  EXPECT_LT(paused, elected) << "the cut-off leader acted while another was elected";
  EXPECT_LE(exited, elected + 100) << "exited " << exited - elected << " ms after the election";
  island.Heal();
  std::error_code ec;
  if (::getenv("AGORA_KEEP_TEST_DIRS") == nullptr) std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace agora::testing
