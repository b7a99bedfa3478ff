// `agora dev up|status|down` on the real binaries: a cluster comes up ready,
// does work, and goes down leaving no process behind.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <httplib.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/integration/cluster.h"
#include "common/proc_file.h"

namespace agora::testing {
namespace {

using nlohmann::json;

// Processes naming `text` on their command line or running in it.
std::vector<std::string> ProcessesOf(const std::string& text) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string cmdline = ReadProcFile((entry.path() / "cmdline").string());
    std::error_code ec;
    const std::string cwd = std::filesystem::read_symlink(entry.path() / "cwd", ec).string();
    if (cmdline.find(text) != std::string::npos || (!ec && cwd.rfind(text, 0) == 0)) {
      for (char& c : cmdline) c = c == '\0' ? ' ' : c;
      found.push_back(entry.path().filename().string() + ": " + cmdline);
    }
  }
  return found;
}

// Whether something accepts connections on 127.0.0.1:`port`.
bool Listening(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool listening = ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
  ::close(fd);
  return listening;
}

TEST(DevTest, UpRunsWorkAndDownLeavesNothingBehind) {
  // Whatever happens below, nothing it started outlives the test.
  const DevClusterDir cluster_dir("dev-test");
  const std::string& dir = cluster_dir.path();
  const std::string flags = cluster_dir.flags();
  // As `mktemp -d` makes it (0700): the agents' tasks, running as nobody,
  // must still reach their sandboxes inside (the web tier serves its own).
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace);
  CliResult up = AgoraCli(absl::StrCat("dev up ", flags, " --agents 3 --port ", FreeMasterPort(), " --json"));
  ASSERT_EQ(up.exit_code, 0) << up.out;
  json where = json::parse(up.out, nullptr, false);
  ASSERT_TRUE(where.is_object()) << up.out;
  EXPECT_EQ(where["dir"], dir);
  EXPECT_EQ(where["master"].get<std::string>().rfind("tcp://127.0.0.1:", 0), 0u);
  EXPECT_EQ(where["master_http"].get<std::string>().rfind("http://", 0), 0u);
  const std::string master = absl::StrCat("--master ", where["master"].get<std::string>());

  // Ready means ready: agents active and agora-batch subscribed, right away.
  json agents = json::parse(AgoraCli(absl::StrCat(master, " agents --json")).out, nullptr, false);
  ASSERT_EQ(agents.size(), 3u);
  std::set<std::string> hosts;
  for (const json& a : agents) {
    EXPECT_EQ(a["state"], "active");
    hosts.insert(a["hostname"]);
  }
  EXPECT_EQ(hosts, (std::set<std::string>{"dev-agent-0", "dev-agent-1", "dev-agent-2"}));
  CliResult job = AgoraCli(absl::StrCat(master, " job submit ", AGORA_SOURCE_DIR,
                                     "/examples/batch/etl.yaml --wait"));
  EXPECT_EQ(job.exit_code, 0) << job.out;
  CliResult services = AgoraCli(absl::StrCat(master, " service deploy ", AGORA_SOURCE_DIR,
                                          "/examples/services/web.yaml --wait"));
  EXPECT_EQ(services.exit_code, 0) << services.out;

  // Drain the agent running a long batch job (and maybe a web instance): the
  // job moves (it could never finish by the deadline), web stays whole on the
  // other agents, and the agent ends drained.
  const std::string long_job = dir + "/long.yaml";
  std::ofstream(long_job) << "name: long\ncommand: exec sleep 300\nestimated_duration: 1h\n";
  const std::string run = json::parse(AgoraCli(absl::StrCat(master, " job submit ", long_job, " --json")).out,
                                      nullptr, false).value("run_id", "");
  auto long_run = [&] { return json::parse(AgoraCli(absl::StrCat(master, " job show ", run, ".long --json")).out, nullptr, false); };
  ASSERT_TRUE(WaitFor([&] { return long_run().value("state", "") == "running"; }, absl::Seconds(20)));
  const std::string drained = long_run()["agent_id"];
  CliResult drain = AgoraCli(absl::StrCat(master, " agent drain ", drained, " --deadline 30s --wait"));
  ASSERT_EQ(drain.exit_code, 0) << drain.out;
  EXPECT_TRUE(WaitFor([&] { return long_run().value("state", "") == "running" && long_run()["agent_id"] != drained; },
                      absl::Seconds(20)))
      << long_run().dump();
  EXPECT_EQ(long_run()["attempts"], 2);
  json web;
  EXPECT_TRUE(WaitFor(
      [&] {
        web = json::parse(AgoraCli(absl::StrCat(master, " service show web --json")).out, nullptr, false);
        return web.value("healthy", 0) == 2 && web.value("state", "") == "running";
      },
      absl::Seconds(30)))
      << web.dump();
  for (const json& i : web["instances"]) EXPECT_NE(i["agent_id"], drained) << i.dump();

  // A second `up` on the same folder refuses.
  CliResult again = AgoraCli(absl::StrCat("dev up ", flags));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.out.find("already running"), std::string::npos) << again.out;

  CliResult status = AgoraCli(absl::StrCat("dev status ", flags, " --json"));
  ASSERT_EQ(status.exit_code, 0) << status.out;
  json processes = json::parse(status.out, nullptr, false)["processes"];
  ASSERT_EQ(processes.size(), 6u);  // master, 3 agents, agora-batch, agora-services
  for (const json& p : processes) EXPECT_TRUE(p["running"].get<bool>()) << p.dump();

  CliResult down = AgoraCli(absl::StrCat("dev down ", flags));
  EXPECT_EQ(down.exit_code, 0) << down.out;
  for (const json& p : processes) {
    EXPECT_NE(::kill(p["pid"].get<pid_t>(), 0), 0) << p["name"] << " still running";
  }
  // Nor anything they started: executors, tasks, the services' HAProxy (every
  // one of them names the folder on its command line or runs in it).
  const std::vector<std::string> left = ProcessesOf(dir);
  EXPECT_TRUE(left.empty()) << absl::StrJoin(left, "\n");
  EXPECT_EQ(AgoraCli(absl::StrCat("dev status ", flags)).exit_code, 1);
}

