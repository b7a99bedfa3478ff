// Prober runs a health check's network probes (tcp: a connection; http: a
// GET whose status is 2xx or 3xx) against 127.0.0.1 on its own thread, one at
// a time, each bounded by its timeout, and hands each result to a callback
// (which the executor posts to its loop). Blocking calls stay off the loop.
// Probe() is thread-safe; the destructor drops what is queued and joins.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"

namespace agora::agent {

struct ProbeResult {
  bool ok = false;
  std::string detail;  // "HTTP 200", "connection refused", "timed out after 1s"
};

// Synchronous probes, also used by tests.
ProbeResult ProbeTcp(uint32_t port, absl::Duration timeout);
ProbeResult ProbeHttp(uint32_t port, const std::string& path, absl::Duration timeout);

class Prober {
 public:
  struct Request {
    bool http = false;
    uint32_t port = 0;
    std::string path;
    absl::Duration timeout;
    std::function<void(ProbeResult)> done;  // runs on the prober's thread
  };

  Prober();
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  void Probe(Request request);

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace agora::agent
