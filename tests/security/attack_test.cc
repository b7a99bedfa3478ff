// The attack suite (ctest -L security): each test performs, for real against
// the real binaries, an attack a task or a network client could try, and
// asserts that it fails and that nothing is lost. docs/security.md lists them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/proc_file.h"
#include "tests/integration/cluster.h"
#include "tests/integration/test_framework.h"

namespace agora::testing {
namespace {
namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Clusters of this suite live outside /tmp, so that tasks get a /tmp of their own.
// The resident memory of process `pid` in KiB (VmRSS), or -1.
int64_t RssKib(pid_t pid) {
  const std::string status = ReadProcFile(absl::StrCat("/proc/", pid, "/status"));
  const size_t at = status.find("VmRSS:");
  int64_t kib = -1;
  if (at == std::string::npos ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(status.substr(at + 6, status.find("kB", at) - at - 6)), &kib)) {
    return -1;
  }
  return kib;
}

ClusterOptions Isolated(int agents = 1) {
  ClusterOptions o;
  o.agents = agents;
  o.base_dir = "/var/lib";
  return o;
}

class AttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "isolation needs root";
  }
  std::string Sandbox(LocalCluster& c, TestFramework& fw, const std::string& task, int agent = 0) {
    return absl::StrCat(c.dir(), "/agent", agent, "/frameworks/", fw.framework_id(), "/tasks/", task);
  }
  // GET /v1/files on agent `agent`: {status, body}.
  std::pair<int, std::string> Files(LocalCluster& c, const std::string& framework,
                                    const std::string& task, int agent = 0) {
    httplib::Client http(FirstLine(absl::StrCat(c.dir(), "/agent", agent, "/http_endpoint")));
    http.set_read_timeout(5, 0);
    auto r = http.Get(absl::StrCat("/v1/files?framework=", framework, "&task=", task,
                                   "&file=stdout&offset=0&length=65536"));
    if (!r) return {-1, ""};
    return {r->status, r->body};
  }
  // Runs a task that replaces its own stdout by `replace` (a shell command run
  // in its sandbox) and stays; returns once the replacement is in place.
  void ReplaceStdout(LocalCluster& c, TestFramework& fw, const std::string& id,
                     const std::string& replace) {
    fw.Launch(Command(id, "cd $AGORA_SANDBOX && rm -f stdout && " + replace +
                              " && touch planted && exec sleep 60"));
    ASSERT_TRUE(fw.WaitForState(id, TaskState::kRunning, absl::Seconds(15)));
    ASSERT_TRUE(WaitFor([&] { return fs::exists(Sandbox(c, fw, id) + "/planted"); }, absl::Seconds(5)));
  }
  bool AgentAnswers(LocalCluster& c, int agent = 0) {
    httplib::Client http(FirstLine(absl::StrCat(c.dir(), "/agent", agent, "/http_endpoint")));
    http.set_read_timeout(1, 0);
    auto r = http.Get("/state");
    return r && r->status == 200;
  }
};

// A task replaces its stdout with a symlink to a root-only file: the agent
// serves nothing of it, to anyone.
TEST_F(AttackTest, ASymlinkedStdoutServesNothingOfItsTarget) {
  LocalCluster cluster(Isolated());
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  ReplaceStdout(cluster, fw, "link", "ln -s /etc/shadow stdout");
  auto [status, body] = Files(cluster, fw.framework_id(), "link");
  EXPECT_EQ(status, 403) << body;
  EXPECT_EQ(body.find("root:"), std::string::npos) << body;
  EXPECT_NE(body.find("symlink"), std::string::npos) << body;
  CliResult logs = cluster.Cli({"logs", "link"});
  EXPECT_EQ(logs.out.find("root:"), std::string::npos) << logs.out;
}

