// agora-loadgen against a real master, small and short, so that the load
// generator of bench/ cannot rot: its counts must add up, silent agents must
// be detected, and a master SIGKILLed mid-run must get every agent and
// framework back with no update lost. Timed figures live in docs/benchmarks.md.
#include <signal.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "tests/integration/cluster.h"

namespace agora::testing {
namespace {

constexpr int kAgents = 300;

ClusterOptions MasterOnly() {
  ClusterOptions options;
  options.agents = 0;
  options.master_flags.insert(options.master_flags.end(),
                              {"--agent_reregister_timeout", "2s"});
  return options;
}

std::unique_ptr<Process> StartLoadgen(LocalCluster& cluster, const std::string& duration,
                                      std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {BinPath("agora-loadgen"), "--master", cluster.master(),
                                   "--agents", std::to_string(kAgents), "--frameworks", "2",
                                   "--duration", duration, "--task_duration", "300ms",
                                   "--heartbeat_timeout", "2s",
                                   "--master_pid", std::to_string(cluster.master_process().pid())};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<Process>(argv, cluster.dir() + "/loadgen.log");
}

// The one JSON line the load generator prints at the end.
nlohmann::json Report(LocalCluster& cluster) {
  std::ifstream in(cluster.dir() + "/loadgen.log");
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '{') last = line;
  }
  auto parsed = nlohmann::json::parse(last, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json::object() : parsed;
}

TEST(LoadgenTest, ASmokeRunLaunchesTasksAndDetectsTheSilentAgents) {
  LocalCluster cluster(MasterOnly());
  auto loadgen = StartLoadgen(cluster, "3s", {"--churn", "0.05"});
  int status = -1;
  ASSERT_TRUE(loadgen->Wait(absl::Seconds(60), &status));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  nlohmann::json r = Report(cluster);
  ASSERT_FALSE(r.empty()) << "no report in " << cluster.dir() << "/loadgen.log";
  EXPECT_EQ(r["agents"], kAgents);
  EXPECT_GT(r["tasks_running"].get<int>(), 1000);
  EXPECT_EQ(r["errors"], 0);
  EXPECT_TRUE(r["settled"].get<bool>());
  EXPECT_EQ(r["tasks_unsettled"], 0);
  EXPECT_EQ(r["updates_acked"], r["updates_sent"]);
  // 15 agents fell silent and 15 joined; every silent one was declared lost.
  EXPECT_EQ(r["agents_silenced"], 15);
  EXPECT_EQ(r["agents_joined"], 15);
  EXPECT_EQ(r["expiries_undetected"], 0);
  EXPECT_FALSE(r["expiry_detect_ms_p99"].is_null());
  EXPECT_FALSE(r["launch_latency_p99_ms"].is_null());
  EXPECT_GT(r["master_rss_mb"].get<double>(), 0);
}

TEST(LoadgenTest, AMasterKilledMidRunGetsEveryAgentAndFrameworkBack) {
  LocalCluster cluster(MasterOnly());
  auto loadgen = StartLoadgen(cluster, "8s", {"--churn", "0", "--rate", "500"});
  ASSERT_TRUE(cluster.WaitForAgents(kAgents, absl::Seconds(20)));
  ASSERT_TRUE(WaitFor([&] { return cluster.Query("tasks").size() > 10; }, absl::Seconds(10)));
  cluster.master_process().Signal(SIGKILL);
  cluster.master_process().Wait(absl::Seconds(5));
  cluster.StartMaster();
  int status = -1;
  ASSERT_TRUE(loadgen->Wait(absl::Seconds(60), &status));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  nlohmann::json r = Report(cluster);
  ASSERT_FALSE(r.empty()) << "no report in " << cluster.dir() << "/loadgen.log";
  EXPECT_EQ(r["agents_reregistered"], kAgents);
  EXPECT_EQ(r["frameworks_resubscribed"], 2);
  // Updates sent to the dead master were sent again and acknowledged; every
  // task ended one way or the other (launches in flight at the kill: lost).
  EXPECT_EQ(r["updates_acked"], r["updates_sent"]);
  EXPECT_EQ(r["tasks_unsettled"], 0);
  EXPECT_TRUE(r["settled"].get<bool>());
  EXPECT_EQ(r["tasks_other_terminal"], 0);
}

}  // namespace
}  // namespace agora::testing
