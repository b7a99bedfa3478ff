#include "agent/executor/prober.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace agora::agent {
namespace {

// Waits for `events` on fd until `deadline`; false on timeout.
bool WaitFd(int fd, short events, absl::Time deadline) {
  for (;;) {
    int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (ms < 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, ms);
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// A connected socket to 127.0.0.1:port, or -1 with `*why` set.
int Connect(uint32_t port, absl::Time deadline, std::string* why) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *why = absl::StrCat("socket: ", strerror(errno));
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 && errno != EINPROGRESS) {
    *why = strerror(errno);
    ::close(fd);
    return -1;
  }
  if (!WaitFd(fd, POLLOUT, deadline)) {
    *why = "timed out connecting";
    ::close(fd);
    return -1;
  }
  int err = 0;
  socklen_t len = sizeof(err);
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    *why = strerror(err);
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

ProbeResult ProbeTcp(uint32_t port, absl::Duration timeout) {
  std::string why;
  int fd = Connect(port, absl::Now() + timeout, &why);
  if (fd < 0) return {false, absl::StrCat("tcp ", port, ": ", why)};
  ::close(fd);
  return {true, absl::StrCat("tcp ", port, ": connected")};
}

ProbeResult ProbeHttp(uint32_t port, const std::string& path, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string why;
  int fd = Connect(port, deadline, &why);
  if (fd < 0) return {false, absl::StrCat("http ", port, ": ", why)};
  const std::string request = absl::StrCat("GET ", path.empty() ? "/" : path,
                                           " HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: agora-health\r\n"
                                           "Connection: close\r\n\r\n");
  size_t sent = 0;
  while (sent < request.size()) {
    if (!WaitFd(fd, POLLOUT, deadline)) break;
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += n;
  }
  std::string head;
  while (head.find("\r\n") == std::string::npos && head.size() < 1024) {
    if (!WaitFd(fd, POLLIN, deadline)) break;
    char buf[512];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    head.append(buf, n);
  }
  ::close(fd);
  // "HTTP/1.1 200 OK"
  int status = 0;
  if (head.rfind("HTTP/", 0) != 0 || head.size() < 12 || !absl::SimpleAtoi(head.substr(9, 3), &status)) {
    return {false, absl::StrCat("http ", port, path, ": no HTTP answer",
                                absl::Now() >= deadline ? absl::StrCat(" within ", absl::FormatDuration(timeout)) : "")};
  }
  return {status >= 200 && status < 400, absl::StrCat("http ", port, path, ": HTTP ", status)};
}

Prober::Prober() : thread_([this] { Run(); }) {}

Prober::~Prober() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_one();
  thread_.join();
}

void Prober::Probe(Request request) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(request));
  }
  cv_.notify_one();
}

void Prober::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Request r = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    ProbeResult result = r.http ? ProbeHttp(r.port, r.path, r.timeout) : ProbeTcp(r.port, r.timeout);
    r.done(std::move(result));
    lock.lock();
  }
}

}  // namespace agora::agent
