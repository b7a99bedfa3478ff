// JSON replies for the frameworks' HTTP APIs: a body with a status code, and
// absl::Status errors as {"error": "..."} with the HTTP code their canonical
// code means (400 bad input, 404 unknown, 409 wrong state, 500 otherwise).
#pragma once

#include "common/json_text.h"

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "common/http_endpoint.h"

namespace agora {

inline HttpReply JsonReply(int status, const nlohmann::json& body) {
  return HttpReply{status, JsonText(body) + "\n"};
}

inline HttpReply ErrorReply(const absl::Status& s) {
  int code = 500;
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument: code = 400; break;
    case absl::StatusCode::kNotFound: code = 404; break;
    case absl::StatusCode::kFailedPrecondition: code = 409; break;
    default: break;
  }
  return JsonReply(code, {{"error", std::string(s.message())}});
}

// {"ok": true}, or the error.
inline HttpReply DoneReply(const absl::Status& s) {
  return s.ok() ? JsonReply(200, {{"ok", true}}) : ErrorReply(s);
}

inline HttpReply ValueReply(const absl::StatusOr<nlohmann::json>& j) {
  return j.ok() ? JsonReply(200, *j) : ErrorReply(j.status());
}

// A query parameter, empty when absent.
inline std::string Param(const HttpRequest& r, const std::string& key) {
  auto it = r.params.find(key);
  return it == r.params.end() ? "" : it->second;
}

}  // namespace agora
