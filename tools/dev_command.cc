#include "tools/dev_command.h"
#include "common/json_text.h"

#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "frameworks/sdk/master_client.h"
#include "agora/resources.h"
#include "tools/table.h"
#include "tools/output.h"
#include "common/proc_file.h"

namespace agora::tools {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The directory holding this `agora` binary: the daemons are installed beside it.
std::string BinDir() {
  char path[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return ".";
  return fs::path(std::string(path, n)).parent_path().string();
}

bool PortFree(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A process's command line, split at its NULs.
std::vector<std::string> CommandLine(pid_t pid) {
  const std::string raw = ReadProcFile(absl::StrCat("/proc/", pid, "/cmdline"));
  std::vector<std::string> argv;
  for (size_t at = 0; at < raw.size();) {
    const size_t end = raw.find('\0', at);
    argv.push_back(raw.substr(at, end == std::string::npos ? std::string::npos : end - at));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return argv;
}

std::vector<pid_t> AllPids() {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    pid_t pid = 0;
    if (absl::SimpleAtoi(e.path().filename().string(), &pid)) pids.push_back(pid);
  }
  return pids;
}

// The value of `flag` (kebab-case) on a command line, as `--flag V` or
// `--flag=V` in either spelling the daemons take (`--lb_ports` too), or "".
std::string FlagValue(const std::vector<std::string>& argv, const std::string& flag) {
  std::string value;
  for (size_t i = 0; i < argv.size(); ++i) {
    const size_t eq = argv[i].find('=');
    std::string name = argv[i].substr(0, eq);
    std::replace(name.begin(), name.end(), '_', '-');
    if (name != flag) continue;
    if (eq != std::string::npos) value = argv[i].substr(eq + 1);
    else if (i + 1 < argv.size()) value = argv[i + 1];
  }
  return value;
}

// The ports that daemons running on this machine (any cluster's) hand out:
// agents' task ports (their --resources, or the default 31000-32000 when it
// names no ports) and agora-services' load balancer ports (--lb-ports, or
// its default 10000-10999).
std::vector<std::pair<int, int>> ClaimedPortRanges() {
  std::vector<std::pair<int, int>> ranges;
  for (pid_t pid : AllPids()) {
    const std::vector<std::string> argv = CommandLine(pid);
    const std::string program = argv.empty() ? "" : fs::path(argv[0]).filename().string();
    if (program == "agora-agent") {
      const std::string resources = FlagValue(argv, "--resources");
      auto parsed = Resources::Parse(resources);
      PortSet ports = parsed.ok() && resources.find("ports") != std::string::npos ? parsed->ports()
                                                                                   : PortSet({{31000, 32000}});
      for (const PortRange& r : ports.ranges()) ranges.emplace_back(r.begin, r.end);
    } else if (program == "agora-services") {
      std::string lb = FlagValue(argv, "--lb-ports");
      int first = 10000, last = 10999;
      const size_t dash = lb.find('-');
      if (dash != std::string::npos) {
        (void)absl::SimpleAtoi(lb.substr(0, dash), &first);
        (void)absl::SimpleAtoi(lb.substr(dash + 1), &last);
      }
      ranges.emplace_back(first, last);
    }
  }
  return ranges;
}

// The first of `count` ports, below the kernel's ephemeral ports (32768 and
// up, which outgoing connections would take from under the tasks), that no
// running agent offers and no one listens on; 0 if there is none. `taken`
// grows by the range returned.
int FreePortRange(int count, std::vector<std::pair<int, int>>& taken) {
  for (int first = 20000; first + count <= 32768; first += count) {
    const int last = first + count - 1;
    const bool offered = std::any_of(taken.begin(), taken.end(),
                                     [&](const auto& r) { return r.first <= last && first <= r.second; });
    if (offered) continue;
    bool free = true;
    for (int port = first; free && port <= last; ++port) free = PortFree(port);
    if (!free) continue;
    taken.emplace_back(first, last);
    return first;
  }
  return 0;
}

// Starts argv as a daemon in its own session, output appended to `log`.
// Returns its pid, or -1.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::setsid();
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || in < 0) _exit(126);
  ::dup2(in, STDIN_FILENO);
  ::dup2(out, STDOUT_FILENO);
  ::dup2(out, STDERR_FILENO);
  ::execv(args[0], args.data());
  _exit(127);
}

// The kernel's start time of `pid` (clock ticks since boot), 0 if none: with
// the pid it names one process, so a reused pid is never taken for ours.
uint64_t StartTime(pid_t pid) {
  const std::vector<std::string> stat = ReadProcStat(std::to_string(pid));
  return stat.size() > 22 ? std::strtoull(stat[22].c_str(), nullptr, 10) : 0;
}

bool Alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

// A process recorded in cluster.json that is still that same process.
bool Ours(const json& p) {
  const pid_t pid = p["pid"].get<pid_t>();
  return Alive(pid) && StartTime(pid) == p.value("start_time", uint64_t{0});
}

std::string ReadLine(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The last non-empty line of a log file.
std::string LastLine(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

// Says which process `agora dev up` started has already exited, with its
// status and the last line of its log; empty while all run.
std::string FirstExited(const json& processes) {
  for (const json& p : processes) {
    const pid_t pid = p["pid"].get<pid_t>();
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) != pid) continue;
    return absl::StrCat(p["name"].get<std::string>(), " exited with status ",
                        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), ": ",
                        LastLine(p["log"].get<std::string>()));
  }
  return "";
}

