// Orphans are impossible: a task whose executor, agent and framework lost
// track of it is found and killed. Each test breaks something for real
// (SIGKILL of an executor, of an agent with its executor, a framework torn
// down while its agent is away) and checks that no task process survives.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/integration/cluster.h"
#include "tests/integration/test_framework.h"
#include "common/proc_file.h"

namespace agora::testing {
namespace {

// Pids whose command line contains every one of `parts` (NUL-separated argv,
// read with spaces), and starts with `program` when given.
std::vector<pid_t> FindProcesses(const std::vector<std::string>& parts,
                                 const std::string& program = "") {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::string cmdline = ReadProcFile((entry.path() / "cmdline").string());
    for (char& c : cmdline) c = c == '\0' ? ' ' : c;
    bool all = true;
    for (const std::string& p : parts) all = all && cmdline.find(p) != std::string::npos;
    all = all && cmdline.compare(0, program.size(), program) == 0;
    if (all) found.push_back(std::stoi(name));
  }
  return found;
}

// A task of two processes that would run for an hour: `sleep N` in the
// background and the task's own `sleep N+1`. N is random, so that tests
// running side by side never see each other's processes.
struct TwoSleeps {
  int n = 3600 + static_cast<int>(std::random_device{}() % 100000) * 2;
  std::string command() const { return absl::StrCat("sleep ", n, " & exec sleep ", n + 1); }
  // The sleeps themselves (an isolated task's init names them in its argv).
  size_t alive() const {
    return FindProcesses({absl::StrCat("sleep ", n, " ")}, "sleep").size() +
           FindProcesses({absl::StrCat("sleep ", n + 1, " ")}, "sleep").size();
  }
};

// The executor's pid; a task it just forked shows its command line too until
// it execs, so wait until there is one.
pid_t ExecutorOf(const std::string& framework_id) {
  std::vector<pid_t> pids;
  WaitFor(
      [&] {
        pids = FindProcesses({"agora-executor", absl::StrCat("--framework_id ", framework_id)});
        return pids.size() == 1;
      },
      absl::Seconds(5));
  if (pids.size() != 1) ADD_FAILURE() << pids.size() << " executors of " << framework_id;
  return pids.size() == 1 ? pids[0] : -1;
}

// The --executor_id an executor was started with.
std::string ExecutorIdOf(pid_t executor) {
  std::ifstream in(absl::StrCat("/proc/", executor, "/cmdline"));
  std::string arg;
  bool next = false;
  while (std::getline(in, arg, '\0')) {
    if (next) return arg;
    next = arg == "--executor_id";
  }
  return "";
}

TEST(OrphanTest, AKilledExecutorsTasksAreKilledAndReportedFailed) {
  LocalCluster cluster({.agents = 1});
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  TwoSleeps sleeps;
  fw.Launch(Command("orphan", sleeps.command()));
  ASSERT_TRUE(fw.WaitForState("orphan", TaskState::kRunning, absl::Seconds(15)));
  ASSERT_TRUE(WaitFor([&] { return sleeps.alive() == 2; }, absl::Seconds(5)));
  const pid_t executor = ExecutorOf(fw.framework_id());
  ASSERT_GT(executor, 0);

  const std::string executor_id = ExecutorIdOf(executor);
  ASSERT_FALSE(executor_id.empty());
  const std::string cgroups = absl::StrCat("/sys/fs/cgroup/memory/agora/", executor_id);
  const bool had_cgroups = std::filesystem::exists(cgroups);

  ::kill(executor, SIGKILL);
  auto failed = fw.WaitForState("orphan", TaskState::kFailed, absl::Seconds(15));
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->reason, "executor_terminated");
  EXPECT_NE(failed->message.find("processes were killed"), std::string::npos) << failed->message;
  EXPECT_TRUE(WaitFor([&] { return sleeps.alive() == 0; }, absl::Seconds(5)));
  // The dead executor's cgroups (v1) go too.
  if (had_cgroups) {
    EXPECT_TRUE(WaitFor([&] { return !std::filesystem::exists(cgroups); }, absl::Seconds(5))) << cgroups;
  }
}

TEST(OrphanTest, TasksOfAnAgentAndExecutorKilledTogetherAreKilledWhenTheAgentReturns) {
  LocalCluster cluster({.agents = 1});
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  TwoSleeps sleeps;
  fw.Launch(Command("orphan", sleeps.command()));
  ASSERT_TRUE(fw.WaitForState("orphan", TaskState::kRunning, absl::Seconds(15)));
  ASSERT_TRUE(WaitFor([&] { return sleeps.alive() == 2; }, absl::Seconds(5)));
  const pid_t executor = ExecutorOf(fw.framework_id());
  ASSERT_GT(executor, 0);

  // The whole agent side dies at once: only the task's processes are left.
  cluster.agent_process(0).Signal(SIGKILL);
  cluster.agent_process(0).Wait(absl::Seconds(5));
  ::kill(executor, SIGKILL);
  ASSERT_EQ(sleeps.alive(), 2u);
  cluster.StartAgent(0);  // same work dir: it finds the dead executor's tasks

  auto failed = fw.WaitForState("orphan", TaskState::kFailed, absl::Seconds(20));
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->reason, "executor_terminated");
  EXPECT_TRUE(WaitFor([&] { return sleeps.alive() == 0; }, absl::Seconds(5)));
}

TEST(OrphanTest, TasksOfAFrameworkRemovedWhileTheirAgentWasAwayAreKilledOnItsReturn) {
  LocalCluster cluster({.agents = 1});
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TwoSleeps sleeps;
  {
    TestFramework fw(cluster.master());
    fw.Launch(Command("orphan", sleeps.command()));
    ASSERT_TRUE(fw.WaitForState("orphan", TaskState::kRunning, absl::Seconds(15)));
    // The agent goes away (its tasks and executor live on) ...
    cluster.agent_process(0).Signal(SIGSTOP);
    ASSERT_TRUE(WaitFor([&] { return cluster.Query("agents")[0]["state"] == "unreachable"; },
                        absl::Seconds(10)));
  }  // ... and the framework is torn down meanwhile: nobody can kill the task.
  ASSERT_EQ(sleeps.alive(), 2u);
  cluster.agent_process(0).Signal(SIGCONT);
  // Back, it re-registers with the task; the master finds it orphaned.
  EXPECT_TRUE(WaitFor([&] { return sleeps.alive() == 0; }, absl::Seconds(20)));
  EXPECT_TRUE(WaitFor(
      [&] {
        auto tasks = cluster.Query("tasks");
        return tasks.size() == 1 && tasks[0]["state"] == "killed";
      },
      absl::Seconds(10)));
}

}  // namespace
}  // namespace agora::testing
