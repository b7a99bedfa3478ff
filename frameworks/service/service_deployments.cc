// ServiceFramework, part two: deployments, scaling and deletion asked for
// through the API, the JSON views, and recovery from the store.
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/json_text.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/metrics_writer.h"
#include "common/status.h"
#include "frameworks/service/service_framework.h"

namespace agora::service {

using nlohmann::json;

absl::StatusOr<std::map<std::string, int>> ServiceFramework::Deploy(const std::string& yaml,
                                                                    const std::vector<Resources>& agents) {
  std::vector<std::string> deployed;
  for (const auto& [name, s] : services_) {
    if (!s.deleting) deployed.push_back(name);
  }
  AGORA_ASSIGN_OR_RETURN(ServiceGroup group, ParseServices(yaml, deployed));
  AGORA_RETURN_IF_ERROR(CheckFits(group, agents));
  for (const ServiceSpec& spec : group.services) {
    auto it = services_.find(spec.name);
    if (it != services_.end() && it->second.deleting) {
      return absl::FailedPreconditionError(absl::StrCat(spec.name, " is being deleted; deploy it again once it is gone"));
    }
  }
  AGORA_ASSIGN_OR_RETURN(const auto lb_ports, ChooseLoadBalancerPorts(group));
  std::map<std::string, int> result;
  for (const ServiceSpec& spec : group.services) {
    auto [it, fresh] = services_.try_emplace(spec.name);
    ServiceRecord& s = it->second;
    s.name = spec.name;
    const auto chosen = lb_ports.find(spec.name);
    const int lb_port = chosen != lb_ports.end() ? chosen->second : s.lb_port;
    std::vector<VersionRecord>& history = versions_[spec.name];
    if (!fresh && history.back().yaml == spec.source) {  // unchanged: nothing to roll
      if (lb_port != s.lb_port) {
        s.lb_port = lb_port;
        SaveService(s);
      }
      result[spec.name] = s.version;
      continue;
    }
    s.instances = spec.instances;
    s.lb_port = lb_port;
    StartVersion(s, spec);
    result[spec.name] = s.version;
  }
  Flush();
  Converge();
  return result;
}

int ServiceFramework::LoadBalancerPort(const ServiceRecord& s) const {
  if (!s.spec.load_balancer) return 0;
  return s.spec.load_balancer->port != 0 ? s.spec.load_balancer->port : s.lb_port;
}

absl::StatusOr<std::map<std::string, int>> ServiceFramework::ChooseLoadBalancerPorts(
    const ServiceGroup& group) const {
  std::map<int, std::string> taken;  // port -> service, after this deploy
  for (const auto& [name, s] : services_) {
    if (const int port = LoadBalancerPort(s); port != 0 && !s.deleting) taken[port] = name;
  }
  for (const ServiceSpec& spec : group.services) {
    std::erase_if(taken, [&](const auto& kv) { return kv.second == spec.name; });
  }
  std::map<std::string, int> chosen;
  for (size_t i = 0; i < group.services.size(); ++i) {
    const ServiceSpec& spec = group.services[i];
    if (!spec.load_balancer) continue;
    const std::string field = absl::StrCat("services[", i, "].load_balancer");
    if (!load_balancer_available_) {
      return absl::FailedPreconditionError(
          absl::StrCat(field, ": this agora-services runs without HAProxy (--haproxy none, or it is missing)"));
    }
    int port = spec.load_balancer->port;
    if (port == 0) {
      // Kept for the service's life: the one chosen before, if any and free.
      auto s = services_.find(spec.name);
      port = s != services_.end() ? s->second.lb_port : 0;
      if (port == 0 || taken.contains(port)) {
        std::set<int> ports;
        for (const auto& [p, name] : taken) ports.insert(p);
        port = choose_lb_port_(ports);
        if (port == 0) {
          return absl::ResourceExhaustedError(
              absl::StrCat(field, ": no free port left for it in --lb-ports; name one (port: N)"));
        }
      }
      chosen[spec.name] = port;
    }
    auto [it, fresh] = taken.emplace(port, spec.name);
    if (!fresh) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".port: ", port, " is already the load balancer of ", it->second));
    }
  }
  return chosen;
}