bool WaitUntil(const std::function<bool()>& ready, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return ready();
}

json Query(const std::string& master, const std::string& noun) {
  sdk::MasterClient client(master, absl::Seconds(1));
  auto text = client.Query(noun);
  if (!text.ok()) return json::array();
  json j = json::parse(*text, nullptr, false);
  return j.is_array() ? j : json::array();
}

std::optional<json> LoadCluster(const std::string& dir) {
  std::ifstream in(fs::path(dir) / "cluster.json");
  if (!in) return std::nullopt;
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// Stops the recorded processes whose name starts with `prefix`, together:
// SIGTERM, then SIGKILL after `grace`. Works for processes that are not our
// children (a later `agora dev down`); skips pids that are no longer ours.
void Stop(const json& processes, const std::string& prefix, absl::Duration grace) {
  std::vector<pid_t> pids;
  for (const json& p : processes) {
    if (p["name"].get<std::string>().rfind(prefix, 0) == 0 && Ours(p)) pids.push_back(p["pid"]);
  }
  auto gone = [&] {
    for (pid_t pid : pids) {
      ::waitpid(pid, nullptr, WNOHANG);  // reaps our own children
      if (Alive(pid)) return false;
    }
    return true;
  };
  for (pid_t pid : pids) ::kill(pid, SIGTERM);
  if (WaitUntil(gone, grace)) return;
  for (pid_t pid : pids) ::kill(pid, SIGKILL);
  WaitUntil(gone, absl::Seconds(2));
}

// Frameworks first, then the agents (which kill their tasks), then the
// masters, then ZooKeeper.
void StopCluster(const json& processes, absl::Duration grace) {
  for (const char* prefix : {"agora-", "agent-", "master", "zookeeper"}) Stop(processes, prefix, grace);
}

// Whether the ZooKeeper server on `port` serves (answers `srvr` with its mode).
bool ZooKeeperServes(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 && ::write(fd, "srvr", 4) == 4) {
    char buf[1024];
    for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) answer.append(buf, n);
  }
  ::close(fd);
  return answer.find("Mode: ") != std::string::npos;
}

// The recorded process called `name` ("batch" and "services" name the
// frameworks too), or null.
json* FindProcess(json& cluster, const std::string& name) {
  const std::string wanted = name == "batch" || name == "services" ? "agora-" + name : name;
  for (json& p : cluster["processes"]) {
    if (p["name"] == wanted) return &p;
  }
  return nullptr;
}

// What tells a recorded process from any other: its --work-dir (ZooKeeper:
// its zoo.cfg, the last argument), made absolute against `cwd`.
std::string Identity(const std::vector<std::string>& argv, const fs::path& cwd) {
  std::string path = FlagValue(argv, "--work-dir");
  if (path.empty() && !argv.empty()) path = argv.back();
  return (cwd / path).lexically_normal().string();
}

