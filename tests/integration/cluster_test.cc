// End-to-end tests on the real binaries over loopback: one master, three
// agents, frameworks through the SDK and the CLI.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <httplib.h>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/strings/numbers.h"
#include "common/version.h"
#include "tests/integration/cluster.h"
#include "tests/integration/test_framework.h"

namespace agora::testing {
namespace {

bool ProcessAlive(pid_t pid) { return ::kill(pid, 0) == 0; }

// "started as pid N" -> N
pid_t PidFromMessage(const std::string& message) {
  int pid = 0;
  auto pos = message.rfind(' ');
  if (pos == std::string::npos || !absl::SimpleAtoi(message.substr(pos + 1), &pid)) return -1;
  return pid;
}

TEST(ClusterTest, HundredTasksOnThreeAgentsAllFinish) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.WaitForAgents(3));
  CliResult r = cluster.Cli({"run", "--instances", "100", "--name", "many", "--", "true"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("100 of 100 finished with exit status 0"), std::string::npos) << r.out;
  nlohmann::json tasks = cluster.Query("tasks");
  int finished = 0;
  std::set<std::string> agents;
  for (const auto& t : tasks) {
    finished += t["state"] == "finished";
    agents.insert(t["agent_id"].get<std::string>());
  }
  EXPECT_EQ(finished, 100);
  EXPECT_EQ(agents.size(), 3u) << "tasks should spread over every agent";
}

TEST(ClusterTest, RunExitsNonZeroWhenACopyFails) {
  LocalCluster cluster({.agents = 1});
  ASSERT_TRUE(cluster.WaitForAgents(1));
  CliResult r = cluster.Cli({"run", "--instances", "2", "--", "sh", "-c",
                             "test $AGORA_TASK_ID = run-0"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("1 of 2 finished with exit status 0"), std::string::npos) << r.out;
}

TEST(ClusterTest, TasksGetTheirSandboxEnvironmentAndPorts) {
  LocalCluster cluster({.agents = 1, .agent_resources = "cpus:2;mem:1024;ports:[41000-41009]"});
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  TaskSpec t = Command("env-task", "env > env.txt; pwd > pwd.txt");
  t.resources.set_ports(PortSet({{41003, 41004}}));
  t.port_names = {"http", "admin"};
  t.env = {{"GREETING", "hello"}};
  fw.Launch(t);
  ASSERT_TRUE(fw.WaitForState("env-task", TaskState::kFinished, absl::Seconds(15)));
  std::string env_file;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(cluster.dir())) {
    if (entry.path().filename() == "env.txt") env_file = entry.path().string();
  }
  ASSERT_FALSE(env_file.empty());
  std::ifstream in(env_file);
  std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* want : {"AGORA_TASK_ID=env-task", "PORT0=41003", "PORT1=41004",
                           "PORT_HTTP=41003", "PORT_ADMIN=41004", "GREETING=hello",
                           "AGORA_HOSTNAME=agent0"}) {
    EXPECT_NE(env.find(want), std::string::npos) << want << " missing in\n" << env;
  }
  EXPECT_TRUE(absl::StrContains(env_file, "/frameworks/" + fw.framework_id() + "/tasks/env-task/env.txt"));
}

TEST(ClusterTest, KillingARunningTaskEndsItsProcessAndReportsKilled) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.WaitForAgents(3));
  TestFramework fw(cluster.master());
  fw.Launch(Command("sleeper", "sleep 300"));
  auto running = fw.WaitForState("sleeper", TaskState::kRunning, absl::Seconds(15));
  ASSERT_TRUE(running);
  pid_t pid = PidFromMessage(running->message);
  ASSERT_GT(pid, 0) << running->message;
  EXPECT_TRUE(ProcessAlive(pid));
  fw.Kill("sleeper");
  auto killed = fw.WaitForState("sleeper", TaskState::kKilled, absl::Seconds(10));
  ASSERT_TRUE(killed);
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pid); }, absl::Seconds(5)));
}

TEST(ClusterTest, SigkilledAgentIsReportedUnreachableWithinTheHeartbeatTimeout) {
  LocalCluster cluster;  // --heartbeat_timeout 2s
  ASSERT_TRUE(cluster.WaitForAgents(3));
  TestFramework fw(cluster.master());
  fw.Launch(Command("victim", "sleep 300"), cluster.agent_hostname(1));
  auto running = fw.WaitForState("victim", TaskState::kRunning, absl::Seconds(15));
  ASSERT_TRUE(running);
  const absl::Time killed_at = absl::Now();
  cluster.agent_process(1).Signal(SIGKILL);
  cluster.agent_process(1).Wait(absl::Seconds(5));
  auto unreachable = fw.WaitForState("victim", TaskState::kUnreachable, absl::Seconds(10));
  ASSERT_TRUE(unreachable);
  const absl::Duration took = absl::Now() - killed_at;
  EXPECT_LE(took, absl::Seconds(3)) << "heartbeat_timeout (2s) + 1s";
  EXPECT_EQ(unreachable->reason, "agent_unreachable");
  auto agents = cluster.Query("agents");
  int unreachable_agents = 0;
  for (const auto& a : agents) unreachable_agents += a["state"] == "unreachable";
  EXPECT_EQ(unreachable_agents, 1);
  // The orphaned executor kills its task once the agent is gone for
  // --recovery_timeout (3s in these tests).
  pid_t pid = PidFromMessage(running->message);
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pid); }, absl::Seconds(10)));
}

