#include "agent/agent_config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace agora::agent {
namespace {
double AfterReserve(double total, double reserve, double threshold) {
  return total < threshold ? total / 2 : total - reserve;
}
// The first IPv4 address `host` resolves to, with `port` (0 if none).
std::optional<sockaddr_in> Resolve(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.empty() ? nullptr : port.c_str(), &hints, &found) != 0) return std::nullopt;
  sockaddr_in out = *reinterpret_cast<sockaddr_in*>(found->ai_addr);
  ::freeaddrinfo(found);
  return out;
}

std::string Ip(const sockaddr_in& a) {
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &a.sin_addr, text, sizeof(text));
  return text;
}

}  // namespace

std::string DetectAdvertiseAddress(const std::string& master_endpoint, const std::string& hostname) {
  absl::string_view rest = master_endpoint;
  // zk://: the route to its first server is the route to the masters' network.
  if (absl::ConsumePrefix(&rest, "zk://")) rest = rest.substr(0, rest.find_first_of(",/"));
  if (absl::StartsWith(master_endpoint, "zk://") || absl::ConsumePrefix(&rest, "tcp://")) {
    const size_t colon = rest.rfind(':');
    const std::string host(rest.substr(0, colon));
    const std::string port(colon == absl::string_view::npos ? "5050" : rest.substr(colon + 1));
    // A connected UDP socket sends nothing but has the route's source address.
    if (auto master = Resolve(host == "*" || host == "0.0.0.0" ? "127.0.0.1" : host, port)) {
      int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in local{};
      socklen_t len = sizeof(local);
      const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&*master), sizeof(*master)) == 0 &&
                      ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0;
      if (fd >= 0) ::close(fd);
      if (ok && local.sin_addr.s_addr != INADDR_ANY) return Ip(local);
    }
  }
  if (auto self = Resolve(hostname, "")) return Ip(*self);
  return "127.0.0.1";
}

Resources DetectResources(const std::string& work_dir) {
  double cpus = static_cast<double>(::sysconf(_SC_NPROCESSORS_ONLN));
  struct sysinfo si {};
  ::sysinfo(&si);
  double mem_mib = double(si.totalram) * si.mem_unit / (1024.0 * 1024.0);
  struct statvfs vfs {};
  double disk_mib = 0;
  if (::statvfs(work_dir.c_str(), &vfs) == 0) {
    // What it can honour: the space free now (to unprivileged writers, as
    // tasks are), not the file system's size.
    disk_mib = double(vfs.f_bavail) * vfs.f_frsize / (1024.0 * 1024.0);
  }
  Resources r = Resources::Scalars(cpus, static_cast<int64_t>(AfterReserve(mem_mib, 1024, 2048)),
                                   static_cast<int64_t>(AfterReserve(disk_mib, 5120, 10240)));
  r.set_ports(PortSet({{31000, 32000}}));
  return r;
}

absl::StatusOr<Resources> ApplyResourceOverrides(const Resources& detected,
                                                 const std::string& overrides) {
  auto parsed = Resources::Parse(overrides);
  if (!parsed.ok()) return parsed.status();
  Resources out = detected;
  for (absl::string_view item : absl::StrSplit(overrides, ';', absl::SkipWhitespace())) {
    absl::string_view name = absl::StripAsciiWhitespace(item.substr(0, item.find(':')));
    if (name == "cpus") out.set_cpus(parsed->cpus());
    if (name == "mem") out.set_mem(parsed->mem());
    if (name == "disk") out.set_disk(parsed->disk());
    if (name == "ports") out.set_ports(parsed->ports());
  }
  return out;
}

absl::StatusOr<Env> ParseAttributes(const std::string& text) {
  Env out;
  absl::flat_hash_set<std::string> keys;
  for (absl::string_view item : absl::StrSplit(text, ';', absl::SkipWhitespace())) {
    std::vector<absl::string_view> kv = absl::StrSplit(item, absl::MaxSplits(':', 1));
    absl::string_view key = kv.size() == 2 ? absl::StripAsciiWhitespace(kv[0]) : "";
    if (key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("attribute '", item, "' is not KEY:VALUE (example: zone:a;rack:r1)"));
    }
    if (!keys.insert(std::string(key)).second) {
      return absl::InvalidArgumentError(absl::StrCat("attribute '", key, "' is given twice"));
    }
    out.emplace_back(std::string(key), std::string(absl::StripAsciiWhitespace(kv[1])));
  }
  return out;
}

}  // namespace agora::agent