// Ctrl-C while `dev up` waits for its cluster: what it had started is
// recorded, and `dev down` stops it all.
TEST(DevTest, AnInterruptedUpLeavesWhatDownStops) {
  const DevClusterDir cluster_dir("dev-interrupted");
  const std::string& dir = cluster_dir.path();
  std::filesystem::create_directories(dir);
  Process up({BinPath("agora"), "dev", "up", "--dir", dir, "--agents", "2", "--port",
              std::to_string(FreeMasterPort())},
             dir + "/up.log");
  // Interrupted once some daemons run.
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(dir + "/cluster.json"); }, absl::Seconds(10)));
  up.Signal(SIGINT);
  int status = 0;
  ASSERT_TRUE(up.Wait(absl::Seconds(2), &status));
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) << status;
  const json cluster = json::parse(std::ifstream(dir + "/cluster.json"), nullptr, false);
  ASSERT_TRUE(cluster.is_object());
  ASSERT_GE(cluster["processes"].size(), 1u);
  CliResult down = AgoraCli("dev down --dir " + dir);
  EXPECT_EQ(down.exit_code, 0) << down.out;
  for (const json& p : cluster["processes"]) {
    const pid_t pid = p["pid"].get<pid_t>();
    EXPECT_TRUE(WaitFor([&] { return ::kill(pid, 0) != 0; }, absl::Seconds(5))) << p.dump();
  }
}

