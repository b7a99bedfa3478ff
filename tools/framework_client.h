// FrameworkClient talks to a framework's HTTP API (agora-batch,
// agora-services) for the CLI. It finds the API through the master: the
// framework announced its endpoint when it subscribed, so `--master` is all
// a user gives. An explicit endpoint (a flag or environment variable) wins.
// On a secured cluster the master also hands over the API's certificate
// fingerprint and a token for it (an operator key is needed).
#pragma once

#include <functional>
#include <optional>
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
  std::optional<HttpAccess> access_;  // renewed before its token expires
  absl::Duration timeout_;
};

// Shared by the framework commands. `what` names the command ("job submit").
// Prints "agora WHAT: MESSAGE" to stderr; returns exit code 1.
int CommandFailed(const std::string& what, const absl::Status& s);
// Why a request to `who` at `url` got no answer, in words.
std::string NoAnswer(const std::string& who, const std::string& url, httplib::Error error);
// Exit code 0 after printing `r` (as JSON with `json`, else with `print`),
// or CommandFailed.
int PrintResult(const std::string& what, const absl::StatusOr<nlohmann::json>& r, bool json,
                const std::function<void(const nlohmann::json&)>& print);
// A spec file's text, or stdin's for "-"; nullopt after saying it cannot be read.
std::optional<std::string> ReadSpecFile(const std::string& what, const std::string& path);

}  // namespace agora::tools
