#include "common/bind_policy.h"

#include <arpa/inet.h>
#include <netdb.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace agora {
namespace {

bool IsLoopbackSockaddr(const sockaddr* a) {
  if (a->sa_family == AF_INET) {
    return (ntohl(reinterpret_cast<const sockaddr_in*>(a)->sin_addr.s_addr) >> 24) == 127;
  }
  if (a->sa_family == AF_INET6) {
    const in6_addr& ip = reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&ip)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&ip)) return ip.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace

bool IsLoopback(absl::string_view address) {
  if (absl::StartsWith(address, "ipc://") || absl::StartsWith(address, "inproc://")) return true;
  absl::string_view host = address;
  if (absl::ConsumePrefix(&host, "tcp://")) {
    const size_t colon = host.rfind(':');
    if (colon == absl::string_view::npos) return false;
    host = host.substr(0, colon);
    // ZeroMQ's "source;destination" form: what is bound is the part before.
    host = host.substr(0, host.find(';'));
  }
  absl::ConsumePrefix(&host, "[");
  absl::ConsumeSuffix(&host, "]");
  if (host.empty() || host == "*") return false;
  if (host == "lo") return true;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(std::string(host).c_str(), nullptr, &hints, &found) != 0) return false;
  bool all = found != nullptr;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) all = all && IsLoopbackSockaddr(a->ai_addr);
  ::freeaddrinfo(found);
  return all;
}

absl::Status CheckOpenBind(absl::string_view flag, absl::string_view address, bool secured, bool insecure) {
  if (secured || insecure || IsLoopback(address)) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      flag, " ", address,
      " reaches beyond this machine, but the cluster is open (no CurveZMQ keys): anyone who can "
      "connect could run commands and read tasks' files. Secure it (agora keys generate; "
      "docs/security.md), bind a loopback address, or pass --insecure to accept that"));
}

}  // namespace agora