void ServiceFramework::StartVersion(ServiceRecord& s, const ServiceSpec& spec) {
  std::vector<VersionRecord>& history = versions_[s.name];
  const int version = history.empty() ? 1 : history.back().version + 1;
  history.push_back(VersionRecord{version, spec.source, Now()});
  store_.Put("version", absl::StrCat(s.name, "@", version), JsonText(StoreJson(history.back())));
  s.version = version;
  s.spec = spec;
  s.deploy_started = Now();
  s.deploy_failed = false;
  s.failure.clear();
  s.failures = 0;
  s.backoff_until = absl::InfinitePast();
  s.message = "";
  SaveService(s);
  AGORA_LOG(INFO, "services").With("service", s.name) << "rolling " << s.name << " to v" << version;
}

absl::Status ServiceFramework::Rollback(const std::string& name, int version) {
  auto it = services_.find(name);
  if (it == services_.end() || it->second.deleting) return absl::NotFoundError(absl::StrCat("no service '", name, "'"));
  ServiceRecord& s = it->second;
  const int target = version > 0 ? version : s.version - 1;
  if (target < 1 || target == s.version) {
    return absl::FailedPreconditionError(absl::StrCat(name, " has no earlier version than v", s.version));
  }
  // The old version itself becomes current again: its instances that still
  // run are kept, the others roll back to it.
  AGORA_RETURN_IF_ERROR(AdoptVersion(s, target));
  s.deploy_started = Now();
  s.deploy_failed = false;
  s.failure.clear();
  s.message = "";
  SaveService(s);
  Flush();
  Converge();
  return absl::OkStatus();
}

absl::Status ServiceFramework::Restart(const std::string& name) {
  auto it = services_.find(name);
  if (it == services_.end() || it->second.deleting) return absl::NotFoundError(absl::StrCat("no service '", name, "'"));
  StartVersion(it->second, it->second.spec);
  Flush();
  Converge();
  return absl::OkStatus();
}

std::vector<std::string> ServiceFramework::ServiceNames() const {
  std::vector<std::string> names;
  for (const auto& [name, s] : services_) names.push_back(name);
  return names;
}

absl::StatusOr<ServiceSpec> ServiceFramework::SpecOf(const std::string& name, int version) const {
  auto it = versions_.find(name);
  if (it != versions_.end()) {
    for (const VersionRecord& v : it->second) {
      if (v.version != version) continue;
      AGORA_ASSIGN_OR_RETURN(ServiceGroup g, ParseServices(v.yaml, ServiceNames()));
      return g.services.front();
    }
  }
  return absl::NotFoundError(absl::StrCat(name, " has no version ", version));
}

absl::Status ServiceFramework::AdoptVersion(ServiceRecord& s, int version) {
  AGORA_ASSIGN_OR_RETURN(s.spec, SpecOf(s.name, version));
  s.version = version;
  return absl::OkStatus();
}

absl::StatusOr<int> ServiceFramework::SetConfig(const std::string& name,
                                                const std::map<std::string, std::string>& set,
                                                const std::vector<std::string>& unset) {
  auto it = services_.find(name);
  if (it == services_.end() || it->second.deleting) return absl::NotFoundError(absl::StrCat("no service '", name, "'"));
  ServiceRecord& s = it->second;
  std::map<std::string, std::string> config = s.spec.config;
  for (const auto& [key, value] : set) {
    AGORA_RETURN_IF_ERROR(CheckConfigKey(key));
    config[key] = value;
  }
  for (const std::string& key : unset) {
    if (config.erase(key) == 0) return absl::NotFoundError(absl::StrCat(name, " has no config key '", key, "'"));
  }
  if (config == s.spec.config) return s.version;
  AGORA_ASSIGN_OR_RETURN(std::string yaml, WithConfig(s.spec.source, config));
  AGORA_ASSIGN_OR_RETURN(ServiceGroup g, ParseServices(yaml, ServiceNames()));
  StartVersion(s, g.services.front());
  Flush();
  Converge();
  return s.version;
}