// `dev up --masters 3`: ZooKeeper and three masters; killing the leader
// with `dev kill` moves the cluster to another, which keeps doing work, and
// `dev start` brings the killed one back as a standby.
TEST(DevTest, ThreeMastersCarryOnWhenTheLeaderIsKilled) {
  const DevClusterDir cluster_dir("dev-ha");
  const std::string& dir = cluster_dir.path();
  const std::string flags = cluster_dir.flags();
  CliResult up = AgoraCli(absl::StrCat("dev up ", flags, " --masters 3 --agents 2 --port ", FreeMasterPort(), " --json"));
  ASSERT_EQ(up.exit_code, 0) << up.out;
  const json where = json::parse(up.out, nullptr, false);
  ASSERT_EQ(where["master"].get<std::string>().rfind("zk://127.0.0.1:", 0), 0u) << up.out;
  const std::string master = absl::StrCat("--master ", where["master"].get<std::string>());
  auto leader = [&] {
    json status = json::parse(AgoraCli(absl::StrCat(master, " status --json")).out, nullptr, false);
    if (!status.is_object() || !status.contains("master")) return std::string();
    for (int i = 0; i < 3; ++i) {
      if (FirstLine(absl::StrCat(dir, "/master-", i, "/http_endpoint")) == status["master"].value("http", "")) {
        return absl::StrCat("master-", i);
      }
    }
    return std::string();
  };
  const std::string first = leader();
  ASSERT_FALSE(first.empty());
  CliResult kill = AgoraCli(absl::StrCat("dev kill ", first, " ", flags));
  ASSERT_EQ(kill.exit_code, 0) << kill.out;
  std::string second;
  ASSERT_TRUE(WaitFor([&] { return !(second = leader()).empty() && second != first; }, absl::Seconds(15)));
  CliResult job = AgoraCli(absl::StrCat(master, " job submit ", AGORA_SOURCE_DIR, "/examples/batch/etl.yaml --wait"));
  EXPECT_EQ(job.exit_code, 0) << job.out;
  EXPECT_EQ(AgoraCli(absl::StrCat("dev start ", first, " ", flags)).exit_code, 0);
  CliResult status = AgoraCli(absl::StrCat("dev status ", flags, " --json"));
  EXPECT_EQ(status.exit_code, 0) << status.out;  // every process runs again
  EXPECT_EQ(json::parse(status.out, nullptr, false)["processes"].size(), 8u) << status.out;
  EXPECT_EQ(leader(), second);  // the one back is a standby
}

