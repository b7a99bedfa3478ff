#include "tests/integration/cluster.h"

#include "common/bind_policy.h"
#include "common/leader_detector.h"
#include "absl/strings/numbers.h"

#include "common/proc_file.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <array>
#include <cstddef>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace agora::testing {
namespace fs = std::filesystem;

std::vector<pid_t> PidsInNamespace(const std::string& ns, const std::string& program) {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::error_code ec;
    if (std::filesystem::read_symlink(entry.path() / "ns" / "pid", ec).string() != ns) continue;
    if (ReadProcFile((entry.path() / "cmdline").string()).rfind(program, 0) != 0) continue;
    pids.push_back(pid);
  }
  return pids;
}

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string FileText(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string BinPath(const std::string& name) {
  const char* dir = std::getenv("AGORA_TEST_BIN_DIR");
  return std::string(dir != nullptr && *dir != '\0' ? dir : AGORA_BIN_DIR) + "/" + name;
}

namespace {

// Claims the block of ports at `base` for this process: an abstract unix
// socket named after it, which no other process can bind until this one
// exits (the kernel releases it; nothing is left on disk).
bool ClaimBlock(int base) {
  static std::vector<int> claims;  // held for the life of the process
  const std::string name = absl::StrCat("agora-test-ports-", base);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    if (fd >= 0) ::close(fd);
    return false;
  }
  claims.push_back(fd);
  return true;
}

// `count` ports free now, from a random multiple of `step` in [lo, hi). Below
// the kernel's ephemeral ports (32768+), so no outgoing connection and no
// bind(0) takes one. Each block of `step` is claimed (ClaimBlock) so tests
// that ctest runs side by side never share one, even before they bind it.
int FreePortsIn(int count, int lo, int hi, int step) {
  std::mt19937 rng(std::random_device{}() ^ ::getpid());
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int base = lo + step * static_cast<int>(rng() % ((hi - lo - count) / step));
    bool claimed = true;
    for (int b = base; b < base + count && claimed; b += step) claimed = ClaimBlock(b);
    if (!claimed) continue;  // (blocks claimed before the clash stay claimed: harmless)
    bool free = true;
    for (int p = base; p < base + count && free; ++p) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(p);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
      ::close(fd);
    }
    if (free) return base;
  }
  return lo;
}

}  // namespace

// Agents' port ranges: 10000..27999.
// Below 28000, where `agora dev` clusters (DevTest) take theirs.
int FreePortRange(int count) { return FreePortsIn(count, 10000, 28000, 100); }

// Masters: 5000..9999, apart from agents' ranges and from bind(0)'s ports, so
// a master restarting on its port never meets another cluster's agents.
int FreeMasterPort() { return FreePortsIn(2, 5000, 10000, 2); }

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

Process::Process(std::vector<std::string> argv, std::string log) {
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    ::execv(args[0], args.data());
    _exit(127);
  }
}

Process::~Process() {
  if (pid_ <= 0) return;
  Signal(SIGTERM);
  if (!Wait(absl::Seconds(10))) {
    Signal(SIGKILL);
    Wait(absl::Seconds(5));
  }
}

void Process::Signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

bool Process::Wait(absl::Duration timeout, int* status) {
  if (pid_ <= 0) return true;
  return WaitFor(
      [&] {
        int s = 0;
        if (::waitpid(pid_, &s, WNOHANG) != pid_) return false;
        if (status != nullptr) *status = s;
        pid_ = -1;
        return true;
      },
      timeout);
}

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling interval
  }
}

LocalCluster::LocalCluster(ClusterOptions options) : options_(std::move(options)) {
  const fs::path base = options_.base_dir.empty() ? fs::temp_directory_path() : fs::path(options_.base_dir);
  std::string tmpl = (base / "agora-it-XXXXXX").string();
  dir_ = ::mkdtemp(tmpl.data());
  // Tasks run as unprivileged users: they reach their sandboxes through it,
  // and tests let them leave traces in it (as /tmp: everyone writes, sticky).
  fs::permissions(dir_, fs::perms::all | fs::perms::sticky_bit);
  masters_.resize(options_.masters);
  for (int i = 0; i < options_.masters; ++i) {
    master_endpoints_.push_back(absl::StrCat("tcp://", options_.master_host, ":", FreeMasterPort()));
  }
  master_address_ = options_.zk.empty() ? master_endpoints_[0] : options_.zk;
  if (options_.agent_ports) port_base_ = FreePortRange(100 * options_.agents);
  for (int i = 0; i < options_.masters; ++i) StartMaster(i);
  agents_.resize(options_.agents);
  for (int i = 0; i < options_.agents; ++i) StartAgent(i);
}