absl::Status ServiceFramework::Scale(const std::string& name, int instances) {
  auto it = services_.find(name);
  if (it == services_.end() || it->second.deleting) {
    return absl::NotFoundError(absl::StrCat("no service '", name, "'"));
  }
  ServiceRecord& s = it->second;
  if (instances < 0 || instances > 10000) return absl::InvalidArgumentError("instances must be between 0 and 10000");
  if (s.spec.autoscale && (instances < s.spec.autoscale->min || instances > s.spec.autoscale->max)) {
    return absl::InvalidArgumentError(absl::StrCat(instances, " is outside ", name, "'s autoscale bounds ",
                                                   s.spec.autoscale->min, "..", s.spec.autoscale->max));
  }
  s.instances = instances;
  s.message = "";
  SaveService(s);
  Flush();
  Converge();
  return absl::OkStatus();
}

absl::Status ServiceFramework::Delete(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (!services_.contains(name)) return absl::NotFoundError(absl::StrCat("no service '", name, "'"));
  }
  // A service others still depend on goes only with them.
  for (const auto& [other, o] : services_) {
    if (o.deleting || std::find(names.begin(), names.end(), other) != names.end()) continue;
    for (const std::string& dep : o.spec.depends_on) {
      if (std::find(names.begin(), names.end(), dep) != names.end()) {
        return absl::FailedPreconditionError(absl::StrCat(
            other, " depends on ", dep, "; delete ", other, " first, or both together"));
      }
    }
  }
  for (const std::string& name : names) {
    ServiceRecord& s = services_.at(name);
    s.deleting = true;
    SaveService(s);
  }
  Flush();
  Converge();
  return absl::OkStatus();
}

// ---------------------------------------------------------------- views

json ServiceFramework::ListJson() const {
  json out = json::array();
  for (const auto& [name, s] : services_) {
    const Counts c = Count(s);
    out.push_back({{"name", name},
                   {"version", s.version},
                   {"instances", s.instances},
                   {"running", c.live},
                   {"healthy", c.ready},
                   {"state", StateOf(s)},
                   {"failure", s.failure},
                   {"message", s.message},
                   {"load_balancer", LoadBalancerJson(s)}});
  }
  return out;
}

absl::StatusOr<json> ServiceFramework::ShowJson(const std::string& name) const {
  auto it = services_.find(name);
  if (it == services_.end()) return absl::NotFoundError(absl::StrCat("no service '", name, "'"));
  const ServiceRecord& s = it->second;
  json instances = json::array();
  std::vector<const InstanceRecord*> rows;
  for (const auto& [id, i] : instances_) {
    if (i.service == name) rows.push_back(&i);
  }
  std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->task_id < b->task_id; });
  for (const InstanceRecord* i : rows) {
    instances.push_back(ApiJson(*i));
    if (auto used = cpus_used_.find(i->task_id); used != cpus_used_.end()) instances.back()["cpus_used"] = used->second;
  }
  const Counts c = Count(s);
  json autoscale = nullptr;
  if (const auto& a = s.spec.autoscale) {
    auto last = last_autoscale_.find(name);
    autoscale = {{"min", a->min},
                 {"max", a->max},
                 {"target_cpu", a->target_cpu},
                 {"window", absl::FormatDuration(a->window)},
                 {"last_change", last == last_autoscale_.end() ? json(nullptr) : json(last->second)}};
  }
  return json{{"name", name},
              {"autoscale", autoscale},
              {"version", s.version},
              {"desired", s.instances},
              {"running", c.live},
              {"healthy", c.ready},
              {"state", StateOf(s)},
              {"failure", s.failure},
              {"message", s.message},
              {"depends_on", s.spec.depends_on},
              {"load_balancer", LoadBalancerJson(s)},
              {"spec", s.spec.source},
              {"instances", instances}};
}