// Two dev clusters on one machine: their agents offer ports of their own; a
// load balancer port the other cluster's HAProxy holds is an error reported,
// not a port shared; a daemon restarted by hand is shown and stopped like
// the rest, and `dev restart` restarts one.
TEST(DevTest, TwoClustersSideBySideShareNoPortsAndEachKnowsItsOwnProcesses) {
  const std::string base = std::filesystem::temp_directory_path() / absl::StrCat("agora-dev-two-", ::getpid());
  const std::string dirs[2] = {base + "-a", base + "-b"};
  struct Cleanup {
    const std::string* dirs;
    ~Cleanup() {
      for (int i = 0; i < 2; ++i) {
        AgoraCli(absl::StrCat("dev down --dir ", dirs[i]));
        std::filesystem::remove_all(dirs[i]);
      }
    }
  } cleanup{dirs};
  std::string masters[2];
  std::string ports[2];
  for (int i = 0; i < 2; ++i) {
    CliResult up = AgoraCli(absl::StrCat("dev up --dir ", dirs[i], " --agents 1 --port ", FreeMasterPort(), " --json"));
    ASSERT_EQ(up.exit_code, 0) << up.out;
    masters[i] = absl::StrCat("--master ", json::parse(up.out, nullptr, false)["master"].get<std::string>());
    json agents = json::parse(AgoraCli(absl::StrCat(masters[i], " agents --json")).out, nullptr, false);
    ASSERT_EQ(agents.size(), 1u);
    ports[i] = agents[0]["resources"]["ports"].dump();
  }
  EXPECT_NE(ports[0], ports[1]);

  if (std::filesystem::exists("/usr/sbin/haproxy")) {
    // A load balancer port chosen at deploy time: each cluster's from its
    // own range, and both serve.
    const std::string front = base + "-front.yaml";
    std::ofstream(front) << "services:\n  - {name: front, command: 'exec sleep 3600', ports: [http],\n"
                         << "     resources: {cpus: 0.1, mem: 16}, load_balancer: {policy: roundrobin}}\n";
    int chosen[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
      CliResult deployed = AgoraCli(absl::StrCat(masters[i], " service deploy ", front));
      ASSERT_EQ(deployed.exit_code, 0) << deployed.out;
      const json shown = json::parse(AgoraCli(absl::StrCat(masters[i], " service show front --json")).out, nullptr, false);
      ASSERT_TRUE(shown["load_balancer"].is_object()) << shown.dump();
      EXPECT_TRUE(shown["load_balancer"]["chosen"].get<bool>());
      chosen[i] = shown["load_balancer"]["port"];
      EXPECT_TRUE(WaitFor([&] { return Listening(chosen[i]); }, absl::Seconds(20)))
          << "nothing listens on cluster " << i << "'s load balancer port " << chosen[i];
    }
    EXPECT_NE(chosen[0], chosen[1]);
    std::filesystem::remove(front);

    const int port = FreePort();
    const std::string spec = base + "-edge.yaml";
    std::ofstream(spec) << "services:\n  - {name: edge, command: 'exec sleep 3600', ports: [http],\n"
                        << "     resources: {cpus: 0.1, mem: 16}, load_balancer: {port: " << port << "}}\n";
    auto lb_state = [&](int i) {
      httplib::Client http(FirstLine(dirs[i] + "/agora-services/endpoint"));
      auto res = http.Get("/state");
      return res ? json::parse(res->body, nullptr, false)["load_balancer"] : json();
    };
    for (int i = 0; i < 2; ++i) {
      CliResult deployed = AgoraCli(absl::StrCat(masters[i], " service deploy ", spec));
      ASSERT_EQ(deployed.exit_code, 0) << deployed.out;
      if (i == 0) ASSERT_TRUE(WaitFor([&] { return Listening(port); }, absl::Seconds(20))) << lb_state(0);
    }
    EXPECT_TRUE(WaitFor([&] { return lb_state(1).value("last_error", "").find(std::to_string(port)) != std::string::npos; },
                        absl::Seconds(20)))
        << lb_state(1);
    // The same on a reload of a running HAProxy: a port this test holds.
    const int held_port = FreePort();
    const int held = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(held_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(held, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(held, 1), 0);
    std::ofstream(spec) << "services:\n  - {name: edge2, command: 'exec sleep 3600', ports: [http],\n"
                        << "     resources: {cpus: 0.1, mem: 16}, load_balancer: {port: " << held_port << "}}\n";
    CliResult second = AgoraCli(absl::StrCat(masters[0], " service deploy ", spec));
    ASSERT_EQ(second.exit_code, 0) << second.out;
    EXPECT_TRUE(WaitFor([&] { return lb_state(0).value("last_error", "").find(std::to_string(held_port)) != std::string::npos; },
                        absl::Seconds(20)))
        << lb_state(0);
    ::close(held);
    std::filesystem::remove(spec);
  }

  // agora-batch of the second cluster killed, and started again by hand
  // (out of `agora dev`'s sight, in a session of its own).
  std::ifstream in(dirs[1] + "/cluster.json");
  const json recorded = json::parse(in, nullptr, false);
  json batch;
  for (const json& p : recorded["processes"]) {
    if (p["name"] == "agora-batch") batch = p;
  }
  ASSERT_TRUE(batch.is_object()) << recorded.dump();
  const pid_t old_pid = batch["pid"];
  ::kill(old_pid, SIGKILL);
  ASSERT_TRUE(WaitFor([&] { return ::kill(old_pid, 0) != 0; }, absl::Seconds(10)));
  std::string command = "setsid";
  for (const std::string& arg : batch["argv"].get<std::vector<std::string>>()) absl::StrAppend(&command, " '", arg, "'");
  ASSERT_EQ(RunShell(absl::StrCat(command, " >>", dirs[1], "/by-hand.log 2>&1 </dev/null &")).exit_code, 0);
  auto batch_status = [&] {
    json status = json::parse(AgoraCli(absl::StrCat("dev status --dir ", dirs[1], " --json")).out, nullptr, false);
    for (const json& p : status["processes"]) {
      if (p["name"] == "agora-batch") return p;
    }
    return json();
  };
  json seen;
  ASSERT_TRUE(WaitFor([&] { return (seen = batch_status()).value("running", false); }, absl::Seconds(10))) << seen;
  EXPECT_NE(seen["pid"], old_pid);
  const pid_t by_hand = seen["pid"];
  CliResult restarted = AgoraCli(absl::StrCat("dev restart batch --dir ", dirs[1]));
  ASSERT_EQ(restarted.exit_code, 0) << restarted.out;
  seen = batch_status();
  EXPECT_TRUE(seen.value("running", false)) << seen;
  EXPECT_NE(seen["pid"], by_hand);

  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(AgoraCli(absl::StrCat("dev down --dir ", dirs[i])).exit_code, 0);
    std::vector<std::string> left;
    WaitFor([&] { return (left = ProcessesOf(dirs[i])).empty(); }, absl::Seconds(10));
    EXPECT_TRUE(left.empty()) << absl::StrJoin(left, "\n");
  }
}

}  // namespace
}  // namespace agora::testing