// The owner of process `pid`, or -1.
uid_t OwnerOf(pid_t pid) {
  struct stat st;
  return ::stat(absl::StrCat("/proc/", pid).c_str(), &st) == 0 ? st.st_uid : static_cast<uid_t>(-1);
}

// Records whose process is gone are pointed at a process of the same program
// and identity started by other hands (a daemon restarted outside `agora
// dev`): `dev status` shows it and `dev down` stops it. Saves cluster.json
// when it adopted any.
void AdoptRestarted(json& cluster, const std::string& dir) {
  bool adopted = false;
  std::set<pid_t> recorded_pids;
  for (const json& p : cluster["processes"]) {
    if (Ours(p)) recorded_pids.insert(p["pid"].get<pid_t>());
  }
  for (json& p : cluster["processes"]) {
    if (Ours(p) || !p.contains("argv")) continue;
    const std::vector<std::string> recorded = p["argv"].get<std::vector<std::string>>();
    if (recorded.empty()) continue;
    const std::string identity = Identity(recorded, "/");  // dev up writes absolute paths
    for (pid_t pid : AllPids()) {
      if (recorded_pids.contains(pid) || OwnerOf(pid) != ::getuid()) continue;
      const std::vector<std::string> argv = CommandLine(pid);
      std::error_code ec;
      const fs::path cwd = fs::read_symlink(absl::StrCat("/proc/", pid, "/cwd"), ec);
      if (ec || argv.empty() || fs::path(argv[0]).filename() != fs::path(recorded[0]).filename() ||
          Identity(argv, cwd) != identity) {
        continue;
      }
      recorded_pids.insert(pid);
      p["pid"] = pid;
      p["start_time"] = StartTime(pid);
      adopted = true;
      break;
    }
  }
  if (adopted) std::ofstream(fs::path(dir) / "cluster.json") << cluster.dump(2) << "\n";
}

// The cluster in `dir`, its records pointed at the daemons restarted by hand.
std::optional<json> LoadRunningCluster(const std::string& dir) {
  auto cluster = LoadCluster(dir);
  if (cluster) AdoptRestarted(*cluster, dir);
  return cluster;
}

// Starts the recorded process again with its command line; records it.
pid_t Restart(json& cluster, json& p, const std::string& dir) {
  const pid_t pid = Spawn(p["argv"].get<std::vector<std::string>>(), p["log"].get<std::string>());
  p["pid"] = pid;
  p["start_time"] = StartTime(pid);
  std::ofstream(fs::path(dir) / "cluster.json") << cluster.dump(2) << "\n";
  return pid;
}

// agora-services stops its HAProxy when it stops; one it left behind by
// dying first (HAProxy keeps serving then) is ended here.
void StopLeftoverHaproxy(const std::string& dir) {
  const fs::path haproxy = fs::path(dir) / "agora-services" / "haproxy";
  pid_t pid = 0;
  if (!absl::SimpleAtoi(ReadLine(haproxy / "haproxy.pid"), &pid) || !Alive(pid)) return;
  std::string cmdline = ReadProcFile(absl::StrCat("/proc/", pid, "/cmdline"));
  if (cmdline.find((haproxy / "haproxy.cfg").string()) == std::string::npos) return;  // not ours
  ::kill(pid, SIGTERM);
  WaitUntil([&] { return !Alive(pid); }, absl::Seconds(5));
}

int Fail(const std::string& message) {
  PrintError("dev", message);
  return 1;
}

}  // namespace

namespace {
// The cluster's folder, absolute: its daemons' command lines name it, and
// processes are told apart by it.
std::string ClusterDir(const DevArgs& a) {
  return fs::absolute(a.dir.empty() ? DefaultDevDir() : a.dir).lexically_normal().string();
}
}  // namespace

std::string DefaultDevDir() {
  if (const char* home = ::getenv("HOME"); home != nullptr && *home != '\0') {
    return (fs::path(home) / ".local" / "state" / "agora" / "dev").string();
  }
  return absl::StrCat("/tmp/agora-dev-", ::getuid());
}

