// Autoscaling end to end: agents measure their tasks' cpu use and report it,
// the master passes it to agora-services (and shows it in `agora tasks`),
// and a service with `autoscale` grows under load at once and shrinks only
// after its stabilisation window.
#include <fstream>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/integration/service_fixture.h"

namespace agora::testing {
namespace {

using nlohmann::json;

class AutoscaleTest : public ServiceTest {
 protected:
  ClusterOptions Measured() {
    ClusterOptions o = WithPorts();
    o.agent_flags = {"--usage_interval", "500ms"};
    return o;
  }
};

TEST_F(AutoscaleTest, BusyInstancesScaleUpAtOnceAndIdleOnesDownAfterTheWindow) {
  Start(Measured());
  // About 30% of a core each, against 0.1 cpus asked: far over a 50% target.
  const std::string idle = dir() + "/idle";
  const std::string burn = Write("burn.py", absl::StrCat(R"(import os, time
while True:
    if os.path.exists(')", idle, R"('):
        time.sleep(0.2)
        continue
    t = time.time()
    while time.time() - t < 0.03:
        pass
    time.sleep(0.07)
)"));
  ASSERT_EQ(Deploy(absl::StrCat("name: burn\ncommand: exec python3 ", burn,
                                "\ninstances: 1\nresources: {cpus: 0.1, mem: 64}\n",
                                "autoscale: {min: 1, max: 3, target_cpu: 0.5, window: 4s}\n"))
                .exit_code,
            0);
  ASSERT_TRUE(WaitFor([&] { return Service("burn")["instances"] == 3; }, absl::Seconds(30)))
      << Service("burn").dump();
  const json autoscale = CliJson({"service", "show", "burn"})["autoscale"];
  EXPECT_NE(autoscale.value("last_change", "").find("autoscaled from 1 to 3"), std::string::npos) << autoscale.dump();
  EXPECT_TRUE(WaitForHealthy("burn", 3));
  // The master shows the measured use.
  bool measured = false;
  for (const json& t : cluster_->Query("tasks")) {
    if (t["state"] == "running" && t.contains("usage")) {
      measured = measured || t["usage"]["cpus"].get<double>() > 0.05;
      EXPECT_GT(t["usage"]["mem_mb"].get<double>(), 1.0) << t.dump();
    }
  }
  EXPECT_TRUE(measured) << cluster_->Query("tasks").dump();
  CliResult table = Cli({"tasks", "--state", "running"});
  EXPECT_NE(table.out.find("/0.1"), std::string::npos) << table.out;  // used/asked

  // Idle now: down to the minimum, but not before a whole window of low use.
  std::ofstream(idle) << "";
  const absl::Time idle_since = absl::Now();
  ASSERT_TRUE(WaitFor([&] { return Service("burn")["instances"] == 1; }, absl::Seconds(30)))
      << Service("burn").dump();
  EXPECT_GE(absl::Now() - idle_since, absl::Seconds(4));
  EXPECT_TRUE(WaitForHealthy("burn", 1));
  // Manual scaling stays within the bounds.
  CliResult out_of_bounds = Cli({"service", "scale", "burn", "5"});
  EXPECT_EQ(out_of_bounds.exit_code, 1);
  EXPECT_NE(out_of_bounds.out.find("outside burn's autoscale bounds 1..3"), std::string::npos) << out_of_bounds.out;
}

}  // namespace
}  // namespace agora::testing