// A task makes its stdout a FIFO: reading its logs neither hangs the agent
// nor the reader, and the agent stays registered.
TEST_F(AttackTest, AFifoStdoutNeitherHangsTheAgentNorItsReaders) {
  LocalCluster cluster(Isolated());
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  ReplaceStdout(cluster, fw, "fifo", "mkfifo stdout");
  const auto start = absl::Now();
  for (int i = 0; i < 3; ++i) {
    auto [status, body] = Files(cluster, fw.framework_id(), "fifo");
    EXPECT_EQ(status, 403) << body;
    EXPECT_NE(body.find("not a regular file"), std::string::npos) << body;
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_TRUE(AgentAnswers(cluster));
  EXPECT_EQ(cluster.Query("agents")[0]["state"], "active");
}

// Two frameworks: the second's task cannot see, signal or read the first's.
TEST_F(AttackTest, TasksOfTwoFrameworksCannotSeeSignalOrReadEachOther) {
  LocalCluster cluster(Isolated());
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework victim(cluster.master());
  TaskSpec secret = Command("victim", "readlink /proc/self/ns/pid > $AGORA_SANDBOX/ns; "
                                      "echo secret-output; exec sleep 60");
  secret.env = {{"SECRET", "hunter2"}};
  victim.Launch(secret);
  ASSERT_TRUE(victim.WaitForState("victim", TaskState::kRunning, absl::Seconds(15)));
  const std::string victim_sandbox = Sandbox(cluster, victim, "victim");
  std::string victim_ns;
  ASSERT_TRUE(WaitFor([&] { return !(victim_ns = FirstLine(victim_sandbox + "/ns")).empty(); },
                      absl::Seconds(5)));

  TestFramework attacker(cluster.master());
  const std::string agent_dir = cluster.dir() + "/agent0";
  attacker.Launch(Command(
      "attacker",
      absl::StrCat("echo processes=$(ls /proc | grep -c '^[0-9]'); "
                   "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c hunter2; "
                   "kill -9 -1; "
                   "cat ", victim_sandbox, "/stdout && echo read-victim; "
                   // The agent's and master's state: the journal holds every task's environment.
                   "cat ", agent_dir, "/meta/journal ", agent_dir, "/agora-agent.log ", cluster.dir(),
                   "/master/registry.sqlite ", cluster.dir(), "/master/agora-master.log; "
                   "ls ", agent_dir, " && echo listed-work-dir; "
                   "echo fds=$(ls /proc/self/fd | wc -l); "
                   "ls /dev/shm /tmp; ipcs -m 2>/dev/null | grep -c 0x; true")));
  auto done = attacker.WaitForState("attacker", TaskState::kFinished, absl::Seconds(15));
  ASSERT_TRUE(done);
  const std::string out = ReadAll(Sandbox(cluster, attacker, "attacker") + "/stdout");
  int processes = 0;
  ASSERT_TRUE(absl::SimpleAtoi(out.substr(out.find('=') + 1, out.find('\n') - out.find('=') - 1), &processes))
      << out;
  EXPECT_LE(processes, 6) << out;  // init, sh and what it runs: nothing of the victim's
  EXPECT_EQ(out.find("hunter2"), std::string::npos) << out;
  EXPECT_EQ(out.find("read-victim"), std::string::npos) << out;
  EXPECT_EQ(out.find("secret-output"), std::string::npos) << out;
  EXPECT_EQ(out.find("listed-work-dir"), std::string::npos) << out;
  // stdin, stdout, stderr and ls's own: nothing the agent or executor held.
  EXPECT_NE(out.find("fds=4\n"), std::string::npos) << out;
  // The victim lives on (the attacker's `kill -9 -1` is over), under another uid.
  EXPECT_EQ(PidsInNamespace(victim_ns, "sleep").size(), 1u);
  struct stat a {}, b {};
  ASSERT_EQ(::stat(victim_sandbox.c_str(), &a), 0);
  ASSERT_EQ(::stat(Sandbox(cluster, attacker, "attacker").c_str(), &b), 0);
  EXPECT_NE(a.st_uid, b.st_uid);
  EXPECT_EQ(a.st_mode & 0777, 0700u);
}

// Two agents of one machine never give one uid to two frameworks: the uid
// file is the machine's, not the agent's.
TEST_F(AttackTest, FrameworksOnTwoAgentsOfOneMachineGetTwoUids) {
  LocalCluster cluster(Isolated(/*agents=*/2));
  ASSERT_TRUE(cluster.WaitForAgents(2));
  TestFramework first(cluster.master()), second(cluster.master());
  first.Launch(Command("one", "true"), cluster.agent_hostname(0));
  second.Launch(Command("two", "true"), cluster.agent_hostname(1));
  ASSERT_TRUE(first.WaitForState("one", TaskState::kFinished, absl::Seconds(15)));
  ASSERT_TRUE(second.WaitForState("two", TaskState::kFinished, absl::Seconds(15)));
  struct stat a {}, b {};
  ASSERT_EQ(::stat(Sandbox(cluster, first, "one", 0).c_str(), &a), 0);
  ASSERT_EQ(::stat(Sandbox(cluster, second, "two", 1).c_str(), &b), 0);
  EXPECT_NE(a.st_uid, b.st_uid);
}

// A task's processes that leave its process group, session and environment
// are killed with it, whether the framework kills it or its executor dies.
TEST_F(AttackTest, NothingATaskStartsOutlivesIt) {
  LocalCluster cluster(Isolated());
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  for (const std::string id : {"killed", "orphaned"}) {
    fw.Launch(Command(id, "readlink /proc/self/ns/pid > $AGORA_SANDBOX/ns; "
                          "setsid env -i sleep 600 & (setsid nohup sh -c 'sleep 601 &' &); "
                          "exec sleep 602"));
    ASSERT_TRUE(fw.WaitForState(id, TaskState::kRunning, absl::Seconds(15)));
  }
  std::map<std::string, std::string> ns;
  for (const std::string id : {"killed", "orphaned"}) {
    ASSERT_TRUE(WaitFor(
        [&] {
          ns[id] = FirstLine(Sandbox(cluster, fw, id) + "/ns");
          return !ns[id].empty() && PidsInNamespace(ns[id], "sleep").size() == 3;
        },
        absl::Seconds(5)))
        << id;
  }
  fw.Kill("killed");
  ASSERT_TRUE(fw.WaitForState("killed", TaskState::kKilled, absl::Seconds(15)));
  EXPECT_TRUE(WaitFor([&] { return PidsInNamespace(ns["killed"]).empty(); }, absl::Seconds(5)));

  // Its executor is SIGKILLed: the agent kills the task by its cgroup.
  int executors = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string cmdline = ReadProcFile((entry.path() / "cmdline").string());
    if (cmdline.rfind(BinPath("agora-executor"), 0) == 0 &&
        cmdline.find(fw.framework_id()) != std::string::npos) {
      int pid = 0;
      ASSERT_TRUE(absl::SimpleAtoi(entry.path().filename().string(), &pid));
      ::kill(pid, SIGKILL);
      ++executors;
    }
  }
  ASSERT_EQ(executors, 1);
  ASSERT_TRUE(fw.WaitForState("orphaned", TaskState::kFailed, absl::Seconds(15)));
  EXPECT_TRUE(WaitFor([&] { return PidsInNamespace(ns["orphaned"]).empty(); }, absl::Seconds(5)));
}

