#include "frameworks/service/service_api.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/http_json.h"

namespace agora::service {

using nlohmann::json;

HttpReply ServeServiceApi(ServiceFramework& fw, const std::function<std::vector<Resources>()>& agents,
                          const HttpRequest& r) {
  std::vector<std::string> p = absl::StrSplit(r.path, '/', absl::SkipEmpty());  // v1, services, ...
  const std::string noun = p.size() > 1 ? p[1] : "";
  const std::string name = p.size() > 2 ? p[2] : "";
  const std::string verb = p.size() > 3 ? p[3] : "";
  const bool get = r.method == "GET", post = r.method == "POST";
  if (noun == "services") {
    if (post && name.empty()) {
      if (r.body.size() > (1 << 20)) return ErrorReply(absl::InvalidArgumentError("service file larger than 1 MiB"));
      auto deployed = fw.Deploy(r.body, agents ? agents() : std::vector<Resources>{});
      if (!deployed.ok()) return ErrorReply(deployed.status());
      return JsonReply(201, {{"services", *deployed}});
    }
    if (post && name == "delete") {
      json body = json::parse(r.body, nullptr, false);
      if (!body.is_object() || !body["names"].is_array()) {
        return ErrorReply(absl::InvalidArgumentError("expected {\"names\": [...]}"));
      }
      std::vector<std::string> names;
      for (const json& n : body["names"]) {
        if (n.is_string()) names.push_back(n);
      }
      return DoneReply(fw.Delete(names));
    }
    if (get && name.empty()) return JsonReply(200, fw.ListJson());
    if (get && verb.empty()) return ValueReply(fw.ShowJson(name));
    if (get && verb == "endpoints") return ValueReply(fw.EndpointsJson(name, Param(r, "port")));
    if (get && verb == "history") return ValueReply(fw.HistoryJson(name));
    if (post && verb == "restart") return DoneReply(fw.Restart(name));
    if (post && verb == "rollback") {
      int version = 0;
      if (!Param(r, "to").empty() && !absl::SimpleAtoi(Param(r, "to"), &version)) {
        return ErrorReply(absl::InvalidArgumentError("to must be a version number"));
      }
      return DoneReply(fw.Rollback(name, version));
    }
    if (r.method == "PUT" && verb == "scale") {
      json body = json::parse(r.body, nullptr, false);
      if (!body.is_object() || !body["instances"].is_number_integer()) {
        return ErrorReply(absl::InvalidArgumentError("expected {\"instances\": N}"));
      }
      return DoneReply(fw.Scale(name, body["instances"].get<int>()));
    }
  } else if (noun == "config" && !name.empty()) {
    if (get && verb == "history") return ValueReply(fw.ConfigHistoryJson(name));
    if (get && verb.empty()) {
      int version = 0;
      if (!Param(r, "version").empty() && !absl::SimpleAtoi(Param(r, "version"), &version)) {
        return ErrorReply(absl::InvalidArgumentError("version must be a number"));
      }
      return ValueReply(fw.ConfigJson(name, version));
    }
    if (post && verb.empty()) {
      json body = json::parse(r.body, nullptr, false);
      if (!body.is_object() || (body.contains("set") && !body["set"].is_object()) ||
          (body.contains("unset") && !body["unset"].is_array())) {
        return ErrorReply(absl::InvalidArgumentError("expected {\"set\": {KEY: VALUE}, \"unset\": [KEY]}"));
      }
      std::map<std::string, std::string> set;
      std::vector<std::string> unset;
      const json given = body.value("set", json::object());
      for (const auto& [key, value] : given.items()) {
        if (!value.is_string()) return ErrorReply(absl::InvalidArgumentError("config values must be strings"));
        set[key] = value;
      }
      for (const json& key : body.value("unset", json::array())) {
        if (!key.is_string()) return ErrorReply(absl::InvalidArgumentError("unset takes key names"));
        unset.push_back(key);
      }
      auto version = fw.SetConfig(name, set, unset);
      if (!version.ok()) return ErrorReply(version.status());
      return JsonReply(200, {{"service", name}, {"version", *version}});
    }
  } else if (noun == "state" && get) {
    return JsonReply(200, fw.StateJson());
  }
  return JsonReply(404, {{"error", r.method + " " + r.path + " is not part of the services API"}});
}

}  // namespace agora::service