TEST(ClusterTest, TasksSurviveAnAgentRestart) {
  LocalCluster cluster({.agents = 1});
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  fw.Launch(Command("survivor", "sleep 300"));
  auto running = fw.WaitForState("survivor", TaskState::kRunning, absl::Seconds(15));
  ASSERT_TRUE(running);
  const pid_t pid = PidFromMessage(running->message);
  const std::string agent_id = cluster.Query("agents")[0]["id"];

  cluster.agent_process(0).Signal(SIGKILL);
  cluster.agent_process(0).Wait(absl::Seconds(5));
  cluster.StartAgent(0);  // same work dir

  // The agent comes back under its id, with the task still running in the
  // same process, and the framework never heard otherwise.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto agents = cluster.Query("agents");
        return agents.size() == 1 && agents[0]["id"] == agent_id &&
               agents[0]["state"] == "active" && agents[0]["tasks"] == 1;
      },
      absl::Seconds(15)));
  EXPECT_TRUE(ProcessAlive(pid));
  for (const TaskStatus& s : fw.Updates("survivor")) {
    EXPECT_FALSE(IsTerminal(s.state)) << TaskStateName(s.state) << ": " << s.message;
  }
  // The re-adopted executor still obeys: kill the task through the master.
  fw.Kill("survivor");
  ASSERT_TRUE(fw.WaitForState("survivor", TaskState::kKilled, absl::Seconds(15)));
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pid); }, absl::Seconds(5)));
}

TEST(ClusterTest, ATaskThatEndsWhileItsAgentIsDownIsReportedAfterTheRestart) {
  LocalCluster cluster({.agents = 1});
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  fw.Launch(Command("short", "sleep 1; exit 7"));
  auto running = fw.WaitForState("short", TaskState::kRunning, absl::Seconds(15));
  ASSERT_TRUE(running);
  const pid_t pid = PidFromMessage(running->message);
  cluster.agent_process(0).Signal(SIGKILL);
  cluster.agent_process(0).Wait(absl::Seconds(5));
  ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(pid); }, absl::Seconds(10)));
  cluster.StartAgent(0);
  auto failed = fw.WaitForState("short", TaskState::kFailed, absl::Seconds(15));
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->exit_code, 7);
  EXPECT_EQ(failed->message, "exited with status 7");
}

TEST(ClusterTest, RestartedMasterGetsItsAgentsAndFrameworkBack) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.WaitForAgents(3));
  TestFramework fw(cluster.master());
  fw.Launch(Command("survivor", "sleep 300"));
  ASSERT_TRUE(fw.WaitForState("survivor", TaskState::kRunning, absl::Seconds(15)));
  const std::string framework_id = fw.framework_id();
  const std::string agents_before = cluster.Query("agents").dump();

  cluster.master_process().Signal(SIGKILL);
  cluster.master_process().Wait(absl::Seconds(5));
  cluster.StartMaster();

  ASSERT_TRUE(cluster.WaitForAgents(3, absl::Seconds(15)));
  // Same agent ids as before the restart.
  for (const auto& a : cluster.Query("agents")) {
    EXPECT_NE(agents_before.find(a["id"].get<std::string>()), std::string::npos);
  }
  // The framework re-subscribed with its id and its task is known again.
  ASSERT_TRUE(WaitFor([&] { return fw.subscriptions() >= 2; }, absl::Seconds(15)));
  EXPECT_EQ(fw.framework_id(), framework_id);
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& t : cluster.Query("tasks")) {
          if (t["id"] == "survivor" && t["state"] == "running" && t["framework_id"] == framework_id)
            return true;
        }
        return false;
      },
      absl::Seconds(10)));
}

// What a framework hears of a master restart: Disconnected() once, then
// Subscribed(), Reconnected(), its task's state, Reconciled(), and offers only
// after that; no Error() for anything the driver handles itself.
TEST(ClusterTest, AFrameworkHearsAMasterRestartAsDisconnectedReconnectedAndReconciled) {
  LocalCluster cluster({.agents = 1});
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  fw.Launch(Command("survivor", "sleep 300"));
  ASSERT_TRUE(fw.WaitForState("survivor", TaskState::kRunning, absl::Seconds(15)));
  // Wants offers throughout (and launches nothing), so offers race the reconciliation.
  fw.SetOffersHook([](sdk::SchedulerDriver&, const std::vector<sdk::Offer>&) {});
  auto has = [](const std::vector<std::string>& events, const std::string& e) {
    return std::find(events.begin(), events.end(), e) != events.end();
  };
  ASSERT_TRUE(WaitFor([&] { return has(fw.Events(), "reconciled") && has(fw.Events(), "offers"); },
                      absl::Seconds(10)));
  const size_t before = fw.Events().size();

  cluster.master_process().Signal(SIGKILL);
  cluster.master_process().Wait(absl::Seconds(5));
  cluster.StartMaster();
  std::vector<std::string> after;
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::vector<std::string> all = fw.Events();
        after.assign(all.begin() + static_cast<long>(std::min(before, all.size())), all.end());
        return has(after, "reconciled") && has(after, "offers");
      },
      absl::Seconds(20)))
      << absl::StrJoin(fw.Events(), ", ");
  const std::string seen = absl::StrJoin(after, ", ");
  auto at = [&](const std::string& e) { return std::find(after.begin(), after.end(), e) - after.begin(); };
  EXPECT_EQ(std::count(after.begin(), after.end(), "disconnected"), 1) << seen;
  EXPECT_EQ(std::count(after.begin(), after.end(), "reconnected"), 1) << seen;
  EXPECT_LT(at("disconnected"), at("subscribed")) << seen;
  EXPECT_EQ(at("subscribed") + 1, at("reconnected")) << seen;
  EXPECT_LT(at("reconnected"), at("update survivor running")) << seen;
  EXPECT_LT(at("update survivor running"), at("reconciled")) << seen;
  EXPECT_LT(at("reconciled"), at("offers")) << seen;
  for (const std::string& e : after) EXPECT_NE(e.rfind("error", 0), 0u) << seen;
}