int DevUp(const DevArgs& a) {
  const std::string dir = ClusterDir(a);
  if (auto running = LoadRunningCluster(dir)) {
    for (const json& p : (*running)["processes"]) {
      if (Ours(p)) {
        return Fail(absl::StrCat("a cluster is already running in ", dir,
                                 "; `agora dev status` shows it, `agora dev down` stops it"));
      }
    }
  }
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "logs", ec);
  if (ec) return Fail(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  // The agents' tasks run as unprivileged users and reach
  // their sandboxes under DIR by path: a `mktemp -d` folder (0700) lets them
  // through with this.
  fs::permissions(dir, fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add, ec);
  fs::permissions(fs::path(dir) / "logs", fs::perms::owner_all, ec);  // the daemons' output is theirs
  const std::string bin = BinDir();
  for (const char* b : {"agora-master", "agora-agent", "agora-executor", "agora-batch", "agora-services"}) {
    if (!fs::exists(fs::path(bin) / b)) return Fail(absl::StrCat(b, " is not in ", bin));
  }
  const int port = PortFree(a.port) && PortFree(a.port + 1) ? a.port : FreePort();
  std::vector<std::string> master_endpoints;
  for (int i = 0; i < a.masters; ++i) {
    master_endpoints.push_back(absl::StrCat("tcp://127.0.0.1:", i == 0 ? port : FreePort()));
  }
  std::string master = master_endpoints[0];  // what the others are given
  auto master_name = [&](int i) { return a.masters == 1 ? std::string("master") : absl::StrCat("master-", i); };
  json processes = json::array();
  auto save = [&] {
    json cluster = {{"master", master}, {"dir", dir}, {"processes", processes}};
    cluster["master_http"] = ReadLine(fs::path(dir) / master_name(0) / "http_endpoint");
    std::ofstream(fs::path(dir) / "cluster.json") << cluster.dump(2) << "\n";
    return cluster;
  };
  // Each process is recorded as it starts (with its command line, for `dev
  // start`): interrupted (Ctrl-C), `dev up` leaves what `dev down` stops.
  auto start = [&](const std::string& name, std::vector<std::string> argv) {
    const std::string log = (fs::path(dir) / "logs" / (name + ".log")).string();
    pid_t pid = Spawn(argv, log);
    processes.push_back(
        {{"name", name}, {"pid", pid}, {"start_time", StartTime(pid)}, {"log", log}, {"argv", argv}});
    save();
    return pid;
  };
  auto abort = [&](const std::string& why) {
    save();
    StopCluster(processes, absl::Seconds(5));
    return Fail(absl::StrCat(why, "; logs are in ", dir, "/logs"));
  };
  std::string exited;
  if (a.masters > 1) {
    const std::string jar = "/usr/share/java/zookeeper.jar";
    if (!fs::exists(jar) || !fs::exists("/usr/bin/java")) {
      return Fail("--masters needs ZooKeeper and Java: apt install zookeeper");
    }
    const int zk_port = FreePort();
    const fs::path zk_dir = fs::path(dir) / "zookeeper";
    fs::create_directories(zk_dir / "data", ec);
    std::ofstream(zk_dir / "zoo.cfg") << "tickTime=500\ninitLimit=10\nsyncLimit=5\n"
                                      << "dataDir=" << (zk_dir / "data").string() << "\n"
                                      << "clientPort=" << zk_port << "\nclientPortAddress=127.0.0.1\n"
                                      << "admin.enableServer=false\n4lw.commands.whitelist=ruok,srvr\n";
    start("zookeeper", {"/usr/bin/java", "-Xmx256m", "-Dzookeeper.log.dir=" + zk_dir.string(), "-cp",
                        "/etc/zookeeper/conf_example:" + jar,
                        "org.apache.zookeeper.server.quorum.QuorumPeerMain", (zk_dir / "zoo.cfg").string()});
    if (!WaitUntil([&] { return !(exited = FirstExited(processes)).empty() || ZooKeeperServes(zk_port); },
                   absl::Seconds(30))) {
      return abort("ZooKeeper did not start");
    }
    if (!exited.empty()) return abort(exited);
    master = absl::StrCat("zk://127.0.0.1:", zk_port, "/agora");
  }
  for (int i = 0; i < a.masters; ++i) {
    fs::remove(fs::path(dir) / master_name(i) / "http_endpoint", ec);
    const int http = i == 0 && PortFree(port + 1) ? port + 1 : 0;
    std::vector<std::string> argv = {bin + "/agora-master", "--listen", master_endpoints[i], "--work-dir",
                                     (fs::path(dir) / master_name(i)).string(), "--http-port",
                                     absl::StrCat(http)};
    // A dev cluster fails over within about 2s of a master's death.
    if (a.masters > 1) argv.insert(argv.end(), {"--zk", master, "--zk-session-timeout", "2s"});
    start(master_name(i), argv);
  }
  if (!WaitUntil(
          [&] {
            exited = FirstExited(processes);
            if (!exited.empty()) return true;
            for (int i = 0; i < a.masters; ++i) {
              if (ReadLine(fs::path(dir) / master_name(i) / "http_endpoint").empty()) return false;
            }
            return true;
          },
          absl::Seconds(10))) {
    return abort("the master did not start");
  }
  if (!exited.empty()) return abort(exited);
  // Each agent gets a share of the machine and 100 ports of its own, which
  // no other agent on this machine (another dev cluster's) offers.
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::pair<int, int>> claimed = ClaimedPortRanges();
  for (int i = 0; i < a.agents; ++i) {
    const int ports = FreePortRange(100, claimed);
    if (ports == 0) return abort("no 100 free ports below 32768 are left for an agent");
    start(absl::StrCat("agent-", i),
          {bin + "/agora-agent", "--master", master, "--work-dir", absl::StrCat(dir, "/agent-", i),
           "--hostname", absl::StrCat("dev-agent-", i), "--attributes", absl::StrCat("zone:z", i % 3),
           "--resources",
           absl::StrCat("cpus:", cpus, ";mem:", 4096, ";disk:", 8192, ";ports:[", ports, "-", ports + 99, "]"),
           "--kill-tasks-on-exit", "--http-host", "127.0.0.1", "--http-port", "0"});
  }
  start("agora-batch", {bin + "/agora-batch", "--master", master, "--work-dir", dir + "/agora-batch",
                        "--http-port", "0"});
  // Load balancers of a dev cluster stay on this machine, on 20 ports of their own.
  const int lb_ports = FreePortRange(20, claimed);
  if (lb_ports == 0) return abort("no 20 free ports below 32768 are left for the load balancers");
  start("agora-services", {bin + "/agora-services", "--master", master, "--work-dir", dir + "/agora-services",
                           "--http-port", "0", "--lb-bind", "127.0.0.1", "--lb-ports",
                           absl::StrCat(lb_ports, "-", lb_ports + 19)});
  bool ready = WaitUntil(
      [&] {
        exited = FirstExited(processes);
        if (!exited.empty()) return true;
        int active = 0;
        for (const json& agent : Query(master, "agents")) active += agent["state"] == "active";
        int frameworks = 0;
        for (const json& f : Query(master, "frameworks")) {
          frameworks += (f["name"] == "agora-batch" || f["name"] == "agora-services") && f["state"] == "active";
        }
        return active == a.agents && frameworks == 2;
      },
      absl::Seconds(30));
  if (!exited.empty()) return abort(exited);
  if (!ready) return abort("the cluster did not become ready within 30s");
  json cluster = save();
  if (a.json) {
    PrintData(json{{"master", master}, {"master_http", cluster["master_http"]}, {"dir", dir}});
    return 0;
  }
  std::cout << "agora dev: " << (a.masters == 1 ? "a master" : absl::StrCat(a.masters, " masters and ZooKeeper"))
            << ", " << a.agents << " agents, agora-batch and agora-services are up\n"
            << "  master       " << master << "  (HTTP " << cluster["master_http"].get<std::string>()
            << (a.masters == 1 ? "" : ", the first master's") << ")\n"
            << "  directory    " << dir << "  (logs in " << dir << "/logs)\n";
  if (master != "tcp://127.0.0.1:5050") std::cout << "  export AGORA_MASTER=" << master << "\n";
  std::cout << "next: agora status; agora job submit examples/batch/etl.yaml --wait;\n"
            << "      agora service deploy examples/services/web.yaml --wait; agora dev down\n";
  return 0;
}

