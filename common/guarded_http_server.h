// GuardedHttpServer is cpp-httplib's Server with the limits a daemon facing
// untrusted clients needs, which the library leaves to its caller:
//
//  - a deadline for each request's head and body together (not per read: a
//    client that sends a header line every few seconds is cut off), and an
//    idle timeout between the requests of one connection;
//  - a cap on the bytes of a request head, and bodies refused by their
//    Content-Length before any of them is read (413), chunked bodies refused
//    (411);
//  - a cap on the connections one client address holds at once (503 past it);
//  - a fixed pool of worker threads;
//  - TLS when enabled: the handshake, too, within the request deadline.
//
// Handlers are registered as on httplib::Server. Thread-safe as httplib is;
// the counters may be read from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <httplib.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/tls_identity.h"

namespace agora {

struct HttpLimits {
  absl::Duration request_deadline = absl::Seconds(10);  // head + body of one request
  absl::Duration idle_timeout = absl::Seconds(5);       // between requests on a connection
  absl::Duration write_timeout = absl::Seconds(10);     // each write of a response
  size_t max_head_bytes = 64 * 1024;
  size_t max_body_bytes = 4 << 20;
  int max_connections_per_client = 8;  // well below `threads`: one client never holds them all
  int max_requests_per_connection = 100;
  int threads = 64;
};

struct HttpGuardStats {
  std::atomic<uint64_t> connections_refused{0};  // over the per-client cap
  std::atomic<uint64_t> requests_timed_out{0};   // head or body not in by the deadline
  std::atomic<uint64_t> bodies_refused{0};       // too large, or chunked
  std::atomic<uint64_t> handshakes_failed{0};    // TLS: no handshake by the deadline
  std::atomic<uint64_t> unauthenticated{0};      // refused by the authenticator (401, 403)
};

// Judges a request by its head, before its body is read: OK, Unauthenticated
// (answered 401) or PermissionDenied (403), with the reason. Any thread.
using HttpAuthenticator = std::function<absl::Status(const httplib::Request& head)>;

class GuardedHttpServer : public httplib::Server {
 public:
  explicit GuardedHttpServer(HttpLimits limits = {});
  // Serves HTTPS only, as `identity`; call before listening.
  absl::Status EnableTls(const TlsIdentity& identity);
  bool tls() const { return tls_ != nullptr; }
  // Every request passes `authenticate` first; call before listening.
  void set_authenticator(HttpAuthenticator authenticate) { authenticate_ = std::move(authenticate); }
  const HttpGuardStats& guard_stats() const { return stats_; }
  const HttpLimits& limits() const { return limits_; }

 private:
  bool process_and_close_socket(socket_t sock) override;
  // Counts a connection of `client`; false when it holds the most already.
  bool Admit(const std::string& client);
  void Release(const std::string& client);

  const HttpLimits limits_;
  UniqueSslCtx tls_;
  HttpAuthenticator authenticate_;
  HttpGuardStats stats_;
  std::mutex mu_;
  std::map<std::string, int> connections_;  // by client address
};

}  // namespace agora