// A master restart does not count against a framework's failover timeout:
// `agora run` (failover timeout 0) subscribes again and sees its tasks end.
TEST(ClusterTest, AgoraRunCarriesOnAcrossAMasterRestart) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.WaitForAgents(3));
  const std::string log = cluster.dir() + "/run.log";
  Process run({BinPath("agora"), "--master", cluster.master(), "run", "--instances", "6", "--name",
               "through", "--", "sleep", "4"},
              log);
  ASSERT_TRUE(WaitFor(
      [&] {
        int running = 0;
        for (const auto& t : cluster.Query("tasks")) running += t["state"] == "running";
        return running == 6;
      },
      absl::Seconds(15)));
  cluster.master_process().Signal(SIGKILL);
  cluster.master_process().Wait(absl::Seconds(5));
  absl::SleepFor(absl::Seconds(1));
  cluster.StartMaster();

  int status = -1;
  ASSERT_TRUE(run.Wait(absl::Seconds(40), &status)) << FileText(log);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << FileText(log);
  EXPECT_NE(FileText(log).find("6 of 6 finished with exit status 0"), std::string::npos) << FileText(log);
}

TEST(ClusterTest, AgoraRunPassesItsTasksExitStatusThrough) {
  LocalCluster cluster({.agents = 1});
  ASSERT_TRUE(cluster.WaitForAgents(1));
  CliResult r = cluster.Cli({"run", "--", "exit 3"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("0 of 1 finished with exit status 0"), std::string::npos) << r.out;
  // Several: the lowest-numbered instance that failed gives the status.
  r = cluster.Cli({"run", "--instances", "3", "--", "exit $((7 + ${AGORA_TASK_ID#run-}))"});
  EXPECT_EQ(r.exit_code, 7) << r.out;
}

// Every command that waits or follows ends on Ctrl-C at once, as a shell
// expects of an interrupted command (killed by SIGINT: status 130).
TEST(ClusterTest, CtrlCEndsEveryWaitAndFollow) {
  LocalCluster cluster({.agents = 1});
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  fw.Launch(Command("chatty", "while true; do echo hi; sleep 0.2; done"));
  ASSERT_TRUE(fw.WaitForState("chatty", TaskState::kRunning, absl::Seconds(15)));
  // Each command, and what it prints once it waits.
  const std::vector<std::pair<std::vector<std::string>, std::string>> waits = {
      {{"tasks", "--watch", "--interval", "10s"}, "chatty"},
      {{"logs", "chatty", "--follow"}, "hi"},
  };
  for (const auto& [args, waiting] : waits) {
    std::vector<std::string> argv = {BinPath("agora"), "--master", cluster.master()};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string log = cluster.dir() + "/" + args[0] + ".log";
    Process cli(argv, log);
    ASSERT_TRUE(WaitFor([&] { return FileText(log).find(waiting) != std::string::npos; }, absl::Seconds(10)))
        << FileText(log);
    cli.Signal(SIGINT);
    int status = 0;
    ASSERT_TRUE(cli.Wait(absl::Seconds(1), &status)) << args[0] << " did not end on SIGINT";
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) << args[0] << ": " << status;
  }
}

TEST(ClusterTest, EveryBinaryTheMasterAndItsHttpSayTheirVersion) {
  LocalCluster cluster({.agents = 1});
  ASSERT_TRUE(cluster.WaitForAgents(1));
  for (const char* binary : {"agora", "agora-master", "agora-agent", "agora-executor", "agora-batch",
                             "agora-services"}) {
    CliResult r = RunShell(BinPath(binary) + " --version");
    EXPECT_EQ(r.exit_code, 0) << binary;
    EXPECT_EQ(r.out.rfind(absl::StrCat(binary, " ", kVersion, " (commit "), 0), 0u) << r.out;
  }
  CliResult versions = cluster.Cli({"version", "--json"});
  ASSERT_EQ(versions.exit_code, 0) << versions.out;
  auto v = nlohmann::json::parse(versions.out);
  EXPECT_EQ(v["client"]["version"], kVersion);
  EXPECT_EQ(v["master"]["name"], "agora-master");
  EXPECT_EQ(v["master"]["commit"], kCommit);

  std::string url;
  std::ifstream(cluster.dir() + "/master/http_endpoint") >> url;
  httplib::Client http(url);
  auto version = http.Get("/version");
  ASSERT_TRUE(version);
  EXPECT_EQ(nlohmann::json::parse(version->body)["name"], "agora-master");
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find(absl::StrCat("agora_build_info{version=\"", kVersion, "\",commit=\"", kCommit, "\"} 1")),
            std::string::npos);

  // A master that is gone: the CLI still says its own version, and fails.
  cluster.master_process().Signal(SIGKILL);
  cluster.master_process().Wait(absl::Seconds(5));
  CliResult alone = cluster.Cli({"version", "--request_timeout", "300ms"});
  EXPECT_EQ(alone.exit_code, 1);
  EXPECT_NE(alone.out.find(absl::StrCat("client: agora ", kVersion)), std::string::npos) << alone.out;
}

TEST(ClusterTest, AcceptOfAStaleOfferIsAnErrorAndNothingLaunches) {
  LocalCluster cluster({.agents = 1});
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  fw.SetOffersHook([used = std::string()](sdk::SchedulerDriver& driver,
                                          const std::vector<sdk::Offer>& offers) mutable {
    if (!used.empty()) return;
    used = offers[0].id;
    driver.Launch({used}, {Command("first", "sleep 300")});
    driver.Launch({used}, {Command("second", "sleep 300")});  // the offer is gone
  });
  auto error = fw.WaitForState("second", TaskState::kError, absl::Seconds(15));
  ASSERT_TRUE(error);
  EXPECT_NE(error->message.find("no longer valid"), std::string::npos) << error->message;
  ASSERT_TRUE(fw.WaitForState("first", TaskState::kRunning, absl::Seconds(15)));
  for (const auto& t : cluster.Query("tasks")) EXPECT_NE(t["id"], "second");
}

