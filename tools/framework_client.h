// FrameworkClient talks to a framework's HTTP API (agora-batch,
// agora-services) for the CLI. It finds the API through the master: the
// framework announced its endpoint when it subscribed, so `--master` is all
// a user gives. An explicit endpoint (a flag or environment variable) wins.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "frameworks/sdk/master_client.h"

namespace agora::tools {

class FrameworkClient {
 public:
  // `endpoint` may be empty: then the active framework called `name` is
  // looked up on the master.
  FrameworkClient(sdk::MasterClient& master, std::string name, std::string endpoint,
                  absl::Duration timeout);

  // Sends a request and returns the JSON answer. The framework's error
  // ({"error": "..."}) becomes a status with its message: InvalidArgument for
  // 400, NotFound for 404, FailedPrecondition for 409.
  absl::StatusOr<nlohmann::json> Call(const std::string& method, const std::string& path,
                                      const std::string& body = "",
                                      const std::string& content_type = "application/json");

 private:
  absl::Status Resolve();

  sdk::MasterClient& master_;
  std::string name_;
  std::string endpoint_;
  absl::Duration timeout_;
};

}  // namespace agora::tools