LocalCluster::~LocalCluster() {
  agents_.clear();  // each agent kills its tasks on SIGTERM (--kill-tasks-on-exit)
  masters_.clear();
  std::error_code ec;
  if (::getenv("AGORA_KEEP_TEST_DIRS") == nullptr) fs::remove_all(dir_, ec);
}

void LocalCluster::StartMaster(int i) {
  const std::string name = i == 0 ? "master" : absl::StrCat("master", i);
  std::vector<std::string> argv = {BinPath("agora-master"), "--listen", master_endpoints_.at(i),
                                   "--work-dir", absl::StrCat(dir_, "/", name)};
  if (!options_.zk.empty()) argv.insert(argv.end(), {"--zk", options_.zk});
  // Agents in a network namespace reach it on another address; it is open.
  if (!IsLoopback(options_.master_host)) argv.push_back("--insecure");
  argv.insert(argv.end(), options_.master_flags.begin(), options_.master_flags.end());
  // Started once it listens (it writes `endpoint` then): the CLI says at
  // once that nothing listens, rather than wait for a master to come up.
  const std::string listening = absl::StrCat(dir_, "/", name, "/endpoint");
  std::filesystem::remove(listening);
  masters_.at(i) = std::make_unique<Process>(argv, absl::StrCat(dir_, "/", name, ".log"));
  WaitFor([&] { return !FirstLine(listening).empty(); }, absl::Seconds(10));
}

int LocalCluster::LeaderIndex(absl::Duration timeout) {
  int leader = -1;
  WaitFor([&] {
    auto found = FindLeader(options_.zk, absl::Seconds(2));
    if (!found.ok()) return false;
    for (size_t i = 0; i < master_endpoints_.size(); ++i) {
      if (found->endpoint == master_endpoints_[i] && masters_[i] != nullptr) leader = static_cast<int>(i);
    }
    return leader >= 0;
  }, timeout);
  return leader;
}

void LocalCluster::StartAgent(int i) {
  std::vector<std::string> argv = {BinPath("agora-agent"),
                                   "--master", master_address_,
                                   "--work-dir", absl::StrCat(dir_, "/agent", i),
                                   "--hostname", agent_hostname(i),
                                   "--resources", options_.agent_ports
                                       ? absl::StrCat(options_.agent_resources, ";ports:[", agent_port_base(i),
                                                      "-", agent_port_base(i) + 99, "]")
                                       : options_.agent_resources,
                                   "--attributes", absl::StrCat("zone:z", i % 2),
                                   "--kill-tasks-on-exit",
                                   "--kill-grace-period", "1s",
                                   "--recovery-timeout", "3s",
                                   "--http-host", "127.0.0.1",
                                   "--http-port", "0"};
  argv.insert(argv.end(), options_.agent_flags.begin(), options_.agent_flags.end());
  if (static_cast<int>(agents_.size()) <= i) agents_.resize(i + 1);
  agents_[i] = std::make_unique<Process>(argv, absl::StrCat(dir_, "/agent", i, ".log"));
}

CliResult LocalCluster::Cli(const std::vector<std::string>& args, absl::Duration timeout) {
  std::string command = BinPath("agora") + " --master '" + master_address_ + "'";
  for (const std::string& a : args) {
    command += " '";
    for (char c : a) command += c == '\'' ? std::string("'\\''") : std::string(1, c);
    command += "'";
  }
  return RunShell(absl::StrCat("timeout ", absl::ToInt64Seconds(timeout), " ", command, " 2>&1"));
}

CliResult RunShell(const std::string& command) {
  CliResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = ::fread(buf.data(), 1, buf.size(), pipe)) > 0) result.out.append(buf.data(), n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

CliResult AgoraCli(const std::string& args) {
  return RunShell(absl::StrCat("timeout 120 ", BinPath("agora"), " ", args, " 2>&1"));
}

DevClusterDir::DevClusterDir(const std::string& name)
    : path_(std::filesystem::temp_directory_path() / absl::StrCat("agora-", name, "-", ::getpid())) {}

DevClusterDir::~DevClusterDir() {
  AgoraCli("dev down " + flags());
  std::filesystem::remove_all(path_);
}

nlohmann::json LocalCluster::Query(const std::string& noun) {
  CliResult r = Cli({noun, "--json"}, absl::Seconds(10));
  if (r.exit_code != 0) return nlohmann::json::array();
  auto parsed = nlohmann::json::parse(r.out, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json::array() : parsed;
}

bool LocalCluster::WaitForAgents(int count, absl::Duration timeout) {
  return WaitFor(
      [&] {
        int active = 0;
        for (const auto& a : Query("agents")) active += a.value("state", "") == "active";
        return active == count;
      },
      timeout);
}

}  // namespace agora::testing