// A fork bomb stops at its task's pids limit; a limit over the agent's
// allowance is refused.
TEST_F(AttackTest, APidsLimitStopsAForkBomb) {
  LocalCluster cluster(Isolated());
  ASSERT_TRUE(cluster.WaitForAgents(1));
  if (cluster.Query("agents").empty()) GTEST_SKIP();
  TestFramework fw(cluster.master());
  TaskSpec bomb = Command("bomb", "readlink /proc/self/ns/pid > $AGORA_SANDBOX/ns; "
                                  "for i in $(seq 200); do sleep 30 & done; sleep 30");
  bomb.pids_max = 32;
  fw.Launch(bomb);
  ASSERT_TRUE(fw.WaitForState("bomb", TaskState::kRunning, absl::Seconds(15)));
  const std::string sandbox = Sandbox(cluster, fw, "bomb");
  // The shell meets the limit ("Cannot fork") with at most 32 processes.
  ASSERT_TRUE(WaitFor([&] { return ReadAll(sandbox + "/stderr").find("fork") != std::string::npos; },
                      absl::Seconds(15)))
      << ReadAll(sandbox + "/stderr");
  EXPECT_LE(PidsInNamespace(FirstLine(sandbox + "/ns")).size(), 32u);
  fw.Kill("bomb");
  EXPECT_TRUE(WaitFor([&] { return PidsInNamespace(FirstLine(sandbox + "/ns")).empty(); }, absl::Seconds(15)));

  TaskSpec greedy = Command("greedy", "true");
  greedy.pids_max = 10'000'000;
  fw.Launch(greedy);
  auto refused = fw.WaitForState("greedy", TaskState::kError, absl::Seconds(15));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->reason, "pids_limit");
}

// A task that writes past its disk resource (through stdout here) is killed
// and fails with reason disk_limit.
TEST_F(AttackTest, ATaskOverItsDiskIsStopped) {
  LocalCluster cluster(Isolated());
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  TaskSpec chatty = Command("chatty", "head -c 64000000 /dev/zero > big; exec sleep 60");
  chatty.resources = Resources::Scalars(0.1, 32, 8);  // 8 MiB of disk
  fw.Launch(chatty);
  auto failed = fw.WaitForState("chatty", TaskState::kFailed, absl::Seconds(20));
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->reason, "disk_limit");
  EXPECT_NE(failed->message.find("disk limit of 8 MiB exceeded: the sandbox held 6"), std::string::npos)
      << failed->message;
}

