// Several masters electing a leader through a real three-node ZooKeeper
// ensemble on loopback (DESIGN.md: "High availability"): one leads and the
// others redirect; killing the leader moves agents, frameworks and the CLI
// to a new one with nothing lost; restarting every master at once loses
// nothing; a ZooKeeper follower's death stops nothing, a majority's stops
// the leader until the ensemble is back.
#include <signal.h>
#include <sys/wait.h>

#include <httplib.h>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/integration/cluster.h"
#include "tests/integration/zk_ensemble.h"

namespace agora::testing {
namespace {

constexpr absl::Duration kSession = absl::Seconds(2);

ClusterOptions HaOptions(const ZkEnsemble& zk, const std::string& root, int masters, int agents,
                         absl::Duration session = kSession) {
  ClusterOptions o;
  o.zk = zk.url(root);
  o.masters = masters;
  o.agents = agents;
  o.master_flags = {"--heartbeat_interval", "250ms", "--heartbeat_timeout", "2s", "--http_port", "0",
                    "--zk_session_timeout", absl::FormatDuration(session), "--agent_reregister_timeout", "5s",
                    "--framework_resubscribe_timeout", "10s"};
  return o;
}

std::string MasterHttp(LocalCluster& cluster, int i) {
  return FirstLine(absl::StrCat(cluster.dir(), "/", i == 0 ? "master" : absl::StrCat("master", i),
                                "/http_endpoint"));
}

class HaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    zk_ = new ZkEnsemble(3);
    ASSERT_TRUE(zk_->WaitServing());
  }
  static void TearDownTestSuite() { delete zk_; }
  std::string Root() const {
    return absl::StrCat("/", ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  static ZkEnsemble* zk_;
};
ZkEnsemble* HaTest::zk_ = nullptr;

TEST_F(HaTest, OneMasterLeadsTheOthersRedirectAndTheClusterRuns) {
  LocalCluster cluster(HaOptions(*zk_, Root(), 3, 2));
  const int leader = cluster.LeaderIndex();
  ASSERT_GE(leader, 0);
  ASSERT_TRUE(cluster.WaitForAgents(2, absl::Seconds(30)));

  const int standby = (leader + 1) % 3;
  httplib::Client to_standby(MasterHttp(cluster, standby));
  auto redirected = to_standby.Get("/state");
  ASSERT_TRUE(redirected);
  EXPECT_EQ(redirected->status, 307);
  EXPECT_EQ(redirected->get_header_value("Location"), MasterHttp(cluster, leader) + "/state");
  auto standby_metrics = to_standby.Get("/metrics");
  ASSERT_TRUE(standby_metrics);
  EXPECT_NE(standby_metrics->body.find("agora_elected 0"), std::string::npos) << standby_metrics->body;
  httplib::Client to_leader(MasterHttp(cluster, leader));
  auto leader_metrics = to_leader.Get("/metrics");
  ASSERT_TRUE(leader_metrics);
  EXPECT_NE(leader_metrics->body.find("agora_elected 1"), std::string::npos);

  // The command line asked at a standby's endpoint is answered by the leader.
  CliResult agents = RunShell(absl::StrCat(BinPath("agora"), " --master ", cluster.master_endpoint(standby),
                                           " agents --json 2>&1"));
  EXPECT_EQ(agents.exit_code, 0) << agents.out;
  EXPECT_NE(agents.out.find("agent1"), std::string::npos) << agents.out;

  CliResult status = cluster.Cli({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_NE(status.out.find("elected through ZooKeeper"), std::string::npos) << status.out;

  CliResult ran = cluster.Cli({"run", "--instances", "2", "--", "true"});
  EXPECT_EQ(ran.exit_code, 0) << ran.out;
}

TEST_F(HaTest, KillingTheLeaderMovesEverythingToANewOneAndNothingIsLost) {
  LocalCluster cluster(HaOptions(*zk_, Root(), 3, 2));
  const int first = cluster.LeaderIndex();
  ASSERT_GE(first, 0);
  ASSERT_TRUE(cluster.WaitForAgents(2, absl::Seconds(30)));
  CliResult weighted = cluster.Cli({"role", "set", "batch", "--weight", "3", "--create"});
  ASSERT_EQ(weighted.exit_code, 0) << weighted.out;
  CliResult drain = cluster.Cli({"agent", "drain", "agent1"});
  ASSERT_EQ(drain.exit_code, 0) << drain.out << cluster.Query("agents").dump();

  // A framework with tasks running (failover timeout 0, as `agora run`'s).
  const std::string run_log = cluster.dir() + "/run.log";
  Process run({BinPath("agora"), "--master", cluster.master(), "run", "--instances", "2", "--", "sleep 6"},
              run_log);
  ASSERT_TRUE(WaitFor([&] {
    int running = 0;
    for (const auto& t : cluster.Query("tasks")) running += t.value("state", "") == "running";
    return running == 2;
  }, absl::Seconds(30))) << FileText(run_log);

  const absl::Time killed = absl::Now();
  cluster.master_process(first).Signal(SIGKILL);
  cluster.master_process(first).Wait(absl::Seconds(10));
  cluster.StopMaster(first);
  const int second = cluster.LeaderIndex();
  const absl::Duration failover = absl::Now() - killed;
  ASSERT_GE(second, 0);
  // Elected once ZooKeeper expired the dead leader's session.
  EXPECT_LT(failover, kSession + absl::Seconds(4)) << failover;

  // The framework carries on: its tasks finish and `agora run` exits 0.
  int status = -1;
  ASSERT_TRUE(run.Wait(absl::Seconds(40), &status)) << FileText(run_log);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << FileText(run_log);
  EXPECT_EQ(FileText(run_log).find("removed"), std::string::npos) << FileText(run_log);

  // Agents re-registered; the registry's roles and drains came through.
  ASSERT_TRUE(WaitFor([&] {
    int back = 0;
    for (const auto& a : cluster.Query("agents")) back += a.value("state", "") != "unreachable";
    return back == 2;
  }, absl::Seconds(30)));
  bool drained = false;
  for (const auto& a : cluster.Query("agents")) {
    if (a.value("hostname", "") == "agent1") drained = a.value("state", "") == "drained" || a.value("state", "") == "draining";
  }
  EXPECT_TRUE(drained) << cluster.Query("agents").dump();
  bool weight = false;
  for (const auto& r : cluster.Query("roles")) weight = weight || (r.value("role", r.value("name", "")) == "batch" && r.value("weight", 0.0) == 3.0);
  EXPECT_TRUE(weight) << cluster.Query("roles").dump();

  // Every master at once: nothing the registry holds is lost either.
  for (int i = 0; i < 3; ++i) {
    if (cluster.master_running(i)) cluster.StopMaster(i);
  }
  for (int i = 0; i < 3; ++i) cluster.StartMaster(i);
  ASSERT_GE(cluster.LeaderIndex(), 0);
  ASSERT_TRUE(WaitFor([&] {
    int back = 0;
    for (const auto& a : cluster.Query("agents")) back += a.value("state", "") != "unreachable";
    return back == 2;
  }, absl::Seconds(30)));
  weight = false;
  for (const auto& r : cluster.Query("roles")) weight = weight || (r.value("role", r.value("name", "")) == "batch" && r.value("weight", 0.0) == 3.0);
  EXPECT_TRUE(weight) << cluster.Query("roles").dump();
}

// Its own ensemble: it kills ZooKeeper servers. A 5s session (the most
// the ensemble's 250ms tick allows): the leader's grace to reconnect is 1.7s.
TEST(ZkFaultTest, AMinorityDiesNothingStopsAMajorityDiesTheLeaderStopsUntilItIsBack) {
  ZkEnsemble zk(3);
  ASSERT_TRUE(zk.WaitServing());
  constexpr absl::Duration kLongSession = absl::Seconds(5);
  LocalCluster cluster(HaOptions(zk, "/faults", 2, 1, kLongSession));
  const int leader = cluster.LeaderIndex();
  ASSERT_GE(leader, 0);
  ASSERT_TRUE(cluster.WaitForAgents(1, absl::Seconds(30)));
  const std::string leader_log = cluster.dir() + (leader == 0 ? "/master.log" : "/master1.log");

  // The server the leading master's session is on dies: it moves to another.
  const std::string log = FileText(leader_log);
  const std::string said = "zookeeper: connected to 127.0.0.1:";
  const size_t at = log.rfind(said);
  ASSERT_NE(at, std::string::npos) << log;
  const int port = std::atoi(log.c_str() + at + said.size());
  int server = -1;
  for (int i = 0; i < zk.size(); ++i) server = zk.client_port(i) == port ? i : server;
  ASSERT_GE(server, 0) << port;
  zk.Kill(server);
  // Two session timeouts later the same master still leads, and serves.
  const absl::Time until = absl::Now() + 2 * kLongSession;
  while (absl::Now() < until) {
    ASSERT_FALSE(cluster.master_process(leader).Wait(absl::Milliseconds(200))) << FileText(leader_log);
  }
  EXPECT_EQ(cluster.LeaderIndex(), leader);
  EXPECT_TRUE(cluster.WaitForAgents(1, absl::Seconds(10)));
  EXPECT_NE(FileText(leader_log).find("connected to", at + said.size()), std::string::npos);
  // It paused while it had no server, and resumed on the same session.
  EXPECT_NE(FileText(leader_log).find("lost ZooKeeper: pausing", at), std::string::npos) << FileText(leader_log);
  EXPECT_NE(FileText(leader_log).find("within the session: leading again", at), std::string::npos);

  // A majority gone: the leader stops within the session timeout; the other
  // master runs on, not leading.
  zk.Kill(server == 0 ? 1 : 0);
  EXPECT_TRUE(cluster.master_process(leader).Wait(kLongSession + absl::Seconds(3))) << FileText(leader_log);
  cluster.StopMaster(leader);
  const int standby = 1 - leader;
  EXPECT_FALSE(cluster.master_process(standby).Wait(absl::Milliseconds(100)));
  httplib::Client to_standby(MasterHttp(cluster, standby));
  auto metrics = to_standby.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("agora_elected 0"), std::string::npos);

  // The ensemble back: the other master leads, and the agent follows it.
  for (int i = 0; i < zk.size(); ++i) {
    if (!zk.running(i)) zk.Start(i);
  }
  ASSERT_TRUE(zk.WaitServing());
  EXPECT_EQ(cluster.LeaderIndex(absl::Seconds(60)), standby);
  cluster.StartMaster(leader);  // as its supervisor would
  EXPECT_TRUE(cluster.WaitForAgents(1, absl::Seconds(30)));
}

// The leading master's ZooKeeper server cut off from the other two (frozen
// here, the ensemble's leader among them). Cut off, a server goes on
// answering its clients' pings until it gives up on its leader (syncLimit:
// 10 s here), while the other side could expire the master's session after
// 2 s. The master's lease, renewed only through ZooKeeper's leader, runs out
// first: it pauses and exits long before its server would have dropped it.
TEST(ZkFaultTest, ALeaderWhoseServerIsCutOffFromTheEnsembleStopsBeforeItsServerNotices) {
  ZkEnsemble zk(3, "127.0.0.1", /*sync_limit_ticks=*/40);
  ASSERT_TRUE(zk.WaitServing());
  int follower = -1;
  for (int i = 0; i < zk.size() && follower < 0; ++i) {
    if (zk.Srvr(i).find("Mode: follower") != std::string::npos) follower = i;
  }
  ASSERT_GE(follower, 0);
  ClusterOptions options = HaOptions(zk, "/cutoff", 2, 0);
  options.zk = absl::StrCat("zk://127.0.0.1:", zk.client_port(follower), "/cutoff");  // that server only
  LocalCluster cluster(options);
  const int leader = cluster.LeaderIndex();
  ASSERT_GE(leader, 0);
  const std::string leader_log = cluster.dir() + (leader == 0 ? "/master.log" : "/master1.log");
  ASSERT_TRUE(WaitFor([&] { return cluster.Cli({"status"}).exit_code == 0; }, absl::Seconds(30)));  // recovered

  for (int i = 0; i < zk.size(); ++i) {
    if (i != follower) zk.Signal(i, SIGSTOP);
  }
  const absl::Time cut = absl::Now();
  const bool exited = cluster.master_process(leader).Wait(absl::Seconds(6));
  const absl::Duration took = absl::Now() - cut;
  for (int i = 0; i < zk.size(); ++i) {
    if (i != follower) zk.Signal(i, SIGCONT);
  }
  ASSERT_TRUE(exited) << "still leading " << took << " after its server was cut off\n" << FileText(leader_log);
  EXPECT_NE(FileText(leader_log).find("ZooKeeper confirmed nothing"), std::string::npos) << FileText(leader_log);
  cluster.StopMaster(leader);
  // The ensemble whole again: the other master leads.
  ASSERT_TRUE(zk.WaitServing());
  EXPECT_EQ(cluster.LeaderIndex(absl::Seconds(60)), 1 - leader);
}

}  // namespace
}  // namespace agora::testing
