#include "frameworks/service/haproxy_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/proc_file.h"
#include "common//log.h"
#include "common/metrics_writer.h"
#include "common/signals.h"
#include "common/subprocess.h"

namespace agora::service {
namespace {

constexpr absl::Duration kCommandTimeout = absl::Seconds(10);

// The ADDRESS:PORT of every "bind" line of a configuration.
std::set<std::string> Binds(const std::string& config) {
  std::set<std::string> out;
  std::istringstream lines(config);
  for (std::string line; std::getline(lines, line);) {
    absl::string_view rest = absl::StripAsciiWhitespace(line);
    if (absl::ConsumePrefix(&rest, "bind ")) out.insert(std::string(absl::StripAsciiWhitespace(rest)));
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// "haproxy -c" output without its noise: the first line that says something.
std::string Reason(const CommandResult& r) {
  std::string text(absl::StripAsciiWhitespace(r.output));
  return text.empty() ? DescribeWaitStatus(r.wait_status) : text.substr(0, 500);
}

}  // namespace

HaproxyProcess::HaproxyProcess(std::string binary, std::string dir)
    : binary_(std::move(binary)), dir_(std::move(dir)) {
  config_path_ = dir_ + "/haproxy.cfg";
  pid_path_ = dir_ + "/haproxy.pid";
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (MasterPid() != 0) {
    applied_ = ReadFile(config_path_);
    AGORA_LOG(INFO, "haproxy") << "adopted the running HAProxy (pid " << MasterPid() << ")";
  }
}

absl::Status HaproxyProcess::CheckBinary() {
  auto r = RunCommand({binary_, "-v"}, dir_ + "/haproxy.out", kCommandTimeout);
  if (!r.ok()) return r.status();
  if (!r->ok()) return absl::FailedPreconditionError(absl::StrCat(binary_, " -v: ", Reason(*r)));
  return absl::OkStatus();
}

pid_t HaproxyProcess::MasterPid() const {
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(pid_path_)), &pid) || pid <= 0) return 0;
  // The pid must still be a HAProxy running our configuration (pids are reused).
  std::string cmdline = ReadProcFile(absl::StrCat("/proc/", pid, "/cmdline"));
  for (char& c : cmdline) c = c == '\0' ? ' ' : c;
  return cmdline.find(config_path_) != std::string::npos ? pid : 0;
}

bool HaproxyProcess::Running() const { return MasterPid() != 0; }

absl::Status HaproxyProcess::Fail(absl::Status s) {
  retry_after_ = absl::Now() + absl::Seconds(5);
  ++errors_;
  last_error_ = std::string(s.message());
  AGORA_LOG(WARNING, "haproxy") << last_error_;
  return s;
}