// A chatty task's stdout rotates by size (--task_log_max_size and
// --task_log_max_files on the agent), so it cannot fill the disk, and
// `agora logs --follow` reads across the rotations without losing a line.
TEST_F(AttackTest, AChattyTasksLogsRotateAndAreFollowedAcrossRotations) {
  ClusterOptions o = Isolated();
  o.agent_flags = {"--task_log_max_size", "1", "--task_log_max_files", "3"};
  LocalCluster cluster(o);
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  // 50 bursts of 10,000 numbered lines: 3.4 MB, a burst every 0.1 s.
  fw.Launch(Command("chatty", "sleep 1; for i in $(seq 0 49); do seq $((i*10000)) $((i*10000+9999)); "
                              "sleep 0.1; done"));
  ASSERT_TRUE(fw.WaitForState("chatty", TaskState::kRunning, absl::Seconds(10)));
  CliResult follow = cluster.Cli({"logs", "--follow", "chatty"}, absl::Seconds(60));
  ASSERT_EQ(follow.exit_code, 0) << follow.out.substr(0, 1000);
  std::string expected;
  for (int n = 0; n < 500000; ++n) absl::StrAppend(&expected, n, "\n");
  EXPECT_TRUE(follow.out == expected) << "followed " << follow.out.size() << " bytes of " << expected.size();
  // On disk: three files of at most 1 MiB each; the oldest output is gone.
  const std::string sandbox = Sandbox(cluster, fw, "chatty");
  uint64_t kept = 0;
  for (const char* name : {"stdout", "stdout.1", "stdout.2"}) {
    ASSERT_TRUE(fs::exists(sandbox + "/" + name)) << name;
    EXPECT_LE(fs::file_size(sandbox + "/" + name), 1u << 20) << name;
    kept += fs::file_size(sandbox + "/" + name);
  }
  EXPECT_FALSE(fs::exists(sandbox + "/stdout.3"));
  EXPECT_LT(kept, expected.size());
  std::ifstream current(sandbox + "/stdout");
  const std::string tail((std::istreambuf_iterator<char>(current)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(absl::EndsWith(tail, "\n499999\n"));
}

// Inside its namespaces a task has its own /tmp and /dev/shm, no
// capabilities, and cannot gain privileges through setuid binaries.
TEST_F(AttackTest, ATaskHasItsOwnTmpAndNoPrivileges) {
  LocalCluster cluster(Isolated());
  ASSERT_TRUE(cluster.WaitForAgents(1));
  const std::string marker = absl::StrCat("agora-attack-", ::getpid());
  TestFramework fw(cluster.master());
  fw.Launch(Command("first", absl::StrCat("touch /tmp/", marker, " /dev/shm/", marker, " && echo wrote")));
  ASSERT_TRUE(fw.WaitForState("first", TaskState::kFinished, absl::Seconds(15)));
  EXPECT_FALSE(fs::exists("/tmp/" + marker));
  EXPECT_FALSE(fs::exists("/dev/shm/" + marker));
  EXPECT_TRUE(fs::exists(Sandbox(cluster, fw, "first") + "/tmp/" + marker));
  fw.Launch(Command("second", absl::StrCat("ls /tmp/", marker, " /dev/shm/", marker,
                                           " || echo not-shared; grep -E 'CapEff|CapBnd|NoNewPrivs' "
                                           "/proc/self/status; su -c id root </dev/null || echo no-su; "
                                           "hostname intruder || echo no-hostname")));
  ASSERT_TRUE(fw.WaitForState("second", TaskState::kFinished, absl::Seconds(15)));
  const std::string out = ReadAll(Sandbox(cluster, fw, "second") + "/stdout");
  EXPECT_NE(out.find("not-shared"), std::string::npos) << out;
  EXPECT_NE(out.find("CapEff:\t0000000000000000"), std::string::npos) << out;
  EXPECT_NE(out.find("CapBnd:\t0000000000000000"), std::string::npos) << out;
  EXPECT_NE(out.find("NoNewPrivs:\t1"), std::string::npos) << out;
  EXPECT_NE(out.find("no-su"), std::string::npos) << out;
  EXPECT_NE(out.find("no-hostname"), std::string::npos) << out;
}

// An agent whose work dir is full refuses to launch what it could not
// checkpoint, says why, and counts it.
TEST_F(AttackTest, AnAgentThatCannotCheckpointRefusesToLaunch) {
  LocalCluster cluster(Isolated(/*agents=*/0));
  const std::string work = cluster.dir() + "/small";
  fs::create_directories(work);
  ASSERT_EQ(::mount("tmpfs", work.c_str(), "tmpfs", 0, "size=2m,mode=0755"), 0) << strerror(errno);
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{work};
  Process agent({BinPath("agora-agent"), "--master", cluster.master(), "--work_dir", work,
                 "--hostname", "small", "--resources", "cpus:2;mem:512;disk:100", "--http_host", "127.0.0.1",
                 "--http_port", "0", "--kill_tasks_on_exit"},
                cluster.dir() + "/small.log");
  ASSERT_TRUE(cluster.WaitForAgents(1));
  TestFramework fw(cluster.master());
  fw.Launch(Command("before", "true"));  // the framework has its uid
  ASSERT_TRUE(fw.WaitForState("before", TaskState::kFinished, absl::Seconds(15)));
  {  // Fill the file system to the last block.
    std::ofstream fill(work + "/filler", std::ios::binary);
    std::string block(4096, 'x');
    while (fill.write(block.data(), block.size())) {
    }
  }
  // The journal's last page may still hold a few records: launch until one is refused.
  std::optional<TaskStatus> error;
  for (int i = 0; i < 20 && !error; ++i) {
    const std::string id = absl::StrCat("refused-", i);
    fw.Launch(Command(id, "true"));
    std::optional<TaskStatus> end;
    ASSERT_TRUE(WaitFor(
        [&] {
          for (const TaskStatus& s : fw.Updates(id)) {
            if (IsTerminal(s.state)) end = s;
          }
          return end.has_value();
        },
        absl::Seconds(15)));
    if (end->state == TaskState::kError) error = end;
  }
  ASSERT_TRUE(error);
  httplib::Client http(FirstLine(work + "/http_endpoint"));
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->body.find("agora_agent_checkpoint_failures_total 0"), std::string::npos);
  EXPECT_NE(metrics->body.find("agora_agent_checkpoint_failing 1"), std::string::npos);
  // Its health and `agora agents` say so, with the reason.
  auto health = http.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  EXPECT_NE(health->body.find("No space left on device"), std::string::npos) << health->body;
  CliResult agents;
  EXPECT_TRUE(WaitFor(
      [&] { return (agents = cluster.Cli({"agents"})).out.find("(cannot checkpoint)") != std::string::npos; },
      absl::Seconds(5)))
      << agents.out;
  // Room again: the next task runs, and the condition clears.
  fs::remove(work + "/filler");
  fw.Launch(Command("accepted", "true"));
  EXPECT_TRUE(fw.WaitForState("accepted", TaskState::kFinished, absl::Seconds(15)));
  EXPECT_EQ(http.Get("/health")->status, 200);
  EXPECT_TRUE(WaitFor([&] { return cluster.Cli({"agents"}).out.find("cannot checkpoint") == std::string::npos; },
                      absl::Seconds(5)));
}

// A raw TCP connection to 127.0.0.1:port, or -1.
int Connect(int port, const char* from = nullptr) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (from != nullptr) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, from, &local.sin_addr);
    ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A whole GET over a connection from `from`, answered within a second, or "".