json ServiceFramework::LoadBalancerJson(const ServiceRecord& s) const {
  if (!s.spec.load_balancer) return nullptr;
  return {{"port", LoadBalancerPort(s)},
          {"policy", s.spec.load_balancer->policy},
          {"chosen", s.spec.load_balancer->port == 0}};
}

absl::StatusOr<json> ServiceFramework::EndpointsJson(const std::string& name, const std::string& port) const {
  auto it = services_.find(name);
  if (it == services_.end()) return absl::NotFoundError(absl::StrCat("no service '", name, "'"));
  const ServiceRecord& s = it->second;
  if (s.spec.ports.empty()) return absl::FailedPreconditionError(absl::StrCat(name, " names no ports"));
  const std::string which = port.empty() ? s.spec.ports.front() : port;
  if (std::find(s.spec.ports.begin(), s.spec.ports.end(), which) == s.spec.ports.end()) {
    return absl::InvalidArgumentError(absl::StrCat(name, " has no port '", which, "'"));
  }
  json out = json::array();
  const bool checked = s.spec.health_check.has_value();
  for (const auto& [id, i] : instances_) {
    if (i.service != name || i.kill_requested || !i.Ready(checked)) continue;
    out.push_back({{"host", i.host},
                   {"address", i.address.empty() ? i.host : i.address},
                   {"port", i.ports.at(which)},
                   {"weight", s.spec.weight},
                   {"task_id", id}});
  }
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) { return a["task_id"] < b["task_id"]; });
  return out;
}

absl::StatusOr<json> ServiceFramework::HistoryJson(const std::string& name) const {
  auto it = versions_.find(name);
  if (it == versions_.end()) return absl::NotFoundError(absl::StrCat("no service '", name, "'"));
  json out = json::array();
  for (const VersionRecord& v : it->second) {
    out.push_back({{"version", v.version},
                   {"created_at", Rfc3339(v.created_at)},
                   {"spec", v.yaml}});
  }
  return out;
}

absl::StatusOr<json> ServiceFramework::ConfigJson(const std::string& name, int version) const {
  auto it = services_.find(name);
  if (it == services_.end()) return absl::NotFoundError(absl::StrCat("no service '", name, "'"));
  if (version == 0) version = it->second.version;
  AGORA_ASSIGN_OR_RETURN(ServiceSpec spec, SpecOf(name, version));
  return json{{"service", name}, {"version", version}, {"config", spec.config}};
}

absl::StatusOr<json> ServiceFramework::ConfigHistoryJson(const std::string& name) const {
  auto it = versions_.find(name);
  if (it == versions_.end()) return absl::NotFoundError(absl::StrCat("no service '", name, "'"));
  json out = json::array();
  std::optional<std::map<std::string, std::string>> previous;
  for (const VersionRecord& v : it->second) {
    AGORA_ASSIGN_OR_RETURN(ServiceSpec spec, SpecOf(name, v.version));
    if (previous == spec.config) continue;
    std::set<std::string> changed;  // keys added, removed or given a new value
    for (const auto& [key, value] : spec.config) {
      if (!previous || !previous->contains(key) || previous->at(key) != value) changed.insert(key);
    }
    if (previous) {
      for (const auto& [key, value] : *previous) {
        if (!spec.config.contains(key)) changed.insert(key);
      }
    }
    out.push_back({{"version", v.version},
                   {"created_at", Rfc3339(v.created_at)},
                   {"config", spec.config},
                   {"changed", changed}});
    previous = spec.config;
  }
  return out;
}

std::vector<LbFrontend> ServiceFramework::LoadBalancers() const {
  absl::flat_hash_map<std::string, LbFrontend> by_service;
  for (const auto& [name, s] : services_) {
    if (!s.spec.load_balancer) continue;
    by_service[name] = LbFrontend{name, LoadBalancerPort(s), s.spec.load_balancer->policy, {}};
  }
  for (const auto& [id, i] : instances_) {
    auto f = by_service.find(i.service);
    if (f == by_service.end() || i.kill_requested) continue;
    const ServiceRecord& s = services_.at(i.service);
    if (!i.Ready(s.spec.health_check.has_value())) continue;
    auto port = i.ports.find(s.spec.ports.front());
    if (port == i.ports.end()) continue;
    f->second.servers.push_back({id, i.address.empty() ? i.host : i.address, port->second, s.spec.weight});
  }
  std::vector<LbFrontend> out;
  for (auto& [name, f] : by_service) out.push_back(std::move(f));
  return out;
}

