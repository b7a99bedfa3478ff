#include "tools/live_candidates.h"

#include <cstdlib>
#include <set>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "common/curve.h"
#include "frameworks/sdk/master_client.h"
#include "tools/framework_client.h"

namespace agora::tools {
namespace {

using nlohmann::json;

constexpr absl::Duration kDeadline = absl::Milliseconds(700);

// The string values of `keys` in each row of `rows`.
void Collect(const json& rows, std::initializer_list<const char*> keys, std::set<std::string>* out) {
  if (!rows.is_array()) return;
  for (const json& row : rows) {
    for (const char* key : keys) {
      if (row.is_object() && row.contains(key) && row[key].is_string() && !row[key].get<std::string>().empty()) {
        out->insert(row[key].get<std::string>());
      }
    }
  }
}

bool Among(const std::string& verb, std::initializer_list<const char*> verbs) {
  for (const char* v : verbs) {
    if (verb == v) return true;
  }
  return false;
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

}  // namespace

LiveCandidates ClusterCandidates(const std::vector<std::string>& words) {
  std::string master = Env("AGORA_MASTER");
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i] == "--master" && i + 1 < words.size()) master = words[i + 1];
    if (absl::StartsWith(words[i], "--master=")) master = words[i].substr(9);
  }
  if (master.empty()) master = "tcp://127.0.0.1:5050";
  return [master](const std::string& noun, const std::string& verb) {
    std::set<std::string> found;
    auto curve = LoadCurveClient(Env("AGORA_CURVE_SECRET_KEY"), Env("AGORA_MASTER_PUBLIC_KEY"));
    sdk::MasterClient client(master, kDeadline, curve.ok() ? *curve : std::nullopt);
    auto master_rows = [&](const char* query, std::initializer_list<const char*> keys) {
      if (auto text = client.Query(query); text.ok()) Collect(json::parse(*text, nullptr, false), keys, &found);
    };
    auto framework_rows = [&](const char* framework, const char* path, std::initializer_list<const char*> keys) {
      FrameworkClient api(client, framework, "", kDeadline);
      if (auto rows = api.Call("GET", path); rows.ok()) Collect(*rows, keys, &found);
    };
    if (noun == "agent" && Among(verb, {"show", "drain", "undrain", "gone"})) master_rows("agents", {"id", "hostname"});
    if ((noun == "task" && Among(verb, {"show", "kill"})) || noun == "logs") master_rows("tasks", {"id"});
    if (noun == "framework" && Among(verb, {"show", "teardown"})) master_rows("frameworks", {"id", "name"});
    if (noun == "role" && Among(verb, {"show", "set"})) master_rows("roles", {"name"});
    if (noun == "offer" && verb == "show") master_rows("offers", {"id"});
    if (noun == "job" && Among(verb, {"show", "kill", "retry", "logs", "watch"})) {
      framework_rows("agora-batch", "/v1/jobs", {"id", "run_id"});
    }
    if (noun == "job" && verb == "history") framework_rows("agora-batch", "/v1/jobs", {"name"});
    if (noun == "cron" && Among(verb, {"pause", "resume", "delete"})) framework_rows("agora-batch", "/v1/crons", {"name"});
    if ((noun == "service" && Among(verb, {"show", "endpoints", "scale", "restart", "rollback", "delete", "history"})) ||
        noun == "config") {
      framework_rows("agora-services", "/v1/services", {"name"});
    }
    return std::vector<std::string>(found.begin(), found.end());
  };
}

}  // namespace agora::tools