TEST(ClusterTest, TaskOverItsMemoryLimitIsKilledAndReportedFailed) {
  LocalCluster cluster({.agents = 1});
  ASSERT_TRUE(cluster.WaitForAgents(1));
  auto agents = cluster.Query("agents");
  ASSERT_EQ(agents.size(), 1u);
  if (!agents[0].value("limits_enforced", false)) {
    GTEST_SKIP() << "cgroups are not available here (needs root and a memory controller)";
  }
  TestFramework fw(cluster.master());
  fw.Launch(Command("hog", "python3 -c 'b = bytearray(256 * 1024 * 1024); b[::4096] = b\"x\" * len(b[::4096]); import time; time.sleep(30)'",
                    0.1, 64));
  auto failed = fw.WaitForState("hog", TaskState::kFailed, absl::Seconds(20));
  ASSERT_TRUE(failed) << "the task was not stopped by its memory limit";
  EXPECT_EQ(failed->reason, "memory_limit");
  EXPECT_NE(failed->message.find("memory limit of 64 MiB exceeded"), std::string::npos)
      << failed->message;
}

TEST(ClusterTest, ExampleFrameworkRunsOneCopyPerHost) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.WaitForAgents(3));
  int status = 0;
  Process example({BinPath("agora-example-spread"), "--master", cluster.master(), "--hosts", "3",
                   "--", "echo", "hello"},
                  cluster.dir() + "/example.log");
  ASSERT_TRUE(example.Wait(absl::Seconds(30), &status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::set<std::string> agents;
  for (const auto& t : cluster.Query("tasks")) {
    if (t["state"] == "finished") agents.insert(t["agent_id"].get<std::string>());
  }
  EXPECT_EQ(agents.size(), 3u);
}

TEST(ClusterTest, MasterSurvivesMalformedFramesAndCountsThem) {
  LocalCluster cluster({.agents = 1});
  ASSERT_TRUE(cluster.WaitForAgents(1));
  zmq::context_t context;
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  socket.connect(cluster.master());
  std::string garbage(4096, '\x5a');
  std::vector<zmq::message_t> frames;
  frames.emplace_back(garbage.data(), 13);                  // not a multiple of 8
  frames.emplace_back(garbage.data(), garbage.size());      // garbage words
  frames.emplace_back();                                    // empty
  frames.emplace_back(garbage.data(), 8);                   // a lone segment count
  for (auto& f : frames) socket.send(f, zmq::send_flags::none);
  // A two-part message where one part is expected.
  socket.send(zmq::buffer(garbage.data(), 16), zmq::send_flags::sndmore);
  socket.send(zmq::buffer(garbage.data(), 16), zmq::send_flags::none);
  // The master still answers and still runs work.
  CliResult r = cluster.Cli({"run", "--", "true"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(cluster.agent_process(0).running(), true);
  std::ifstream log(cluster.dir() + "/master.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("dropped frame"), std::string::npos) << text;
}

TEST(ClusterTest, OperatorSeesStatusFiltersListingsAndKillsATask) {
  LocalCluster cluster({.agents = 2});
  ASSERT_TRUE(cluster.WaitForAgents(2));
  TestFramework fw(cluster.master());
  fw.Launch(Command("on-0", "sleep 300"), cluster.agent_hostname(0));
  fw.Launch(Command("on-1", "sleep 300"), cluster.agent_hostname(1));
  ASSERT_TRUE(fw.WaitForState("on-0", TaskState::kRunning, absl::Seconds(15)));
  ASSERT_TRUE(fw.WaitForState("on-1", TaskState::kRunning, absl::Seconds(15)));

  CliResult status = cluster.Cli({"status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.out;
  auto summary = nlohmann::json::parse(status.out);
  EXPECT_EQ(summary["agents"]["active"], 2);
  EXPECT_EQ(summary["tasks"]["running"], 2);
  EXPECT_DOUBLE_EQ(summary["resources"]["used"]["cpus"].get<double>(), 0.2);

  CliResult on_agent0 = cluster.Cli({"tasks", "--agent", cluster.agent_hostname(0), "--json"});
  auto rows = nlohmann::json::parse(on_agent0.out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["id"], "on-0");

  CliResult kill = cluster.Cli({"task", "kill", "on-1"});
  EXPECT_EQ(kill.exit_code, 0) << kill.out;
  ASSERT_TRUE(fw.WaitForState("on-1", TaskState::kKilled, absl::Seconds(10)));
  CliResult unknown = cluster.Cli({"task", "kill", "no-such-task"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.out.find("no task 'no-such-task'"), std::string::npos) << unknown.out;
  auto running = nlohmann::json::parse(cluster.Cli({"tasks", "--state", "running", "--json"}).out);
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(running[0]["id"], "on-0");
}

// Checks the Prometheus text exposition format: every sample belongs to a
// family announced by HELP and TYPE lines (a histogram's _bucket, _sum and
// _count to the histogram), and parses as NAME{LABELS} VALUE.
std::map<std::string, double> ParsePrometheus(const std::string& text, std::string* error) {
  std::map<std::string, double> samples;
  std::set<std::string> helped, typed;
  const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? ([-+0-9.eEinfNa]+)$)");
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (absl::StartsWith(line, "# HELP ")) {
      helped.insert(line.substr(7, line.find(' ', 7) - 7));
    } else if (absl::StartsWith(line, "# TYPE ")) {
      typed.insert(line.substr(7, line.find(' ', 7) - 7));
    } else if (std::regex_match(line, m, sample)) {
      std::string family = m[1];
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (!typed.contains(family) && absl::EndsWith(family, suffix)) family.resize(family.size() - strlen(suffix));
      }
      if (!helped.contains(family) || !typed.contains(family)) {
        *error = "no HELP/TYPE before " + line;
        return {};
      }
      samples[m[1].str() + m[2].str()] = std::stod(m[4].str());
    } else {
      *error = "malformed line: " + line;
      return {};
    }
  }
  return samples;
}

TEST(ClusterTest, MasterAndAgentsServeHealthStateAndPrometheusMetrics) {
  LocalCluster cluster({.agents = 2});
  ASSERT_TRUE(cluster.WaitForAgents(2));
  ASSERT_EQ(cluster.Cli({"run", "--instances", "3", "--", "true"}).exit_code, 0);
  std::string url;
  std::ifstream(cluster.dir() + "/master/http_endpoint") >> url;
  ASSERT_FALSE(url.empty());
  httplib::Client http(url);
  auto health = http.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");

  auto state = http.Get("/state");
  ASSERT_TRUE(state);
  auto json = nlohmann::json::parse(state->body);
  EXPECT_EQ(json["agents"].size(), 2u);
  EXPECT_EQ(json["tasks"].size(), 3u);
  EXPECT_EQ(json["stats"]["tasks_launched"], 3);

  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  std::string error;
  auto samples = ParsePrometheus(metrics->body, &error);
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_EQ(samples["agora_agents{state=\"active\"}"], 2);
  EXPECT_EQ(samples["agora_tasks_launched_total"], 3);
  EXPECT_EQ(samples["agora_capacity_cpus"], 8);
  EXPECT_GT(samples["agora_frames_received_total"], 0);
  EXPECT_GE(samples["agora_registry_commits_total"], 1);
  EXPECT_EQ(http.Get("/nope")->status, 404);

  // An agent serves the same endpoints about itself.
  TestFramework fw(cluster.master());
  fw.Launch(Command("watched", "sleep 300"), cluster.agent_hostname(1));
  ASSERT_TRUE(fw.WaitForState("watched", TaskState::kRunning, absl::Seconds(15)));
  std::string agent_url;
  std::ifstream(cluster.dir() + "/agent1/http_endpoint") >> agent_url;
  httplib::Client agent_http(agent_url);
  auto agent_state = agent_http.Get("/state");
  ASSERT_TRUE(agent_state);
  auto agent_json = nlohmann::json::parse(agent_state->body);
  EXPECT_EQ(agent_json["hostname"], cluster.agent_hostname(1));
  ASSERT_EQ(agent_json["tasks"].size(), 1u);
  EXPECT_EQ(agent_json["tasks"][0]["id"], "watched");
  auto agent_metrics = agent_http.Get("/metrics");
  ASSERT_TRUE(agent_metrics);
  auto agent_samples = ParsePrometheus(agent_metrics->body, &error);
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_EQ(agent_samples["agora_agent_tasks{state=\"running\"}"], 1);
  // One executor per framework that ran here (agora run's may still idle).
  EXPECT_GE(agent_samples["agora_agent_executors"], 1);
  EXPECT_EQ(agent_samples["agora_agent_executors"], agent_json["executors"].size());
  EXPECT_EQ(agent_samples["agora_agent_registered"], 1);
  EXPECT_GT(agent_samples["agora_agent_master_frames_received_total"], 0);
}

TEST(ClusterTest, CliAnswersUsageErrorsWithExitCodeTwo) {
  LocalCluster cluster({.agents = 0});
  EXPECT_EQ(cluster.Cli({"nonsense"}).exit_code, 2);
  EXPECT_EQ(cluster.Cli({"run", "--instances", "0", "--", "true"}).exit_code, 2);
  EXPECT_EQ(cluster.Cli({"run", "--name", "../x", "--", "true"}).exit_code, 2);
  EXPECT_EQ(cluster.Cli({"run"}).exit_code, 2);
  EXPECT_EQ(cluster.Cli({"agents", "--request_timeout", "soon"}).exit_code, 2);
  EXPECT_EQ(cluster.Cli({"task"}).exit_code, 2);
  EXPECT_EQ(cluster.Cli({"task", "kill"}).exit_code, 2);
}

TEST(ClusterTest, CliReportsAnUnreachableMaster) {
  LocalCluster cluster({.agents = 0});
  cluster.master_process().Signal(SIGKILL);
  cluster.master_process().Wait(absl::Seconds(5));
  // Nothing listens: said at once, with the reason, whatever the timeout.
  const absl::Time start = absl::Now();
  CliResult r = cluster.Cli({"agents", "--request_timeout", "30s"});
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("Connection refused (is agora-master running"), std::string::npos) << r.out;
  r = cluster.Cli({"status"});
  EXPECT_EQ(r.out.rfind("agora status: cannot reach the master", 0), 0u) << r.out;
  r = cluster.Cli({"logs", "some-task"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("cannot reach the master"), std::string::npos) << r.out;
  r = cluster.Cli({"run", "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("cannot reach the master"), std::string::npos) << r.out;
  r = RunShell(BinPath("agora") + " --master tcp://no-such-host.invalid:5050 agents 2>&1");
  EXPECT_NE(r.out.find("does not resolve"), std::string::npos) << r.out;
  r = RunShell(BinPath("agora") + " --master http://127.0.0.1:5051 agents 2>&1");
  EXPECT_NE(r.out.find("not its HTTP URL"), std::string::npos) << r.out;
}

TEST(ClusterTest, RolesShowWhatTheMasterWasGivenAndOperatorsChangeThem) {
  ClusterOptions options;
  options.agents = 1;
  for (const char* flag : {"--weights", "web=3,batch=1", "--quota", "web=cpus:1;mem:512"}) {
    options.master_flags.push_back(flag);
  }
  LocalCluster cluster(options);
  ASSERT_TRUE(cluster.WaitForAgents(1));
  CliResult listed = cluster.Cli({"roles", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.out;
  nlohmann::json roles = nlohmann::json::parse(listed.out);
  ASSERT_EQ(roles.size(), 2u) << roles;
  EXPECT_EQ(roles[0]["name"], "batch");
  EXPECT_TRUE(roles[0]["quota"].is_null());
  EXPECT_EQ(roles[1]["name"], "web");
  EXPECT_EQ(roles[1]["weight"], 3.0);
  EXPECT_EQ(roles[1]["quota"]["mem"], 512.0);
  EXPECT_TRUE(roles[1]["quota"]["disk"].is_null());
  CliResult table = cluster.Cli({"roles"});
  EXPECT_NE(table.out.find("WEIGHT"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("0/512"), std::string::npos) << table.out;  // mem used of its cap
  // An operator changes them at run time.
  CliResult set = cluster.Cli({"role", "set", "web", "--weight", "2", "--quota", "cpus:2"});
  ASSERT_EQ(set.exit_code, 0) << set.out;
  EXPECT_EQ(set.out, "role web: weight 2, quota cpus:2\n");
  set = cluster.Cli({"role", "set", "web", "--no_quota", "--json"});
  ASSERT_EQ(set.exit_code, 0) << set.out;
  EXPECT_TRUE(nlohmann::json::parse(set.out)["quota"].is_null()) << set.out;
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"role", "set", "web"},
        std::vector<std::string>{"role", "set", "web", "--quota", "cpus:1", "--no_quota"},
        std::vector<std::string>{"role", "set", "web", "--quota", "ports:[1-2]"},
        std::vector<std::string>{"role", "set", "web", "--weight", "-3"}}) {
    CliResult r = cluster.Cli(bad);
    EXPECT_EQ(r.exit_code, 2) << bad.back() << ": " << r.out;
  }
  // A role nobody uses is a typo until told otherwise.
  CliResult typo = cluster.Cli({"role", "set", "wbe", "--weight", "2"});
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_NE(typo.out.find("no role 'wbe' (no framework uses it, none was set); did you mean 'web'?"),
            std::string::npos) << typo.out;
  EXPECT_EQ(cluster.Cli({"role", "set", "analytics", "--weight", "2", "--create"}).exit_code, 0);
  EXPECT_EQ(cluster.Cli({"role", "show", "analytics", "--json"}).exit_code, 0);
  // Bad values stop the master before it starts, naming what is wrong.
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--weights", "web=-1"},
        std::vector<std::string>{"--quota", "web=cpus:many"}}) {
    std::vector<std::string> argv = {BinPath("agora-master"), "--work_dir",
                                     cluster.dir() + "/bad-master", "--http_port", "0"};
    argv.insert(argv.end(), bad.begin(), bad.end());
    int status = 0;
    const std::string log_path = cluster.dir() + "/bad-master" + bad[0] + ".log";
    Process master(argv, log_path);
    ASSERT_TRUE(master.Wait(absl::Seconds(10), &status));
    EXPECT_EQ(WEXITSTATUS(status), 2) << bad[1];
    std::ifstream log(log_path);
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("web"), std::string::npos) << text;
  }
}

TEST(ClusterTest, AgentRejectsBadResourcesAndAttributesBeforeTouchingTheDisk) {
  const std::string work_dir = "/tmp/agora-never-created-by-a-bad-flag";
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--resources", "cpus:lots"},
        std::vector<std::string>{"--attributes", "zone"}}) {
    std::vector<std::string> argv = {BinPath("agora-agent"), "--master", "tcp://127.0.0.1:1",
                                     "--work_dir", work_dir};
    argv.insert(argv.end(), bad.begin(), bad.end());
    int status = 0;
    Process agent(argv, "/dev/null");
    ASSERT_TRUE(agent.Wait(absl::Seconds(10), &status));
    EXPECT_EQ(WEXITSTATUS(status), 2) << bad[0];
  }
  EXPECT_FALSE(std::filesystem::exists(work_dir));
}

TEST(ClusterTest, WatchPrintsAListingAgainUntilItsCount) {
  LocalCluster cluster({.agents = 1});
  ASSERT_TRUE(cluster.WaitForAgents(1));
  const absl::Time start = absl::Now();
  CliResult r = cluster.Cli({"agents", "--watch", "--interval", "300ms", "--count", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(600));  // two waits between three prints
  size_t tables = 0;
  for (size_t at = r.out.find("HOSTNAME"); at != std::string::npos; at = r.out.find("HOSTNAME", at + 1)) ++tables;
  EXPECT_EQ(tables, 3u) << r.out;
  EXPECT_NE(r.out.find("every 300ms: agora agents"), std::string::npos) << r.out;
  CliResult bad = cluster.Cli({"status", "--watch", "--count", "-1"});
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
}

TEST(ClusterTest, CompletionFollowsTheCommandTree) {
  LocalCluster cluster({.agents = 1});
  CliResult script = cluster.Cli({"completion", "bash"});
  ASSERT_EQ(script.exit_code, 0) << script.out;
  EXPECT_NE(script.out.find("complete -o default -F _agora agora"), std::string::npos) << script.out;
  EXPECT_EQ(cluster.Cli({"__complete", "se"}).out, "service\n");
  CliResult service = cluster.Cli({"__complete", "service", ""});
  for (const char* verb : {"deploy", "endpoints", "rollback"}) EXPECT_NE(service.out.find(verb), std::string::npos);
  EXPECT_EQ(cluster.Cli({"__complete", "agent", "drain", "--dead"}).out, "--deadline\n");
  // Ids and names from the live cluster.
  ASSERT_TRUE(cluster.WaitForAgents(1));
  const std::string agent_id = cluster.Query("agents")[0]["id"];
  EXPECT_EQ(cluster.Cli({"__complete", "agent", "drain", ""}).out,
            absl::StrCat(agent_id, "\n", cluster.agent_hostname(0), "\n"));
  EXPECT_EQ(cluster.Cli({"__complete", "agent", "show", cluster.agent_hostname(0).substr(0, 3)}).out,
            cluster.agent_hostname(0) + "\n");
  for (const char* shell : {"zsh", "fish"}) {
    CliResult other = cluster.Cli({"completion", shell});
    EXPECT_EQ(other.exit_code, 0) << shell;
    EXPECT_NE(other.out.find("agora __complete"), std::string::npos) << other.out;
  }
  EXPECT_EQ(cluster.Cli({"completion", "tcsh"}).exit_code, 2);
}

// One grammar: NOUN VERB (the plural nouns list, as shortcuts), `show` for
// every noun, -o json|yaml|wide, errors as JSON under JSON, and a mistyped
// command answered with the one that was likely meant.
TEST(ClusterTest, TheCliSpeaksOneGrammar) {
  LocalCluster cluster({.agents = 1});
  ASSERT_TRUE(cluster.WaitForAgents(1));
  const std::string host = cluster.agent_hostname(0);
  EXPECT_EQ(cluster.Cli({"agent", "list", "--json"}).out, cluster.Cli({"agents", "--json"}).out);
  const nlohmann::json shown = nlohmann::json::parse(cluster.Cli({"agent", "show", host, "-o", "json"}).out);
  EXPECT_EQ(shown["hostname"], host);
  CliResult yaml = cluster.Cli({"agent", "show", shown["id"], "-o", "yaml"});
  EXPECT_EQ(yaml.exit_code, 0);
  EXPECT_NE(yaml.out.find(absl::StrCat("hostname: \"", host, "\"")), std::string::npos) << yaml.out;
  CliResult missing = cluster.Cli({"task", "show", "no-such-task", "--json"});
  EXPECT_EQ(missing.exit_code, 1);
  const nlohmann::json error = nlohmann::json::parse(missing.out, nullptr, false);
  EXPECT_EQ(error["error"]["command"], "agora task show") << missing.out;
  EXPECT_NE(error["error"]["message"].get<std::string>().find("no task 'no-such-task'"), std::string::npos);
  CliResult bogus = cluster.Cli({"tasks", "--state", "bogus"});
  EXPECT_EQ(bogus.exit_code, 2);
  EXPECT_NE(bogus.out.find("bogus not in {staging,"), std::string::npos) << bogus.out;
  CliResult typo = cluster.Cli({"agnets"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.out.find("'agnets' is not a command; did you mean 'agents'?"), std::string::npos) << typo.out;
  CliResult verb = cluster.Cli({"job", "lsit"});
  EXPECT_NE(verb.out.find("did you mean 'list'?"), std::string::npos) << verb.out;
  // Usage errors too are JSON when JSON is asked for, wherever the flag is.
  for (const auto& args : {std::vector<std::string>{"-o", "json", "agnets"},
                           std::vector<std::string>{"agents", "--bogus", "--output=json"}}) {
    CliResult usage = cluster.Cli(args);
    EXPECT_EQ(usage.exit_code, 2);
    const nlohmann::json usage_error = nlohmann::json::parse(usage.out, nullptr, false);
    EXPECT_EQ(usage_error["error"]["command"], "agora") << usage.out;
  }
  EXPECT_EQ(cluster.Cli({"role", "list"}).exit_code, 0);
  EXPECT_EQ(cluster.Cli({"framework", "list", "-o", "wide"}).exit_code, 0);
  EXPECT_EQ(cluster.Cli({"offer", "list", "--request-timeout", "2s"}).exit_code, 0);
}

TEST(ClusterTest, DaemonsReadAConfigFileAndLogJsonLinesInTheirWorkDir) {
  LocalCluster cluster({.agents = 0});  // for its directory
  const std::string dir = cluster.dir() + "/configured";
  std::filesystem::create_directories(dir);
  const int port = FreeMasterPort();
  std::ofstream(dir + "/master.conf") << "# keys are flag names\nlisten = \"tcp://127.0.0.1:" << port
                                      << "\"\nhttp_port = 0\nwork_dir = \"" << dir << "/master\"\nlog_json = true\n";
  Process master({BinPath("agora-master"), "--config", dir + "/master.conf"}, dir + "/stderr.log");
  const std::string log = dir + "/master/agora-master.log";
  std::vector<nlohmann::json> lines;
  ASSERT_TRUE(WaitFor(
      [&] {
        lines.clear();
        std::ifstream in(log);
        for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line, nullptr, false));
        for (const auto& line : lines) {
          if (line.value("message", "").find("listening on tcp://127.0.0.1:" + std::to_string(port)) !=
              std::string::npos) {
            return true;
          }
        }
        return false;
      },
      absl::Seconds(10)))
      << log;
  for (const auto& line : lines) {
    for (const char* key : {"time", "level", "component", "message"}) EXPECT_TRUE(line.contains(key)) << line;
  }
  // logrotate moves the file and sends SIGHUP: the master writes on in a new one.
  std::filesystem::rename(log, log + ".1");
  master.Signal(SIGHUP);
  EXPECT_TRUE(WaitFor([&] { return FileText(log).find("log file reopened") != std::string::npos; },
                      absl::Seconds(10)))
      << FileText(dir + "/stderr.log");
  EXPECT_FALSE(master.Wait(absl::ZeroDuration()));  // SIGHUP did not end it
  // An unknown key is a usage error naming it.
  std::ofstream(dir + "/bad.conf") << "work_dri = \"/tmp\"\n";
  Process bad({BinPath("agora-master"), "--config", dir + "/bad.conf"}, dir + "/bad.log");
  int status = 0;
  ASSERT_TRUE(bad.Wait(absl::Seconds(10), &status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  std::ifstream in(dir + "/bad.log");
  const std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(said.find("work_dri"), std::string::npos) << said;
}

// systemd gives a daemon's stderr to the journal and says so in
// JOURNAL_STREAM: lines then carry the journal's priority, and no file of
// the daemon's own holds them a second time.
TEST(ClusterTest, UnderTheJournalADaemonWritesPrefixedLinesAndNoFileOfItsOwn) {
  LocalCluster cluster({.agents = 0});  // for its directory
  const std::string dir = cluster.dir() + "/journaled";
  std::filesystem::create_directories(dir);
  const std::string journal = dir + "/journal";
  std::ofstream(journal).flush();
  struct stat st;
  ASSERT_EQ(::stat(journal.c_str(), &st), 0);
  ::setenv("JOURNAL_STREAM", absl::StrCat(st.st_dev, ":", st.st_ino).c_str(), 1);
  Process master({BinPath("agora-master"), "--listen", absl::StrCat("tcp://127.0.0.1:", FreeMasterPort()),
                  "--http_port", "0", "--work_dir", dir + "/master"},
                 journal);
  ::unsetenv("JOURNAL_STREAM");
  EXPECT_TRUE(WaitFor([&] { return FileText(journal).find("<6>master: listening on") != std::string::npos; },
                      absl::Seconds(10)))
      << FileText(journal);
  std::istringstream lines(FileText(journal));
  for (std::string line; std::getline(lines, line);) {
    EXPECT_EQ(line.rfind("<", 0), 0u) << line;  // a priority, and no time of its own: the journal stamps
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/master/agora-master.log"));
}

TEST(ClusterTest, AgentsJsonHasThePromisedShape) {
  LocalCluster cluster({.agents = 2});
  ASSERT_TRUE(cluster.WaitForAgents(2));
  for (const auto& a : cluster.Query("agents")) {
    for (const char* key : {"id", "hostname", "state", "resources", "used", "attributes"}) {
      EXPECT_TRUE(a.contains(key)) << key;
    }
    for (const char* key : {"cpus", "mem", "disk"}) {
      EXPECT_TRUE(a["resources"].contains(key));
      EXPECT_TRUE(a["used"].contains(key));
    }
    EXPECT_TRUE(a["attributes"].is_object());
    EXPECT_TRUE(a["attributes"].contains("zone"));
  }
  TestFramework fw(cluster.master());
  fw.Launch(Command("shape", "sleep 300"));
  ASSERT_TRUE(fw.WaitForState("shape", TaskState::kRunning, absl::Seconds(15)));
  auto frameworks = cluster.Query("frameworks");
  ASSERT_EQ(frameworks.size(), 1u);
  for (const char* key : {"id", "name", "role", "state", "active_tasks"}) {
    EXPECT_TRUE(frameworks[0].contains(key)) << key;
  }
  EXPECT_EQ(frameworks[0]["active_tasks"], 1);
  auto tasks = cluster.Query("tasks");
  ASSERT_EQ(tasks.size(), 1u);
  for (const char* key : {"id", "name", "framework_id", "agent_id", "state", "resources"}) {
    EXPECT_TRUE(tasks[0].contains(key)) << key;
  }
  EXPECT_EQ(tasks[0]["state"], "running");
}

}  // namespace
}  // namespace agora::testing

namespace agora::testing {
namespace {

// One directory per task: a task id used again after its task ended gets a
// fresh sandbox, the earlier run moves aside, and logs show the latest run.
TEST(ClusterTest, ATaskIdUsedAgainGetsAFreshSandboxAndTheEarlierRunIsKept) {
  LocalCluster cluster({.agents = 1});
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  fw.Launch(Command("again", "echo first"));
  ASSERT_TRUE(fw.WaitForState("again", TaskState::kFinished, absl::Seconds(15)));
  // The agent forgets an ended task once its update was acknowledged.
  std::string endpoint;
  std::ifstream(cluster.dir() + "/agent0/http_endpoint") >> endpoint;
  httplib::Client agent(endpoint);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = agent.Get("/state");
        return r && r->status == 200 && nlohmann::json::parse(r->body)["tasks"].empty();
      },
      absl::Seconds(10)));
  fw.Launch(Command("again", "echo second"));
  ASSERT_TRUE(WaitFor([&] { return fw.Updates("again").size() >= 4; }, absl::Seconds(15))) << [&] {
    std::string seen;
    for (const TaskStatus& s : fw.Updates("again")) seen += std::string(TaskStateName(s.state)) + ": " + s.message + "\n";
    return seen;
  }();
  ASSERT_TRUE(WaitFor([&] { return fw.Updates("again").back().state == TaskState::kFinished; },
                      absl::Seconds(15)));
  CliResult logs = cluster.Cli({"logs", "again", "--framework", fw.framework_id()});
  EXPECT_EQ(logs.exit_code, 0) << logs.out;
  EXPECT_EQ(logs.out, "second\n");
  int earlier = 0;
  const auto tasks = std::filesystem::path(cluster.dir()) / "agent0/frameworks" / fw.framework_id() / "tasks";
  for (const auto& e : std::filesystem::directory_iterator(tasks)) {
    if (e.path().filename().string().rfind("again.r-", 0) != 0) continue;
    ++earlier;
    std::ifstream in(e.path() / "stdout");
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "first");
  }
  EXPECT_EQ(earlier, 1);
}

}  // namespace
}  // namespace agora::testing