std::string Get(int port, const std::string& path, const char* from) {
  const int fd = Connect(port, from);
  if (fd < 0) return "";
  const std::string request = absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string answer;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) answer.append(buf, n);
  ::close(fd);
  return answer;
}

int MasterHttpPort(LocalCluster& c) {
  std::string url;
  WaitFor([&] { return !(url = FirstLine(c.dir() + "/master/http_endpoint")).empty(); }, absl::Seconds(10));
  int port = 0;
  EXPECT_TRUE(absl::SimpleAtoi(url.substr(url.rfind(':') + 1), &port)) << url;
  return port;
}

// Slow clients (a header line every second, from one address) hold at most
// their share of the server, are cut off at the request deadline, and the
// master's HTTP keeps answering everyone else meanwhile.
TEST_F(AttackTest, SlowHttpClientsNeitherBlockTheServerNorLastForever) {
  LocalCluster cluster(Isolated(/*agents=*/0));
  const int port = MasterHttpPort(cluster);
  std::vector<int> slow;
  for (int i = 0; i < 24; ++i) {
    const int fd = Connect(port);
    ASSERT_GE(fd, 0);
    ASSERT_GT(::send(fd, "GET /state HTTP/1.1\r\n", 21, MSG_NOSIGNAL), 0);
    slow.push_back(fd);
  }
  const auto start = absl::Now();
  int cut = 0, refused = 0;
  for (int second = 0; second < 14 && cut + refused < 24; ++second) {
    // Others (another address) are served at once.
    EXPECT_NE(Get(port, "/health", "127.0.0.2").find("200 OK"), std::string::npos) << "second " << second;
    absl::SleepFor(absl::Seconds(1));
    for (int& fd : slow) {
      if (fd < 0) continue;
      char buf[256];
      const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0 && std::string(buf, n).find("503") != std::string::npos) {
        ++refused;
      } else if (n >= 0 || errno != EAGAIN ||  // answered (400) and closed, or reset
                 ::send(fd, "X-Slow: 1\r\n", 11, MSG_NOSIGNAL) < 0) {
        ++cut;
      } else {
        continue;
      }
      ::close(fd);
      fd = -1;
    }
  }
  for (int fd : slow) {
    if (fd >= 0) ::close(fd);
  }
  EXPECT_GE(refused, 16);  // over the 8 connections one client may hold
  EXPECT_EQ(cut + refused, 24);
  EXPECT_LT(absl::Now() - start, absl::Seconds(14));
  httplib::Client http("127.0.0.1", port);
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->body.find("agora_http_requests_timed_out_total 0"), std::string::npos);
}

