#include "common/guarded_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/time/clock.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/json_text.h"

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

// Waits until `fd` has one of `events`, or `timeout` passes (false).
bool PollFor(int fd, short events, absl::Duration timeout) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, PollMs(timeout)) > 0;
}

// A socket stream whose reads end at the request's deadline and byte budget;
// with `ssl` (a finished handshake on a non-blocking socket), over TLS.
class GuardedStream final : public httplib::Stream {
 public:
  GuardedStream(int fd, const HttpLimits& limits, SSL* ssl = nullptr)
      : fd_(fd), limits_(limits), ssl_(ssl) {}

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
  bool buffered() const { return off_ < size_ || (ssl_ != nullptr && SSL_pending(ssl_) > 0); }
  bool WaitReadable(absl::Duration timeout) const {
    return buffered() || PollFor(fd_, POLLIN, timeout);
  }

  bool is_readable() const override { return WaitReadable(deadline_ - absl::Now()); }
  bool is_writable() const override { return PollFor(fd_, POLLOUT, limits_.write_timeout); }
  ssize_t read(char* ptr, size_t size) override {
    if (budget_ == 0) return -1;
    size = std::min(size, budget_);
    if (off_ == size_) {
      const ssize_t n = ssl_ != nullptr ? ReceiveTls() : ReceivePlain();
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
    if (ssl_ != nullptr) return SendTls(ptr, size);
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
  // Fill the buffer: what arrives before the deadline, 0 at the end, -1.
  ssize_t ReceivePlain() {
    const absl::Duration left = deadline_ - absl::Now();
    if (left <= absl::ZeroDuration() || !WaitReadable(left)) {
      timed_out_ = true;
      return -1;
    }
    ssize_t n;
    do {
      n = ::recv(fd_, buffer_, sizeof(buffer_), 0);
    } while (n < 0 && errno == EINTR);
    return n;
  }
  ssize_t ReceiveTls() {
    for (;;) {
      const int n = SSL_read(ssl_, buffer_, sizeof(buffer_));
      if (n > 0) return n;
      const int error = SSL_get_error(ssl_, n);
      if (error == SSL_ERROR_ZERO_RETURN) return 0;
      if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) return -1;
      const absl::Duration left = deadline_ - absl::Now();
      if (left <= absl::ZeroDuration() ||
          !PollFor(fd_, error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, left)) {
        timed_out_ = true;
        return -1;
      }
    }
  }
  // All of `size` bytes or -1: a TLS write is retried with the same buffer.
  ssize_t SendTls(const char* ptr, size_t size) {
    const absl::Time deadline = absl::Now() + limits_.write_timeout;
    for (;;) {
      const int n = SSL_write(ssl_, ptr, static_cast<int>(size));
      if (n > 0) return n;
      const int error = SSL_get_error(ssl_, n);
      if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) return -1;
      if (!PollFor(fd_, error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline - absl::Now())) {
        return -1;
      }
    }
  }

  const int fd_;
  const HttpLimits& limits_;
  SSL* const ssl_;
  absl::Time deadline_ = absl::InfiniteFuture();
  size_t budget_ = 0;
  bool timed_out_ = false;
  bool closing_ = false;
  char buffer_[4096];
  size_t off_ = 0, size_ = 0;
};

thread_local GuardedStream* current_stream = nullptr;

// A whole response written straight to a connection the server will not
// serve (over `ssl` when it has one), without waiting for the client.
void RefuseConnection(int fd, SSL* ssl, const std::string& why) {
  const std::string body = why + "\n";
  const std::string response =
      absl::StrCat("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: "
                   "text/plain\r\nContent-Length: ", body.size(), "\r\n\r\n", body);
  if (ssl != nullptr) {
    SSL_write(ssl, response.data(), static_cast<int>(response.size()));
    return;
  }
  [[maybe_unused]] ssize_t ignored = ::send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

// A TLS session: closed (close_notify, best effort) and freed when it goes.
void CloseSsl(SSL* ssl) {
  SSL_shutdown(ssl);
  SSL_free(ssl);
}
using UniqueSsl = std::unique_ptr<SSL, OpenSslFree<SSL, CloseSsl>>;

// The server's half of a TLS handshake on `sock` (made non-blocking), by
// `deadline`; null when it fails or is late.
UniqueSsl AcceptTls(SSL_CTX* ctx, int sock, absl::Time deadline) {
  ::fcntl(sock, F_SETFL, ::fcntl(sock, F_GETFL) | O_NONBLOCK);
  UniqueSsl ssl(SSL_new(ctx));
  if (ssl == nullptr || SSL_set_fd(ssl.get(), sock) != 1) return nullptr;
  for (;;) {
    const int r = SSL_accept(ssl.get());
    if (r == 1) return ssl;
    const int error = SSL_get_error(ssl.get(), r);
    if ((error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) ||
        !PollFor(sock, error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline - absl::Now())) {
      return nullptr;
    }
  }
}

}  // namespace


absl::Status GuardedHttpServer::EnableTls(const TlsIdentity& identity) {
  tls_.reset(SSL_CTX_new(TLS_server_method()));
  SSL_CTX* ctx = tls_.get();
  if (ctx == nullptr || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_use_certificate(ctx, identity.cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, identity.key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    tls_.reset();
    return absl::InternalError("cannot set up TLS with this certificate and key");
  }
  return absl::OkStatus();
}

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
    if (authenticate_) {
      if (absl::Status s = authenticate_(req); !s.ok()) {
        ++stats_.unauthenticated;
        const bool unknown = absl::IsUnauthenticated(s);
        if (unknown) res.set_header("WWW-Authenticate", "Bearer realm=\"agora\"");
        res.status = unknown ? 401 : 403;
        res.set_header("Connection", "close");
        res.set_content(JsonText({{"error", std::string(s.message())}}) + "\n", "application/json");
        if (current_stream != nullptr) current_stream->Close();
        return HandlerResponse::Handled;
      }
    }
    if (req.has_header("Transfer-Encoding")) {
      return refuse(411, "chunked request bodies are not accepted: send a Content-Length");
    }
    // The library would inflate a compressed body without a bound.
    if (req.has_header("Content-Encoding")) {
      return refuse(415, "compressed request bodies are not accepted");
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
  absl::Cleanup close_socket = [sock] {
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
  };
  std::string client;
  int port = 0;
  GuardedStream(sock, limits_).get_remote_ip_and_port(client, port);
  if (!Admit(client)) {
    ++stats_.connections_refused;
    // Over TLS the refusal is said over TLS too (briefly: a refused client
    // does not hold a worker for a whole request deadline).
    UniqueSsl ssl = tls_ ? AcceptTls(tls_.get(), sock, absl::Now() + absl::Seconds(1)) : nullptr;
    if (!tls_ || ssl != nullptr) {
      RefuseConnection(sock, ssl.get(), absl::StrCat("too many connections from ", client, " (at most ",
                                                     limits_.max_connections_per_client, ")"));
    }
    return false;
  }
  absl::Cleanup release = [this, &client] { Release(client); };
  UniqueSsl ssl;
  if (tls_) {
    ssl = AcceptTls(tls_.get(), sock, absl::Now() + limits_.request_deadline);
    if (ssl == nullptr) {
      ++stats_.handshakes_failed;
      return false;
    }
  }
  GuardedStream stream(sock, limits_, ssl.get());
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