int DevStatus(const DevArgs& a) {
  const std::string dir = ClusterDir(a);
  auto cluster = LoadRunningCluster(dir);
  if (!cluster) return Fail(absl::StrCat("no cluster in ", dir, " (start one with `agora dev up`)"));
  json out = *cluster;
  bool all = true;
  for (json& p : out["processes"]) {
    p["running"] = Ours(p);
    all = all && p["running"].get<bool>();
  }
  int active = 0;
  for (const json& agent : Query((*cluster)["master"], "agents")) active += agent["state"] == "active";
  out["agents_active"] = active;
  if (a.json) {
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "master " << out["master"].get<std::string>() << ", " << active
              << " agents active, directory " << dir << "\n";
    Table t({"PROCESS", "PID", "STATE", "LOG"});
    for (const json& p : out["processes"]) {
      t.AddRow({p["name"], absl::StrCat(p["pid"].get<pid_t>()), p["running"] ? "running" : "stopped",
                p["log"]});
    }
    t.Print(std::cout);
  }
  return all ? 0 : 1;
}

int DevDown(const DevArgs& a) {
  const std::string dir = ClusterDir(a);
  auto cluster = LoadRunningCluster(dir);
  if (!cluster) return Fail(absl::StrCat("no cluster in ", dir));
  StopCluster((*cluster)["processes"], absl::Seconds(10));
  StopLeftoverHaproxy(dir);
  fs::remove(fs::path(dir) / "cluster.json");
  if (!a.json) std::cout << "agora dev: stopped; state and logs stay in " << dir << "\n";
  return 0;
}

