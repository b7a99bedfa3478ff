#include "frameworks/service/service_records.h"

#include "absl/strings/str_cat.h"

namespace agora::service {

using nlohmann::json;

json Rfc3339(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return nullptr;
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

namespace {

json Micros(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return nullptr;
  return absl::ToUnixMicros(t);
}
absl::Time FromMicros(const json& j) {
  return j.is_number() ? absl::FromUnixMicros(j.get<int64_t>()) : absl::InfinitePast();
}

template <typename F>
auto Guard(const char* what, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const json::exception& e) {
    return absl::DataLossError(absl::StrCat(what, " record: ", e.what()));
  }
}

}  // namespace

json StoreJson(const InstanceRecord& i) {
  return {{"task_id", i.task_id},
          {"service", i.service},
          {"version", i.version},
          {"agent_id", i.agent_id},
          {"host", i.host},
          {"address", i.address},
          {"ports", i.ports},
          {"state", static_cast<int>(i.state)},
          {"healthy", i.healthy ? json(*i.healthy) : json(nullptr)},
          {"launched_at", Micros(i.launched_at)},
          {"running_at", Micros(i.running_at)},
          {"kill_requested", i.kill_requested},
          {"kill_reason", i.kill_reason},
          {"message", i.message}};
}

absl::StatusOr<InstanceRecord> InstanceFromStore(const json& j) {
  return Guard("instance", [&]() -> absl::StatusOr<InstanceRecord> {
    InstanceRecord i;
    i.task_id = j.at("task_id");
    i.service = j.at("service");
    i.version = j.at("version");
    i.agent_id = j.at("agent_id");
    i.host = j.at("host");
    i.address = j.value("address", "");
    i.ports = j.at("ports").get<std::map<std::string, uint32_t>>();
    i.state = static_cast<TaskState>(j.at("state").get<int>());
    if (j.at("healthy").is_boolean()) i.healthy = j["healthy"].get<bool>();
    i.launched_at = FromMicros(j.at("launched_at"));
    i.running_at = FromMicros(j.at("running_at"));
    i.kill_requested = j.at("kill_requested");
    i.kill_reason = j.at("kill_reason");
    i.message = j.at("message");
    return i;
  });
}

json StoreJson(const ServiceRecord& s) {
  return {{"name", s.name},
          {"version", s.version},
          {"instances", s.instances},
          {"deleting", s.deleting},
          {"failures", s.failures},
          {"backoff_until", Micros(s.backoff_until)},
          {"deploy_started", Micros(s.deploy_started)},
          {"deploy_failed", s.deploy_failed},
          {"failure", s.failure},
          {"message", s.message},
          {"lb_port", s.lb_port}};
}

absl::StatusOr<ServiceRecord> ServiceFromStore(const json& j) {
  return Guard("service", [&]() -> absl::StatusOr<ServiceRecord> {
    ServiceRecord s;
    s.name = j.at("name");
    s.version = j.at("version");
    s.instances = j.at("instances");
    s.deleting = j.at("deleting");
    s.failures = j.at("failures");
    s.backoff_until = FromMicros(j.at("backoff_until"));
    s.deploy_started = FromMicros(j.at("deploy_started"));
    s.deploy_failed = j.at("deploy_failed");
    s.failure = j.value("failure", "");  // (absent from records of earlier versions)
    s.message = j.at("message");
    s.lb_port = j.value("lb_port", 0);  // (absent from records of earlier versions)
    return s;
  });
}

json StoreJson(const VersionRecord& v) {
  return {{"version", v.version}, {"yaml", v.yaml}, {"created_at", Micros(v.created_at)}};
}

absl::StatusOr<VersionRecord> VersionFromStore(const json& j) {
  return Guard("version", [&]() -> absl::StatusOr<VersionRecord> {
    VersionRecord v;
    v.version = j.at("version");
    v.yaml = j.at("yaml");
    v.created_at = FromMicros(j.at("created_at"));
    return v;
  });
}

json ApiJson(const InstanceRecord& i) {
  return {{"task_id", i.task_id},
          {"agent_id", i.agent_id},
          {"host", i.host},
          {"address", i.address},
          {"ports", i.ports},
          {"healthy", i.healthy.value_or(i.state == TaskState::kRunning)},
          {"state", TaskStateName(i.state)},
          {"version", i.version},
          {"started_at", Rfc3339(i.running_at == absl::InfinitePast() ? i.launched_at : i.running_at)},
          {"message", i.message},
          {"kill_reason", i.kill_reason.empty() ? json(nullptr) : json(i.kill_reason)}};
}

}  // namespace agora::service