json ServiceFramework::StateJson() const {
  return {{"services", ListJson()}, {"instances", instances_.size()}, {"tasks_launched", launched_},
          {"health_kills", health_kills_}};
}

std::string ServiceFramework::MetricsText() const {
  MetricsWriter w;
  w.Family("agora_service_instances", "gauge", "Instances per service: desired, running, healthy.");
  for (const auto& [name, s] : services_) {
    const Counts c = Count(s);
    for (auto [kind, n] : {std::pair{"desired", s.instances}, {"running", c.live}, {"healthy", c.ready}}) {
      w.Sample("agora_service_instances", n, absl::StrCat("service=\"", name, "\",kind=\"", kind, "\""));
    }
  }
  w.Counters({{"agora_service_tasks_launched_total", "Instances launched.", launched_},
              {"agora_service_health_kills_total", "Instances killed for failing health checks.", health_kills_},
              {"agora_service_autoscale_changes_total", "Instance counts changed by autoscaling.", autoscale_changes_}});
  return w.Take();
}

// ---------------------------------------------------------------- recovery

std::string ServiceFramework::StoredFrameworkId() {
  auto id = store_.Get("meta", "framework_id");
  return id.ok() && *id ? **id : "";
}

absl::Status ServiceFramework::Recover() {
  AGORA_ASSIGN_OR_RETURN(auto version_rows, store_.LoadAll("version"));
  for (const auto& [key, text] : version_rows) {
    AGORA_ASSIGN_OR_RETURN(VersionRecord v, VersionFromStore(json::parse(text, nullptr, false)));
    versions_[key.substr(0, key.rfind('@'))].push_back(std::move(v));
  }
  for (auto& [name, history] : versions_) {
    std::sort(history.begin(), history.end(), [](auto& a, auto& b) { return a.version < b.version; });
  }
  AGORA_ASSIGN_OR_RETURN(auto service_rows, store_.LoadAll("service"));
  for (const auto& [name, text] : service_rows) {
    AGORA_ASSIGN_OR_RETURN(ServiceRecord s, ServiceFromStore(json::parse(text, nullptr, false)));
    services_.emplace(name, std::move(s));
  }
  for (auto& [name, s] : services_) {
    if (absl::Status st = AdoptVersion(s, s.version); !st.ok()) {
      return absl::DataLossError(absl::StrCat("service ", name, ": ", st.message()));
    }
  }
  AGORA_ASSIGN_OR_RETURN(auto instance_rows, store_.LoadAll("instance"));
  for (const auto& [id, text] : instance_rows) {
    AGORA_ASSIGN_OR_RETURN(InstanceRecord i, InstanceFromStore(json::parse(text, nullptr, false)));
    instances_.emplace(id, std::move(i));
  }
  AGORA_LOG(INFO, "services") << "recovered " << services_.size() << " services, " << instances_.size()
                              << " instances";
  return absl::OkStatus();
}

void ServiceFramework::Attach(sdk::SchedulerDriver& driver) {
  driver_ = &driver;
  for (const auto& [name, s] : services_) {
    if (s.backoff_until > Now()) ArmBackoffTimer(s);
  }
  // Deadlines, and explicit reconciliation now and then (a master that
  // restarted answers for unknown tasks only once its agents are back).
  driver.Every(absl::Seconds(1), [this] {
    for (auto& [name, s] : services_) Autoscale(s);
    Flush();
    Converge();
  });
  driver.Every(absl::Seconds(30), [this] {
    std::vector<std::string> ids;
    for (const auto& [id, i] : instances_) ids.push_back(id);
    if (!ids.empty() && driver_->subscribed()) driver_->Reconcile(ids);
  });
}

}  // namespace agora::service
