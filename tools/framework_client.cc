#include "tools/framework_client.h"
#include "tools/output.h"

#include <httplib.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace agora::tools {

using nlohmann::json;

FrameworkClient::FrameworkClient(sdk::MasterClient& master, std::string name, std::string endpoint,
                                 absl::Duration timeout)
    : master_(master), name_(std::move(name)), endpoint_(std::move(endpoint)), timeout_(timeout) {}

absl::Status FrameworkClient::Resolve() {
  if (!endpoint_.empty()) {
    access_ = HttpAccess{endpoint_};
    return absl::OkStatus();
  }
  if (access_ && access_->Fresh()) return absl::OkStatus();
  // A framework known to be re-subscribing (after a master failover, say)
  // is waited for, within the command's timeout.
  const absl::Time give_up = absl::Now() + timeout_;
  auto access = master_.HttpAccessTo("framework:" + name_);
  while (absl::IsUnavailable(access.status()) && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(250));
    access = master_.HttpAccessTo("framework:" + name_);
  }
  if (!access.ok()) return access.status();
  access_ = *std::move(access);
  return absl::OkStatus();
}

std::string NoAnswer(const std::string& who, const std::string& url, httplib::Error error) {
  if (error == httplib::Error::SSLConnection || error == httplib::Error::SSLServerVerification) {
    return absl::StrCat("no TLS connection to ", who, " at ", url, ": it showed a certificate other "
                        "than the one it announced to the master, or does not serve TLS (is something "
                        "else listening there?)");
  }
  return absl::StrCat(who, " at ", url, " did not answer: ", httplib::to_string(error));
}

absl::StatusOr<json> FrameworkClient::Call(const std::string& method, const std::string& path,
                                           const std::string& body, const std::string& content_type) {
  if (absl::Status s = Resolve(); !s.ok()) return s;
  HttpClient client(*access_, timeout_);
  httplib::Result r = method == "GET"    ? client->Get(path)
                      : method == "PUT"  ? client->Put(path, body, content_type)
                      : method == "DELETE" ? client->Delete(path)
                                           : client->Post(path, body, content_type);
  if (!r) return absl::UnavailableError(NoAnswer(name_, access_->url, r.error()));
  json answer = json::parse(r->body, nullptr, false);
  if (r->status >= 200 && r->status < 300 && !answer.is_discarded()) return answer;
  std::string message = answer.is_object() && answer.contains("error")
                            ? answer["error"].get<std::string>()
                            : absl::StrCat("HTTP ", r->status, ": ", r->body);
  switch (r->status) {
    case 400: return absl::InvalidArgumentError(message);
    case 401: return absl::UnauthenticatedError(message);
    case 403: return absl::PermissionDeniedError(message);
    case 404: return absl::NotFoundError(message);
    case 409: return absl::FailedPreconditionError(message);
    default: return absl::InternalError(message);
  }
}

int CommandFailed(const std::string& what, const absl::Status& s) {
  PrintError(what, s.message());
  return 1;
}

int PrintResult(const std::string& what, const absl::StatusOr<json>& r, bool as_json,
                const std::function<void(const json&)>& print) {
  if (!r.ok()) return CommandFailed(what, r.status());
  if (as_json) {
    PrintData(*r);
  } else {
    print(*r);
  }
  return 0;
}

std::optional<std::string> ReadSpecFile(const std::string& what, const std::string& path) {
  std::stringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(path);
  if (!in) {
    std::cerr << "agora " << what << ": cannot read " << path << "\n";
    return std::nullopt;
  }
  text << in.rdbuf();
  return text.str();
}

}  // namespace agora::tools
