#include "common/http_endpoint.h"

#include <errno.h>  // program_invocation_short_name
#include <unistd.h>

#include <algorithm>
#include <future>

#include <httplib.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "common/metrics_writer.h"
#include "common/process_metrics.h"
#include "common/sockets.h"
#include "common/version.h"

namespace agora {
namespace {

// The labels of a request's duration: a bounded set whatever the client asks.
std::string RouteLabels(const std::string& method, absl::string_view path, int status) {
  std::string route(path);
  if (absl::ConsumePrefix(&path, "/v1/")) {
    const absl::string_view first = path.substr(0, path.find('/'));
    const bool plain = std::all_of(first.begin(), first.end(), [](char c) {
      return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
    route = status == 404 || !plain ? "/v1/unknown" : absl::StrCat("/v1/", first);
  }
  const bool known = method == "GET" || method == "POST" || method == "PUT" || method == "DELETE";
  return absl::StrCat("method=\"", known ? method : "other", "\",route=\"", route, "\"");
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpEndpoint>> HttpEndpoint::Start(const std::string& host,
                                                                   int port, EventLoop& loop,
                                                                   Render render, Api api,
                                                                   std::optional<HttpSecurity> security,
                                                                   Health health, HttpLimits limits) {
  std::unique_ptr<HttpEndpoint> http(new HttpEndpoint());
  http->loop_ = &loop;
  http->render_ = std::move(render);
  http->api_ = std::move(api);
  http->security_ = std::move(security);
  http->server_ = std::make_unique<GuardedHttpServer>(limits);
  HttpEndpoint* self = http.get();
  if (http->security_) {
    if (absl::Status s = http->server_->EnableTls(http->security_->identity); !s.ok()) return s;
    http->server_->set_authenticator([self](const httplib::Request& head) { return self->Authenticate(head); });
  }
  if (health) {
    http->server_->Get("/health", [self, health](const httplib::Request&, httplib::Response& res) {
      self->Serve(HttpRequest{"GET", "/health"}, [health](const HttpRequest&) {
        const std::string problem = health();
        return problem.empty() ? HttpReply{200, "ok\n", "text/plain"}
                               : HttpReply{503, problem + "\n", "text/plain"};
      }, &res);
    });
  } else {
    http->server_->Get("/health", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
  }
  http->server_->Get("/version", [self](const httplib::Request&, httplib::Response& res) {
    self->Serve(HttpRequest{"GET", "/version"}, [](const HttpRequest&) {
      return HttpReply{200, VersionJson(program_invocation_short_name) + "\n", "application/json"};
    }, &res);
  });
  for (const auto& route : {std::pair{"/state", "application/json"},
                            {"/metrics", "text/plain; version=0.0.4"}}) {
    const char* path = route.first;  // (clang 14 cannot capture structured bindings)
    const char* type = route.second;
    http->server_->Get(path, [self, path, type](const httplib::Request&, httplib::Response& res) {
      self->Serve(HttpRequest{"GET", path}, [self, type](const HttpRequest& r) {
        if (r.path == "/state" && self->gate_) {
          if (std::optional<HttpReply> instead = self->gate_(r)) return *std::move(instead);
        }
        std::string body = self->render_(r.path);
        if (r.path == "/metrics") body += self->CommonMetrics();
        return HttpReply{200, std::move(body), type};
      }, &res);
    });
  }
  if (http->api_) {
    auto route = [self](const httplib::Request& req, httplib::Response& res) {
      HttpRequest request{req.method, req.path, {}, req.body};
      for (const auto& [k, v] : req.params) request.params[k] = v;
      self->Serve(std::move(request), [self](const HttpRequest& r) {
        if (self->gate_) {
          if (std::optional<HttpReply> instead = self->gate_(r)) return *std::move(instead);
        }
        return self->api_(r);
      }, &res);
    };
    http->server_->Get("/v1/.*", route);
    http->server_->Post("/v1/.*", route);
    http->server_->Put("/v1/.*", route);
    http->server_->Delete("/v1/.*", route);
  }
  http->port_ = port == 0 ? http->server_->bind_to_any_port(host)
                          : (http->server_->bind_to_port(host, port) ? port : -1);
  if (http->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot bind HTTP on ", host, ":", port));
  }
  http->thread_ = std::thread([self] { self->server_->listen_after_bind(); });
  return http;
}

std::string HttpEndpoint::CommonMetrics() const {
  MetricsWriter w;
  WriteProcessMetrics(w);
  w.Latencies("agora_http_request_duration_seconds",
              "HTTP requests answered, by method and route: from the request read to the reply made.",
              request_seconds_);
  w.Family("agora_build_info", "gauge", "The version and commit this daemon was built from (always 1).");
  w.Sample("agora_build_info", 1, absl::StrCat("version=\"", kVersion, "\",commit=\"", kCommit, "\""));
  const HttpGuardStats& s = server_->guard_stats();
  w.Counters({
      {"agora_http_connections_refused_total",
       "HTTP connections refused: the client held the most allowed at once.",
       s.connections_refused.load()},
      {"agora_http_requests_timed_out_total",
       "HTTP requests whose head or body did not arrive by the deadline.",
       s.requests_timed_out.load()},
      {"agora_http_bodies_refused_total", "HTTP request bodies refused unread (too large, chunked).",
       s.bodies_refused.load()},
      {"agora_http_tls_handshakes_failed_total", "HTTPS connections without a TLS handshake by the deadline.",
       s.handshakes_failed.load()},
      {"agora_http_unauthenticated_total", "HTTP requests refused: no valid token, or not an operator's.",
       s.unauthenticated.load()},
  });
  return w.Take();
}

std::string AdvertisedUrl(const std::string& host, int port, bool tls) {
  const std::string advertised = host == "0.0.0.0" || host == "::" ? HostName() : host;
  return absl::StrCat(tls ? "https://" : "http://", advertised, ":", port);
}

absl::StatusOr<HttpSecurity> MakeHttpSecurity(const std::string& name, const CurveClient& curve,
                                              bool open_metrics) {
  auto identity = MakeSelfSignedIdentity(name);
  if (!identity.ok()) return identity.status();
  auto verifier = HttpTokenVerifier::Create(curve.own, curve.server_public_key);
  if (!verifier.ok()) return verifier.status();
  return HttpSecurity{*std::move(identity), *std::move(verifier), open_metrics};
}

absl::Status HttpEndpoint::Authenticate(const httplib::Request& head) const {
  if (head.path == "/health" || (head.path == "/metrics" && security_->open_metrics)) {
    return absl::OkStatus();
  }
  const std::string header = head.get_header_value("Authorization");
  absl::string_view token = header;
  if (!absl::StartsWithIgnoreCase(token, "bearer ")) {
    return absl::UnauthenticatedError(
        "this daemon is secured: send `Authorization: Bearer TOKEN` with a token the master "
        "issues to an operator key (the agora CLI does this itself)");
  }
  token.remove_prefix(7);
  auto grant = security_->verifier.Verify(absl::StripLeadingAsciiWhitespace(token), absl::Now());
  if (!grant.ok()) return grant.status();
  if (grant->kind != CurvePrincipal::Kind::kOperator) {
    return absl::PermissionDeniedError(absl::StrCat("key '", grant->holder, "' is not an operator"));
  }
  return absl::OkStatus();
}

HttpEndpoint::~HttpEndpoint() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

void HttpEndpoint::Serve(HttpRequest request, std::function<HttpReply(const HttpRequest&)> answer,
                         void* response) {
  auto& res = *static_cast<httplib::Response*>(response);
  const absl::Time start = absl::Now();
  const std::string method = request.method;
  const std::string path = request.path;
  auto promise = std::make_shared<std::promise<HttpReply>>();
  std::future<HttpReply> reply = promise->get_future();
  loop_->Post([request = std::move(request), answer = std::move(answer), promise] {
    promise->set_value(answer(request));
  });
  if (reply.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    res.status = 503;
    res.set_content("the daemon's loop did not answer in time\n", "text/plain");
  } else {
    HttpReply r = reply.get();
    if (r.off_loop) r = r.off_loop();
    res.status = r.status;
    if (!r.location.empty()) res.set_header("Location", r.location);
    res.set_content(r.body, r.content_type);
  }
  request_seconds_.For(RouteLabels(method, path, res.status)).Observe(absl::Now() - start);
}

}  // namespace agora
