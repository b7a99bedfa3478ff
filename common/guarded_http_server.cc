#include "common/guarded_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/time/clock.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace agora {
namespace {

void AddressOf(const sockaddr_storage& addr, std::string& ip, int& port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf));
    port = ntohs(a->sin6_port);
  }
  ip = buf;
}

int PollMs(absl::Duration d) {
  return static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 0, 60'000));
}

// A socket stream whose reads end at the request's deadline and byte budget.
class GuardedStream final : public httplib::Stream {
 public:
  GuardedStream(int fd, const HttpLimits& limits) : fd_(fd), limits_(limits) {}

  // A new request: its head must be in within the deadline and the budget.
  void StartRequest() {
    deadline_ = absl::Now() + limits_.request_deadline;
    budget_ = limits_.max_head_bytes;
    timed_out_ = false;
  }
  // The head is in; the body may have `bytes` more.
  void AllowBody(size_t bytes) { budget_ = bytes; }
  // The request was refused: nothing more is read, the connection ends.
  void Close() {
    budget_ = 0;
    closing_ = true;
  }
  bool closing() const { return closing_; }
  bool timed_out() const { return timed_out_; }
  bool buffered() const { return off_ < size_; }
  bool WaitReadable(absl::Duration timeout) const {
    if (buffered()) return true;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, PollMs(timeout)) > 0;
  }

  bool is_readable() const override { return WaitReadable(deadline_ - absl::Now()); }
  bool is_writable() const override {
    pollfd p{fd_, POLLOUT, 0};
    return ::poll(&p, 1, PollMs(limits_.write_timeout)) > 0;
  }
  ssize_t read(char* ptr, size_t size) override {
    if (budget_ == 0) return -1;
    size = std::min(size, budget_);
    if (!buffered()) {
      const absl::Duration left = deadline_ - absl::Now();
      if (left <= absl::ZeroDuration() || !WaitReadable(left)) {
        timed_out_ = true;
        return -1;
      }
      ssize_t n;
      do {
        n = ::recv(fd_, buffer_, sizeof(buffer_), 0);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
      off_ = 0;
      size_ = static_cast<size_t>(n);
    }
    const size_t n = std::min(size, size_ - off_);
    std::memcpy(ptr, buffer_ + off_, n);
    off_ += n;
    budget_ -= n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    ssize_t n;
    do {
      n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) AddressOf(addr, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) AddressOf(addr, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  const int fd_;
  const HttpLimits& limits_;
  absl::Time deadline_ = absl::InfiniteFuture();
  size_t budget_ = 0;
  bool timed_out_ = false;
  bool closing_ = false;
  char buffer_[4096];
  size_t off_ = 0, size_ = 0;
};

thread_local GuardedStream* current_stream = nullptr;

// A whole response written straight to a socket the server will not serve.
void RefuseConnection(int fd, const std::string& why) {
  const std::string body = why + "\n";
  const std::string response =
      absl::StrCat("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: "
                   "text/plain\r\nContent-Length: ", body.size(), "\r\n\r\n", body);
  [[maybe_unused]] ssize_t ignored = ::send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

}  // namespace

GuardedHttpServer::GuardedHttpServer(HttpLimits limits) : limits_(limits) {
  const int threads = limits_.threads;
  new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  set_keep_alive_timeout(std::max<int64_t>(1, absl::ToInt64Seconds(limits_.idle_timeout)));
  set_payload_max_length(limits_.max_body_bytes);
  // Bodies are judged by their head, before a byte of them is read.
  set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    auto refuse = [&](int status, const std::string& message) {
      ++stats_.bodies_refused;
      res.status = status;
      res.set_header("Connection", "close");
      res.set_content(message + "\n", "text/plain");
      if (current_stream != nullptr) current_stream->Close();
      return HandlerResponse::Handled;
    };
    if (req.has_header("Transfer-Encoding")) {
      return refuse(411, "chunked request bodies are not accepted: send a Content-Length");
    }
    size_t length = 0;
    if (req.has_header("Content-Length") &&
        !absl::SimpleAtoi(req.get_header_value("Content-Length"), &length)) {
      return refuse(400, "Content-Length is not a number");
    }
    if (length > limits_.max_body_bytes) {
      return refuse(413, absl::StrCat("a request body may have at most ", limits_.max_body_bytes,
                                      " bytes; this one says ", length));
    }
    if (current_stream != nullptr) current_stream->AllowBody(length);
    return HandlerResponse::Unhandled;
  });
}

bool GuardedHttpServer::Admit(const std::string& client) {
  std::lock_guard<std::mutex> lock(mu_);
  int& n = connections_[client];
  if (n >= limits_.max_connections_per_client) return false;
  ++n;
  return true;
}

void GuardedHttpServer::Release(const std::string& client) {
  std::lock_guard<std::mutex> lock(mu_);
  if (--connections_[client] <= 0) connections_.erase(client);
}

bool GuardedHttpServer::process_and_close_socket(socket_t sock) {
  GuardedStream stream(sock, limits_);
  absl::Cleanup close_socket = [sock] {
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
  };
  std::string client;
  int port = 0;
  stream.get_remote_ip_and_port(client, port);
  if (!Admit(client)) {
    ++stats_.connections_refused;
    RefuseConnection(sock, absl::StrCat("too many connections from ", client, " (at most ",
                                        limits_.max_connections_per_client, ")"));
    return false;
  }
  absl::Cleanup release = [this, &client] { Release(client); };
  current_stream = &stream;
  absl::Cleanup forget = [] { current_stream = nullptr; };
  bool ok = true;
  for (int n = 0; n < limits_.max_requests_per_connection; ++n) {
    if (n > 0 && !stream.WaitReadable(limits_.idle_timeout)) break;
    stream.StartRequest();
    bool closed = false;
    ok = process_request(stream, n + 1 == limits_.max_requests_per_connection, closed,
                         [](httplib::Request&) {});
    if (stream.timed_out()) ++stats_.requests_timed_out;
    if (!ok || closed || stream.closing()) break;
  }
  return ok;
}

}  // namespace agora
