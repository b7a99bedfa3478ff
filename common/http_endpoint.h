// HttpEndpoint serves a daemon's (the master's, an agent's, a framework's)
// HTTP (cpp-httplib): GET /health, /state (JSON) and /metrics (Prometheus text
// format), and for a framework its API under /v1/. The HTTP
// library answers on its own threads, but a daemon's state belongs to its
// event loop: every request posts a closure to the loop and waits for its
// answer with a deadline (503 when the loop does not answer in time).
//
// Secured (an HttpSecurity given): HTTPS only, and every request but /health
// (and /metrics, when open_metrics) carries a bearer token the master issued
// to an operator for this daemon (common/http_token.h); others get 401, or
// 403 for a principal that is not an operator. The request's body is not
// read before its head passed.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/event_loop.h"
#include "common/guarded_http_server.h"
#include "common/histogram.h"
#include "common/http_token.h"
#include "common/tls_identity.h"


namespace agora {

struct HttpRequest {
  std::string method;  // "GET", "POST", "PUT", "DELETE"
  std::string path;    // "/v1/jobs/r-1.a"
  std::map<std::string, std::string> params;  // the query string
  std::string body;
};

struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::string location;  // with a 3xx status: where to ask instead
  // When set, the reply sent is what this returns, run on the HTTP worker
  // after the loop answered: work that may block (file I/O) stays off the loop.
  std::function<HttpReply()> off_loop;
};

// "http://HOST:PORT" ("https://" with `tls`) for others to reach a server
// bound to `host`: a wildcard address (0.0.0.0, ::) is announced as this
// machine's hostname.
std::string AdvertisedUrl(const std::string& host, int port, bool tls = false);

struct HttpSecurity {
  TlsIdentity identity;
  HttpTokenVerifier verifier;
  bool open_metrics = false;  // /metrics without a token (for Prometheus)
};

// A secured daemon's HTTP security from its CurveZMQ keys: a fresh
// certificate named `name`, and a verifier of the master's tokens for it.
absl::StatusOr<HttpSecurity> MakeHttpSecurity(const std::string& name, const CurveClient& curve,
                                              bool open_metrics);

class HttpEndpoint {
 public:
  // Runs on the loop thread; returns the body for "/state" or "/metrics".
  using Render = std::function<std::string(const std::string& path)>;
  // Runs on the loop thread; answers any request under /v1/.
  using Api = std::function<HttpReply(const HttpRequest& request)>;
  // Runs on the loop thread: why the daemon is unhealthy, empty when it is
  // not. With one, /health answers through the loop (503 with the reason,
  // or when the loop does not answer); without, "ok" from the HTTP thread.
  using Health = std::function<std::string()>;

  // Binds host:port (port 0 picks a free one) and starts serving within
  // `limits` (common/guarded_http_server.h); /metrics carries its counters.
  static absl::StatusOr<std::unique_ptr<HttpEndpoint>> Start(const std::string& host, int port,
                                                             EventLoop& loop, Render render,
                                                             Api api = nullptr,
                                                             std::optional<HttpSecurity> security = {},
                                                             Health health = nullptr,
                                                             HttpLimits limits = {});
  ~HttpEndpoint();  // stops serving and joins the server thread
  // Runs on the loop thread before /state and /v1/ are answered; a reply it
  // returns is sent instead (a standby master's redirect to its leader).
  using Gate = std::function<std::optional<HttpReply>(const HttpRequest& request)>;
  void set_gate(Gate gate) { gate_ = std::move(gate); }  // loop thread
  int port() const { return port_; }
  bool tls() const { return security_.has_value(); }
  // The fingerprint clients pin (empty without TLS).
  std::string certificate_sha256() const { return security_ ? security_->identity.sha256 : ""; }

 private:
  HttpEndpoint() = default;
  // Answers `request` with `answer` run on the loop, or 503 after a deadline.
  // What every daemon's /metrics carries: build info, process_*, the
  // server's refusal counters and its request durations.
  std::string CommonMetrics() const;
  void Serve(HttpRequest request, std::function<HttpReply(const HttpRequest&)> answer,
             void* response);

  // Who may ask for `path` (see the header comment); any thread.
  absl::Status Authenticate(const httplib::Request& head) const;

  std::optional<HttpSecurity> security_;
  EventLoop* loop_ = nullptr;
  Render render_;
  Api api_;
  Gate gate_;  // loop thread
  std::unique_ptr<GuardedHttpServer> server_;
  std::thread thread_;
  int port_ = 0;
  // By method and route: a fixed path, or /v1/ and the first segment of a
  // path the API knows (unknown ones count as /v1/unknown). Any thread.
  HistogramVec request_seconds_{R"(method="other",route="other")"};
};

}  // namespace agora
