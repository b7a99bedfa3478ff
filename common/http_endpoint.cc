#include "common/http_endpoint.h"

#include <future>

#include <httplib.h>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace agora {

absl::StatusOr<std::unique_ptr<HttpEndpoint>> HttpEndpoint::Start(const std::string& host,
                                                                   int port, EventLoop& loop,
                                                                   Render render) {
  std::unique_ptr<HttpEndpoint> http(new HttpEndpoint());
  http->loop_ = &loop;
  http->render_ = std::move(render);
  http->server_ = std::make_unique<httplib::Server>();
  HttpEndpoint* self = http.get();
  http->server_->Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  http->server_->Get("/state", [self](const httplib::Request&, httplib::Response& res) {
    self->Serve("/state", "application/json", &res);
  });
  http->server_->Get("/metrics", [self](const httplib::Request&, httplib::Response& res) {
    self->Serve("/metrics", "text/plain; version=0.0.4", &res);
  });
  http->port_ = port == 0 ? http->server_->bind_to_any_port(host)
                          : (http->server_->bind_to_port(host, port) ? port : -1);
  if (http->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot bind HTTP on ", host, ":", port));
  }
  http->thread_ = std::thread([self] { self->server_->listen_after_bind(); });
  return http;
}

HttpEndpoint::~HttpEndpoint() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

void HttpEndpoint::Serve(const std::string& path, const char* content_type, void* response) {
  auto& res = *static_cast<httplib::Response*>(response);
  auto promise = std::make_shared<std::promise<std::string>>();
  std::future<std::string> body = promise->get_future();
  loop_->Post([this, path, promise] { promise->set_value(render_(path)); });
  if (body.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
    res.status = 503;
    res.set_content("the daemon's loop did not answer in time\n", "text/plain");
    return;
  }
  res.set_content(body.get(), content_type);
}

}  // namespace agora