// A 1.5 GiB body is refused by its Content-Length: nothing of it is read or
// buffered, and the answer comes at once.
TEST_F(AttackTest, AHugeRequestBodyIsRefusedBeforeItIsRead) {
  LocalCluster cluster(Isolated(/*agents=*/0));
  const int port = MasterHttpPort(cluster);
  const int fd = Connect(port);
  ASSERT_GE(fd, 0);
  const std::string head =
      "POST /v1/anything HTTP/1.1\r\nHost: x\r\nContent-Length: 1610612736\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  std::string body(1 << 20, 'x');
  ::send(fd, body.data(), body.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[512];
  const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  ::close(fd);
  ASSERT_GT(n, 0);
  const std::string answer(buf, n);
  EXPECT_NE(answer.find("413"), std::string::npos) << answer;
  // The master's memory did not take the body in.
  const int64_t rss_kib = RssKib(cluster.master_process().pid());
  EXPECT_GT(rss_kib, 0);
  EXPECT_LT(rss_kib, 200 * 1024);
}

// A gzip bomb (300 MB of zeros in about 300 KB) posted to /health, which
// needs no token: refused by its Content-Encoding, never inflated.
TEST_F(AttackTest, ACompressedBodyIsRefusedUnread) {
  LocalCluster cluster(Isolated(/*agents=*/0));
  const CliResult made = RunShell("head -c 300000000 /dev/zero | gzip -c");
  ASSERT_EQ(made.exit_code, 0);
  const std::string& bomb = made.out;
  ASSERT_LT(bomb.size(), 1u << 20);
  httplib::Client http("127.0.0.1", MasterHttpPort(cluster));
  http.set_read_timeout(5, 0);
  httplib::Headers headers = {{"Content-Encoding", "gzip"}};
  auto r = http.Post("/health", headers, bomb, "application/octet-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415) << r->body;
  const int64_t rss_kib = RssKib(cluster.master_process().pid());
  EXPECT_GT(rss_kib, 0);
  EXPECT_LT(rss_kib, 200 * 1024);
}

// An agent that reports a 100,000-character hostname is refused by the
// master, which goes on serving (non-finite resources on the wire: master_test).
TEST_F(AttackTest, AnAgentsHostileHostnameIsRefused) {
  LocalCluster cluster(Isolated(/*agents=*/0));
  {
    Process agent({BinPath("agora-agent"), "--master", cluster.master(), "--work_dir",
                   cluster.dir() + "/hostile", "--hostname", std::string(100000, 'a'), "--http_port", "0"},
                  cluster.dir() + "/hostile.log");
    ASSERT_TRUE(WaitFor(
        [&] {
          return ReadAll(cluster.dir() + "/master.log").find("hostname must be 1 to 253 printable characters") !=
                 std::string::npos;
        },
        absl::Seconds(10)));
    EXPECT_TRUE(cluster.Query("agents").empty());
  }
  EXPECT_EQ(cluster.Cli({"status"}).exit_code, 0);
}

}  // namespace
}  // namespace agora::testing
