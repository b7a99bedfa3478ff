// ServiceResolver: a program's view of one service's healthy endpoints, from
// agora-services, and a Picker to choose among them per request.
//
//   auto api = ServicesApiFromMaster("tcp://10.0.0.1:5050");
//   auto web = ServiceResolver::Create("web", {.api_url = *api, .policy = Policy::kWeighted});
//   if (auto lease = (*web)->Pick()) Connect(lease->address, lease->port);  // in flight until it goes
//
// Create() fetches the endpoints once (NotFound for an unknown service), then
// a background thread refreshes them every `refresh` and swaps them in when
// they change. Failure behaviour: while agora-services cannot be reached the
// last endpoints are kept (and last_error() says why); an instance that left
// them is no longer picked after the next refresh.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "frameworks/service/client/picker.h"

namespace agora::service::client {

// agora-services' API URL, as it announced it to the master at `master`.
absl::StatusOr<std::string> ServicesApiFromMaster(const std::string& master,
                                                  absl::Duration timeout = absl::Seconds(5));

class ServiceResolver {
 public:
  struct Options {
    std::string api_url;     // agora-services' HTTP API: "http://HOST:PORT"
    std::string port;        // which named port (empty: the service's first)
    Policy policy = Policy::kRoundRobin;
    absl::Duration refresh = absl::Seconds(1);
    absl::Duration timeout = absl::Seconds(2);  // per fetch
  };

  static absl::StatusOr<std::unique_ptr<ServiceResolver>> Create(std::string service, Options options);
  ~ServiceResolver();  // stops the refresh thread

  Picker::Lease Pick() { return picker_.Pick(); }
  std::vector<Endpoint> Endpoints() const { return picker_.Endpoints(); }
  uint64_t changes() const { return changes_; }  // endpoint sets swapped in after the first
  absl::Status last_error() const;

 private:
  ServiceResolver(std::string service, Options options);
  absl::StatusOr<std::vector<Endpoint>> Fetch() const;
  void Refresh();
  void RefreshLoop();

  const std::string service_;
  const Options options_;
  Picker picker_;
  std::atomic<uint64_t> changes_ = 0;
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  absl::Status last_error_;
  std::thread thread_;
};

}  // namespace agora::service::client