// Runs `act` on the recorded process `a.name` of the cluster in `a.dir`
// (its records pointed at daemons restarted by hand); the exit code.
int WithProcess(const DevArgs& a, const std::function<int(json& cluster, json& process, const std::string& dir)>& act) {
  const std::string dir = ClusterDir(a);
  auto cluster = LoadRunningCluster(dir);
  if (!cluster) return Fail(absl::StrCat("no cluster in ", dir));
  json* p = FindProcess(*cluster, a.name);
  if (p == nullptr) return Fail(absl::StrCat("no process '", a.name, "' (`agora dev status` lists them)"));
  return act(*cluster, *p, dir);
}

int DevKill(const DevArgs& a) {
  return WithProcess(a, [&](json&, json& process, const std::string&) {
    json* p = &process;
    if (!Ours(*p)) return Fail(absl::StrCat(a.name, " is not running"));
    const pid_t pid = (*p)["pid"].get<pid_t>();
    ::kill(pid, SIGKILL);
    if (!WaitUntil([&] { return !Ours(*p); }, absl::Seconds(5))) return Fail(absl::StrCat(a.name, " did not die"));
    if (!a.json) std::cout << "agora dev: killed " << a.name << " (pid " << pid << "); `agora dev start " << a.name
                           << "` starts it again\n";
    return 0;
  });
}

int DevStart(const DevArgs& a) {
  return WithProcess(a, [&](json& cluster, json& process, const std::string& dir) {
    json* p = &process;
    if (Ours(*p)) return Fail(absl::StrCat(a.name, " is running already"));
    if (!p->contains("argv")) return Fail(absl::StrCat("cluster.json has no command line for ", a.name));
    const pid_t pid = Restart(cluster, *p, dir);
    if (!a.json) std::cout << "agora dev: started " << (*p)["name"].get<std::string>() << " (pid " << pid << ")\n";
    return 0;
  });
}

int DevRestart(const DevArgs& a) {
  return WithProcess(a, [&](json& cluster, json& process, const std::string& dir) {
    json* p = &process;
    if (!p->contains("argv")) return Fail(absl::StrCat("cluster.json has no command line for ", a.name));
    const std::string name = (*p)["name"];
    if (name.rfind("agent-", 0) == 0 && Ours(*p)) {
      // As after a crash: a dev agent stopped by SIGTERM would kill its tasks
      // (--kill_tasks_on_exit); killed, it finds them again when it starts.
      ::kill((*p)["pid"].get<pid_t>(), SIGKILL);
      WaitUntil([&] { return !Ours(*p); }, absl::Seconds(5));
    }
    Stop(json::array({*p}), name, absl::Seconds(10));  // the others: SIGTERM, a clean stop
    const pid_t pid = Restart(cluster, *p, dir);
    if (!a.json) std::cout << "agora dev: restarted " << name << " (pid " << pid << ")\n";
    return 0;
  });
}

}  // namespace agora::tools
