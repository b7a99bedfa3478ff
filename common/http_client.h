// HttpClient reaches a daemon's HTTP the way the master said to (an
// HttpAccess answer): over TLS accepting only the announced certificate,
// with the master's token for that daemon, or plain on an open cluster.
// Not thread-safe; one per thread.
//
// Example:
//   auto access = master.HttpAccess("agent:agent1");
//   HttpClient http(*access, absl::Seconds(10));
//   httplib::Result r = http->Get("/v1/files?...");
#pragma once

#include <memory>
#include <string>

#include <httplib.h>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace agora {

struct HttpAccess {
  std::string url;          // http(s)://HOST:PORT
  std::string cert_sha256;  // with https: the one certificate to accept
  std::string token;        // with https: sent as a bearer token
  absl::Time expires = absl::InfiniteFuture();

  // Whether its token is good for another request or two; else ask again.
  bool Fresh() const { return expires - absl::Now() > absl::Seconds(30); }
};

class HttpClient {
 public:
  // `timeout` bounds connecting and each read.
  HttpClient(HttpAccess access, absl::Duration timeout);
  httplib::Client* operator->() { return client_.get(); }
  const HttpAccess& access() const { return *access_; }

 private:
  std::unique_ptr<HttpAccess> access_;  // stable: the pin callback reads its fingerprint
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace agora
