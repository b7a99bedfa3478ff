// HttpEndpoint serves a daemon's (the master's, an agent's) monitoring endpoints over HTTP (cpp-httplib):
// GET /health, /state (JSON) and /metrics (Prometheus text format). The HTTP
// library answers on its own threads, but a daemon's state belongs to its
// event loop: every request posts a closure to the loop and waits for its
// answer with a deadline (503 when the loop does not answer in time).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/event_loop.h"

namespace httplib {
class Server;
}

namespace agora {

class HttpEndpoint {
 public:
  // Runs on the loop thread; returns the body for "/state" or "/metrics".
  using Render = std::function<std::string(const std::string& path)>;

  // Binds host:port (port 0 picks a free one) and starts serving.
  static absl::StatusOr<std::unique_ptr<HttpEndpoint>> Start(const std::string& host, int port,
                                                             EventLoop& loop, Render render);
  ~HttpEndpoint();  // stops serving and joins the server thread
  int port() const { return port_; }

 private:
  HttpEndpoint() = default;
  void Serve(const std::string& path, const char* content_type, void* response);

  EventLoop* loop_ = nullptr;
  Render render_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace agora
