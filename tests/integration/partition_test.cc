// Partitions on real processes: an agent in a network namespace of the test's
// own, cut off from the master by taking its link down. It becomes
// unreachable after the heartbeat timeout and its tasks TASK_UNREACHABLE; when
// the link comes back it re-registers and its tasks, still running all along,
// are reported running again: a framework that kept them keeps them, one that
// replaced them kills the extra.
#include <signal.h>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/integration/cluster.h"
#include "tests/integration/netns.h"
#include "tests/integration/test_framework.h"

namespace agora::testing {
namespace {

bool ProcessAlive(pid_t pid) { return ::kill(pid, 0) == 0; }

pid_t PidFromMessage(const std::string& message) {  // "started as pid N"
  return static_cast<pid_t>(std::atoi(message.substr(message.rfind(' ') + 1).c_str()));
}

// Whether `task` was reported running again after it was reported unreachable.
bool RunningAgainAfterUnreachable(TestFramework& fw, const std::string& task) {
  bool unreachable = false;
  for (const TaskStatus& s : fw.Updates(task)) {
    if (s.state == TaskState::kUnreachable) unreachable = true;
    if (unreachable && s.state == TaskState::kRunning) return s.reason == "agent_reregistered";
  }
  return false;
}

class PartitionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!NetnsHost::Available()) GTEST_SKIP() << "network namespaces need root and iproute2";
    island_ = std::make_unique<NetnsHost>();
    ASSERT_TRUE(island_->ok()) << "could not create the test's network namespace";
    ClusterOptions o;
    o.agents = 1;  // on this side: where replacements go
    o.master_host = island_->host_ip();
    cluster_ = std::make_unique<LocalCluster>(o);
    agent_ = std::make_unique<Process>(
        island_->Command({BinPath("agora-agent"), "--master", cluster_->master(), "--work_dir",
                          cluster_->dir() + "/island", "--hostname", "island", "--resources",
                          "cpus:2;mem:1024;disk:100", "--kill_tasks_on_exit", "--http_port", "0",
                          "--recovery_timeout", "60s"}),
        cluster_->dir() + "/island.log");
    ASSERT_TRUE(cluster_->WaitForAgents(2, absl::Seconds(20)));
  }
  void TearDown() override {
    agent_.reset();  // first: it kills its tasks
    cluster_.reset();
    island_.reset();
  }
  std::string IslandState() {
    for (const auto& a : cluster_->Query("agents")) {
      if (a["hostname"] == "island") return a["state"];
    }
    return "";
  }

  // Runs `name` on the island, cuts the island off and waits until the task
  // is unreachable; returns the task's pid (0 after a failed assertion).
  pid_t LaunchOnTheIslandAndCut(TestFramework& fw, const std::string& name) {
    fw.Launch(Command(name, "sleep 300"), "island");
    auto running = fw.WaitForState(name, TaskState::kRunning, absl::Seconds(15));
    EXPECT_TRUE(running);
    if (!running) return 0;
    const pid_t pid = PidFromMessage(running->message);
    island_->Cut();
    EXPECT_TRUE(fw.WaitForState(name, TaskState::kUnreachable, absl::Seconds(15)));
    return pid;
  }

  std::unique_ptr<NetnsHost> island_;
  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<Process> agent_;
};

TEST_F(PartitionTest, ACutAgentIsUnreachableAndItsTasksComeBackWhenTheLinkDoes) {
  TestFramework fw(cluster_->master());
  const pid_t pid = LaunchOnTheIslandAndCut(fw, "stays");
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(IslandState(), "unreachable");
  EXPECT_TRUE(ProcessAlive(pid));  // the agent and its task go on, unaware

  island_->Heal();
  ASSERT_TRUE(WaitFor([&] { return RunningAgainAfterUnreachable(fw, "stays"); }, absl::Seconds(20)));
  EXPECT_EQ(IslandState(), "active");
  EXPECT_TRUE(ProcessAlive(pid));  // the same process: nothing was restarted
  for (const TaskStatus& s : fw.Updates("stays")) EXPECT_FALSE(IsTerminal(s.state));
}

TEST_F(PartitionTest, AFrameworkThatReplacedTheTasksKillsTheExtrasWhenTheAgentReturns) {
  TestFramework fw(cluster_->master());
  const pid_t pid = LaunchOnTheIslandAndCut(fw, "original");
  ASSERT_FALSE(HasFailure());
  // As a service framework does: run a replacement on a reachable agent.
  fw.Launch(Command("replacement", "sleep 300"), cluster_->agent_hostname(0));
  ASSERT_TRUE(fw.WaitForState("replacement", TaskState::kRunning, absl::Seconds(15)));

  island_->Heal();
  ASSERT_TRUE(WaitFor([&] { return RunningAgainAfterUnreachable(fw, "original"); }, absl::Seconds(20)));
  fw.Kill("original");  // one copy is enough: the extra goes
  ASSERT_TRUE(fw.WaitForState("original", TaskState::kKilled, absl::Seconds(15)));
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pid); }, absl::Seconds(10)));
  for (const TaskStatus& s : fw.Updates("replacement")) EXPECT_FALSE(IsTerminal(s.state));
}

}  // namespace
}  // namespace agora::testing