absl::Status HaproxyProcess::Apply(const std::string& config) {
  const pid_t pid = MasterPid();
  if (pid != 0 && config == applied_) return absl::OkStatus();
  if (config == failed_ && absl::Now() < retry_after_) return absl::UnavailableError(last_error_);
  failed_ = config;  // until it succeeds
  const std::string candidate = config_path_ + ".new";
  {
    std::ofstream out(candidate, std::ios::binary | std::ios::trunc);
    out << config;
    if (!out.flush()) return Fail(absl::InternalError(absl::StrCat("cannot write ", candidate)));
  }
  auto check = RunCommand({binary_, "-c", "-f", candidate}, dir_ + "/haproxy.out", kCommandTimeout);
  if (!check.ok()) return Fail(check.status());
  if (!check->ok()) return Fail(absl::InvalidArgumentError(absl::StrCat("HAProxy rejects the configuration: ", Reason(*check))));
  if (pid != 0) {
    // What the running HAProxy holds: the installed configuration (also when
    // it was adopted from an earlier agora-services).
    const std::set<std::string> held = Binds(ReadFile(config_path_));
    for (const std::string& bind : Binds(config)) {
      if (held.contains(bind)) continue;
      if (absl::Status s = Bindable(bind); !s.ok()) return Fail(s);
    }
  }
  std::error_code ec;
  std::filesystem::rename(candidate, config_path_, ec);
  if (ec) return Fail(absl::InternalError(absl::StrCat("cannot install ", config_path_, ": ", ec.message())));
  if (pid != 0) {
    ::kill(pid, SIGUSR2);  // reload: new workers take the listeners over
    ++reloads_;
  } else {
    // -W: master-worker; -D: the master daemonizes once the listeners are
    // bound, and writes its pid a moment later: until then it is not known to
    // be running, and a second one must not be started.
    std::filesystem::remove(pid_path_, ec);
    auto start = RunCommand({binary_, "-W", "-D", "-f", config_path_, "-p", pid_path_}, dir_ + "/haproxy.out",
                            kCommandTimeout);
    if (!start.ok()) return Fail(start.status());
    if (!start->ok()) return Fail(absl::UnavailableError(absl::StrCat("HAProxy did not start: ", Reason(*start))));
    const absl::Time deadline = absl::Now() + kCommandTimeout;
    while (MasterPid() == 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    if (MasterPid() == 0) return Fail(absl::UnavailableError(absl::StrCat("HAProxy wrote no pid to ", pid_path_)));
    ++starts_;
    AGORA_LOG(INFO, "haproxy") << "started HAProxy (pid " << MasterPid() << ") with " << config_path_;
  }
  applied_ = config;
  failed_.clear();
  last_error_.clear();
  return absl::OkStatus();
}

void HaproxyProcess::Stop(bool wait) {
  applied_.clear();
  pid_t pid = MasterPid();
  // (The pidfile may name a process gone since, while ours run on.)
  if (pid == 0 && (!wait || OurProcesses().empty())) return;
  if (pid != 0) ::kill(pid, SIGUSR1);  // soft stop: workers finish their connections, then the master exits
  AGORA_LOG(INFO, "haproxy") << "stopping HAProxy (pid " << pid << ")";
  if (!wait) return;
  // A signal that lands while the master re-executes itself for a reload can
  // go unheeded, and a reload under way leaves a second master the pidfile
  // does not name yet: ask again, then insist, then end every process running
  // our configuration.
  const absl::Time soft_until = absl::Now() + absl::Seconds(5);
  const absl::Time hard_until = soft_until + absl::Seconds(2);
  std::vector<pid_t> ours;
  while (!(ours = OurProcesses()).empty() && absl::Now() < hard_until) {
    if ((pid = MasterPid()) != 0) ::kill(pid, absl::Now() < soft_until ? SIGUSR1 : SIGTERM);
    if (pid == 0 || absl::Now() >= soft_until) {
      for (pid_t p : ours) ::kill(p, SIGTERM);
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  for (pid_t p : OurProcesses()) ::kill(p, SIGKILL);
}

std::vector<pid_t> HaproxyProcess::OurProcesses() const {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::string cmdline = ReadProcFile((entry.path() / "cmdline").string());
    for (char& c : cmdline) c = c == '\0' ? ' ' : c;
    if (cmdline.find(config_path_) != std::string::npos && cmdline.find("haproxy") != std::string::npos) {
      pids.push_back(pid);
    }
  }
  return pids;
}

nlohmann::json HaproxyProcess::StatusJson() const {
  return {{"running", Running()}, {"pid", MasterPid()},     {"config", config_path_}, {"starts", starts_},
          {"reloads", reloads_},  {"errors", errors_},      {"last_error", last_error_}};
}

absl::Status Bindable(const std::string& address_port) {
  const size_t colon = address_port.rfind(':');
  int port = 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (colon == std::string::npos || !absl::SimpleAtoi(address_port.substr(colon + 1), &port) ||
      ::inet_pton(AF_INET, address_port.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return absl::OkStatus();  // not an IPv4 address: HAProxy says for itself
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as HAProxy binds
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  const int error = errno;
  ::close(fd);
  if (ok) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("cannot bind ", address_port, ": ", std::strerror(error), " (another process holds it?)"));
}

std::string LoadBalancerMetrics(const HaproxyProcess& h) {
  MetricsWriter w;
  w.Family("agora_service_lb_up", "gauge", "Whether the services' HAProxy is running.");
  w.Sample("agora_service_lb_up", h.Running() ? 1 : 0);
  w.Counters({{"agora_service_lb_starts_total", "HAProxy starts.", h.starts_},
              {"agora_service_lb_reloads_total", "HAProxy reloads (seamless).", h.reloads_},
              {"agora_service_lb_errors_total", "Configurations HAProxy refused, and failed starts.", h.errors_}});
  return w.Take();
}

}  // namespace agora::service
