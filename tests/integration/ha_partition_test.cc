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

// When the log line holding `what` was written ("I 2026-12-07T06:41:38.482Z
// master: ..."), or InfinitePast when there is none.
absl::Time LoggedAt(const std::string& log, const std::string& what) {
  const size_t at = log.find(what);
  if (at == std::string::npos) return absl::InfinitePast();
  const size_t line = log.rfind('\n', at) == std::string::npos ? 0 : log.rfind('\n', at) + 1;
  const size_t begin = log.find(' ', line) + 1, end = log.find(' ', begin);
  absl::Time t;
  std::string error;
  if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E*SZ", log.substr(begin, end - begin), &t, &error)) {
    return absl::InfinitePast();
  }
  return t;
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
                                    "--zk_session_timeout", "2s", "--insecure"};
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
  // A leader at work: it has read the registry back (cut off during that,
  // it would exit before ever acting).
  ASSERT_TRUE(WaitFor([&] { return FileText(dir + "/island.log").find("from the registry") != std::string::npos; },
                      absl::Seconds(30)))
      << FileText(dir + "/island.log");

  island.Cut();
  ASSERT_TRUE(WaitFor([&] {
    auto leader = FindLeader(url, absl::Seconds(2));
    return leader.ok() && leader->endpoint == here_endpoint;
  }, absl::Seconds(30))) << FileText(dir + "/here.log");
  int status = 0;
  EXPECT_TRUE(on_island.Wait(absl::Seconds(10), &status)) << FileText(dir + "/island.log");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << status;

  const std::string island_log = FileText(dir + "/island.log");
  // Paused on losing its connection, or when ZooKeeper's leader stopped
  // confirming its session, whichever came first: before the other was elected.
  const absl::Time paused = LoggedAt(island_log, "pausing until it is back");
  WaitFor([&] { return FileText(dir + "/here.log").find("elected leader") != std::string::npos; },
          absl::Seconds(10));
  const absl::Time elected = LoggedAt(FileText(dir + "/here.log"), "elected leader");
  ASSERT_NE(paused, absl::InfinitePast()) << island_log;
  ASSERT_NE(LoggedAt(island_log, "no longer leading"), absl::InfinitePast()) << island_log;
  ASSERT_NE(elected, absl::InfinitePast());
  EXPECT_LT(paused, elected) << "the cut-off leader acted while another was elected";
  island.Heal();
  std::error_code ec;
  if (::getenv("AGORA_KEEP_TEST_DIRS") == nullptr) std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace agora::testing
