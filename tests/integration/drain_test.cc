// Draining an agent end to end: `agora agent drain` on a real cluster with
// agora-batch or agora-services running work there.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/integration/framework_fixture.h"

namespace agora::testing {
namespace {

using nlohmann::json;

json AgentNamed(LocalCluster& cluster, const std::string& id) {
  for (const json& a : cluster.Query("agents")) {
    if (a["id"] == id) return a;
  }
  return json::object();
}

TEST_F(BatchTest, DrainMovesJobsThatWouldMissTheDeadlineAndRequeuesWhatItKills) {
  ClusterOptions o;
  o.agents = 2;
  Start(o);
  // Bin-pack puts both on one agent. `long` says it needs an hour: it cannot
  // finish before the deadline, so agora-batch moves it at once. `quiet`
  // claims a second, so it is left to finish, overruns, and is killed by the
  // master at the deadline; it is queued again without spending a retry (it
  // has none).
  std::string run = Submit(absl::StrCat(R"(jobs:
  - {name: long, command: "echo long >> )", dir(), R"(/starts; exec sleep 60", estimated_duration: 1h}
  - {name: quiet, command: "echo quiet >> )", dir(), R"(/starts; exec sleep 60", estimated_duration: 1s, retries: 0}
)"));
  ASSERT_TRUE(WaitForJob(run + ".long", "running"));
  ASSERT_TRUE(WaitForJob(run + ".quiet", "running"));
  const std::string agent = Job(run + ".long")["agent_id"];
  ASSERT_EQ(Job(run + ".quiet")["agent_id"], agent) << "bin-pack placed them apart";

  const absl::Time drain_at = absl::Now();
  CliResult drain = Cli({"agent", "drain", agent, "--deadline", "3s", "--wait", "--json"});
  ASSERT_EQ(drain.exit_code, 0) << drain.out;
  EXPECT_EQ(json::parse(drain.out, nullptr, false).value("state", ""), "drained") << drain.out;
  EXPECT_GE(absl::Now() - drain_at, absl::Seconds(3));  // `quiet` held it until the deadline
  // Both run again, on the other agent, as second attempts.
  for (const char* name : {"long", "quiet"}) {
    ASSERT_TRUE(WaitForJob(run + "." + name, "running")) << name;
    const json job = Job(run + "." + name);
    EXPECT_NE(job["agent_id"], agent) << name;
    EXPECT_EQ(job["attempts"], 2) << name;
  }
  EXPECT_EQ(Lines("starts").size(), 4u);
  // No offers from a drained agent; undrain puts it back.
  for (const json& offer : cluster_->Query("offers")) EXPECT_NE(offer["agent_id"], agent);
  ASSERT_EQ(Cli({"agent", "undrain", agent}).exit_code, 0);
  EXPECT_EQ(AgentNamed(*cluster_, agent)["state"], "active");
}

TEST_F(BatchTest, MaintenanceCommandsRefuseWhatCannotBeDone) {
  ClusterOptions o;
  o.agents = 1;
  Start(o);
  const std::string agent = cluster_->Query("agents")[0]["id"];
  CliResult gone = Cli({"agent", "gone", agent});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.out.find("only an unreachable or drained agent can be marked gone"), std::string::npos) << gone.out;
  CliResult undrain = Cli({"agent", "undrain", agent});
  EXPECT_NE(undrain.out.find("is not draining"), std::string::npos) << undrain.out;
  CliResult unknown = Cli({"agent", "drain", "nope"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.out.find("no agent 'nope'"), std::string::npos) << unknown.out;
  CliResult usage = Cli({"agent", "drain"});
  EXPECT_EQ(usage.exit_code, 2) << usage.out;
  // By hostname too; an idle agent is drained at once, and then may be marked gone.
  ASSERT_EQ(Cli({"agent", "drain", cluster_->agent_hostname(0), "--wait"}).exit_code, 0);
  EXPECT_EQ(AgentNamed(*cluster_, agent)["state"], "drained");
  ASSERT_EQ(Cli({"agent", "gone", agent}).exit_code, 0);
  EXPECT_EQ(AgentNamed(*cluster_, agent)["state"], "gone");
  // Teardown of the framework: its id no longer subscribes.
  const std::string fw = cluster_->Query("frameworks")[0]["id"];
  ASSERT_EQ(Cli({"framework", "teardown", fw}).exit_code, 0);
  CliResult again = Cli({"framework", "teardown", fw});
  EXPECT_NE(again.out.find("was already torn down"), std::string::npos) << again.out;
}

}  // namespace
}  // namespace agora::testing
