// Health checks run by the executor, end to end: the verdicts reach the
// framework as RUNNING updates with `healthy` set, and only when they change.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/integration/cluster.h"
#include "tests/integration/test_framework.h"

namespace agora::testing {
namespace {

ClusterOptions WithPorts() {
  ClusterOptions o;
  o.agents = 1;
  o.agent_ports = true;
  return o;
}

HealthCheck Check(HealthCheck::Kind kind) {
  HealthCheck c;
  c.kind = kind;
  c.interval = absl::Milliseconds(200);
  c.timeout = absl::Seconds(1);
  c.grace_period = absl::ZeroDuration();
  c.max_failures = 2;
  return c;
}

// The `healthy` values the task's updates carried, in order.
std::vector<bool> Verdicts(TestFramework& fw, const std::string& task) {
  std::vector<bool> out;
  for (const TaskStatus& s : fw.Updates(task)) {
    if (s.healthy) out.push_back(*s.healthy);
  }
  return out;
}

TEST(HealthCheckTest, CommandCheckTurnsUnhealthyThenHealthy) {
  LocalCluster cluster(WithPorts());
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  TaskSpec t = Command("db", "sleep 1.5; touch ready; exec sleep 60");
  t.health_check = Check(HealthCheck::Kind::kCommand);
  t.health_check.command = "test -f ready";
  fw.Launch(t);
  ASSERT_TRUE(fw.WaitForState("db", TaskState::kRunning, absl::Seconds(10)));
  // Seven or so checks fail before `ready` exists, one verdict says so:
  // only changes are reported.
  ASSERT_TRUE(WaitFor([&] { return Verdicts(fw, "db") == std::vector<bool>{false, true}; },
                      absl::Seconds(10)))
      << "verdicts: " << Verdicts(fw, "db").size();
  // The master shows the verdict too.
  bool shown = false;
  for (const auto& task : cluster.Query("tasks")) shown = shown || task.value("healthy", false);
  EXPECT_TRUE(shown);
}

TEST(HealthCheckTest, HttpAndTcpChecksProbeTheTasksPort) {
  LocalCluster cluster(WithPorts());
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  const uint32_t base = cluster.agent_port_base(0);
  TaskSpec web = Command("web", "exec python3 -m http.server $PORT0 --bind 127.0.0.1", 0.1, 64);
  web.resources.set_ports(PortSet({{base + 10, base + 10}}));
  web.health_check = Check(HealthCheck::Kind::kHttp);
  web.health_check.port = base + 10;
  web.health_check.path = "/";
  // Python may take longer than two intervals to listen on a loaded machine:
  // failures before its first success must not count.
  web.health_check.grace_period = absl::Seconds(10);
  fw.Launch(web);
  TaskSpec deaf = Command("deaf", "exec sleep 60");  // holds a port, listens on none
  deaf.resources.set_ports(PortSet({{base + 11, base + 11}}));
  deaf.health_check = Check(HealthCheck::Kind::kTcp);
  deaf.health_check.port = base + 11;
  fw.Launch(deaf);
  EXPECT_TRUE(WaitFor([&] { return Verdicts(fw, "web") == std::vector<bool>{true}; }, absl::Seconds(15)));
  EXPECT_TRUE(WaitFor([&] { return Verdicts(fw, "deaf") == std::vector<bool>{false}; }, absl::Seconds(15)));
  for (const TaskStatus& s : fw.Updates("deaf")) {
    if (s.healthy) {
      EXPECT_NE(s.message.find(absl::StrCat("tcp ", base + 11)), std::string::npos) << s.message;
    }
  }
}

TEST(HealthCheckTest, ChecksOnPortsTheTaskDoesNotHoldAreRejected) {
  LocalCluster cluster(WithPorts());
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  TaskSpec t = Command("stray", "exec sleep 60");
  t.health_check = Check(HealthCheck::Kind::kTcp);
  t.health_check.port = 1;  // not among the agent's ports
  fw.Launch(t);
  auto error = fw.WaitForState("stray", TaskState::kError, absl::Seconds(10));
  ASSERT_TRUE(error);
  EXPECT_NE(error->message.find("health check port 1 is not one of the task's ports"),
            std::string::npos)
      << error->message;
}

}  // namespace
}  // namespace agora::testing
