// ServiceFramework, part one: convergence, placement on offers, status
// updates. Deployments, views and recovery are in service_deployments.cc.
#include "frameworks/service/service_framework.h"
#include "common/json_text.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/ids.h"
#include "frameworks/spec/dag.h"
#include "common/log.h"

namespace agora::service {

namespace {
constexpr absl::Duration kMaxBackoff = absl::Minutes(5);
// A serving instance leaves the endpoints and the load balancer this long
// before it is killed, so no request is sent to a dying process.
constexpr absl::Duration kEndpointDrain = absl::Seconds(2);
}  // namespace

ServiceFramework::ServiceFramework(SqliteKv& store) : store_(store) {}

void ServiceFramework::SaveService(const ServiceRecord& s) {
  store_.Put("service", s.name, JsonText(StoreJson(s)));
}

void ServiceFramework::Flush() {
  for (const std::string& id : dirty_) {
    auto it = instances_.find(id);
    if (it == instances_.end()) {
      store_.Erase("instance", id);
    } else {
      store_.Put("instance", id, JsonText(StoreJson(it->second)));
    }
  }
  dirty_.clear();
  if (absl::Status s = store_.Flush(); !s.ok()) {
    AGORA_LOG(ERROR, "services") << "store write failed (will retry): " << s.message();
  }
}

ServiceFramework::Counts ServiceFramework::Count(const ServiceRecord& s) const {
  Counts c;
  const bool checked = s.spec.health_check.has_value();
  for (const auto& [id, i] : instances_) {
    if (i.service != s.name || i.kill_requested || IsTerminal(i.state)) continue;
    ++c.live;
    const bool ready = i.Ready(checked);
    c.ready += ready;
    if (Current(s, i)) {
      ++c.current;
      c.current_ready += ready;
    }
  }
  return c;
}

bool ServiceFramework::DependenciesReady(const ServiceRecord& s, std::string* waiting_for) const {
  for (const std::string& dep : s.spec.depends_on) {
    auto it = services_.find(dep);
    if (it == services_.end()) continue;  // deleted since: nothing to wait for
    const Counts c = Count(it->second);
    if (c.current_ready < it->second.instances || it->second.deleting) {
      *waiting_for = dep;
      return false;
    }
  }
  return true;
}

int ServiceFramework::Missing(const ServiceRecord& s) const {
  if (s.deleting || Now() < s.backoff_until) return 0;
  std::string dep;
  if (!DependenciesReady(s, &dep)) return 0;
  const Counts c = Count(s);
  // During a rollout up to `max_over_capacity` extra may run; with no room at
  // all and every instance needed healthy, one extra keeps it moving.
  const int n = s.instances;
  int extra = static_cast<int>(std::floor(s.spec.upgrade.max_over_capacity * n));
  if (extra == 0 && std::ceil(s.spec.upgrade.min_health_capacity * n) >= n && c.current < c.live) extra = 1;
  return std::max(0, std::min(n - c.current, n + extra - c.live));
}

bool ServiceFramework::WantsOffers() const {
  if (driver_ == nullptr) return false;
  for (const auto& [name, s] : services_) {
    if (Missing(s) > 0) return true;
  }
  return false;
}

std::vector<std::string> ServiceFramework::DeployOrder() const {
  std::vector<spec::DagNode> nodes;
  for (const auto& [name, s] : services_) nodes.push_back({name, s.spec.depends_on});
  std::vector<std::string> order;
  for (int i : spec::DependenciesFirst(nodes)) order.push_back(nodes[i].name);
  return order;
}

void ServiceFramework::Offers(sdk::SchedulerDriver& driver, const std::vector<sdk::Offer>& offers) {
  struct Slot {
    AgentView agent;
    std::vector<std::string> offer_ids;
    Resources available;
    std::vector<TaskSpec> tasks;
  };
  std::vector<Slot> slots;
  for (const sdk::Offer& o : offers) {
    agents_[o.agent_id] = AgentView{o.agent_id, o.hostname, o.attributes, o.address};
    draining_agents_.erase(o.agent_id);  // offered again: back in service
    auto it = std::find_if(slots.begin(), slots.end(), [&](const Slot& s) { return s.agent.agent_id == o.agent_id; });
    if (it == slots.end()) it = slots.insert(slots.end(), Slot{agents_[o.agent_id], {}, {}, {}});
    it->offer_ids.push_back(o.id);
    it->available += o.resources;
  }
  std::vector<AgentView> known;
  for (const auto& [id, a] : agents_) known.push_back(a);
  for (const std::string& name : DeployOrder()) {
    ServiceRecord& s = services_.at(name);
    int missing = Missing(s);
    if (missing == 0) continue;
    std::vector<AgentView> placed;  // where its live instances run
    absl::flat_hash_map<std::string, int> per_agent;
    for (const auto& [id, i] : instances_) {
      if (i.service != name || i.kill_requested || IsTerminal(i.state)) continue;
      placed.push_back(agents_.contains(i.agent_id) ? agents_[i.agent_id] : AgentView{i.agent_id, i.host, {}});
      ++per_agent[i.agent_id];
    }
    Resources ask = s.spec.resources;
    std::string why_not;
    int unplaced = 0;
    for (; missing > 0; --missing) {
      int best = -1;
      for (int k = 0; k < static_cast<int>(slots.size()); ++k) {
        Slot& slot = slots[k];
        if (!slot.available.Contains(ask) || slot.available.ports().size() < s.spec.ports.size()) {
          why_not = absl::StrCat("no offer holds ", ask.ToString(), " and ", s.spec.ports.size(), " ports");
          continue;
        }
        if (absl::Status c = CheckConstraints(s.spec.constraints, slot.agent, placed, known); !c.ok()) {
          why_not = std::string(c.message());
          continue;
        }
        auto key = [&](int x) {
          return std::pair(per_agent[slots[x].agent.agent_id], -slots[x].available.cpus_milli());
        };
        if (best < 0 || key(k) < key(best)) best = k;
      }
      if (best < 0) {
        unplaced = missing;
        break;
      }
      Slot& slot = slots[best];
      InstanceRecord inst;
      inst.task_id = absl::StrCat(name, ".v", s.version, ".", NewId("i").substr(2, 8));
      inst.service = name;
      inst.version = s.version;
      inst.agent_id = slot.agent.agent_id;
      inst.host = slot.agent.hostname;
      inst.address = slot.agent.address;
      inst.launched_at = Now();
      PortSet ports = slot.available.ports().Take(s.spec.ports.size());
      TaskSpec task = TaskFor(s, inst, ports);
      Resources used = ask;
      used.set_ports(ports);
      slot.available -= used;
      slot.tasks.push_back(std::move(task));
      placed.push_back(slot.agent);
      ++per_agent[slot.agent.agent_id];
      Save(inst);
      instances_.emplace(inst.task_id, std::move(inst));
    }
    s.message = unplaced > 0 ? absl::StrCat(unplaced, " unplaced: ", why_not) : "";
  }
  Flush();  // every launch is on disk before the master hears of it
  for (Slot& slot : slots) {
    if (slot.tasks.empty()) continue;
    launched_ += slot.tasks.size();
    driver.Launch(slot.offer_ids, slot.tasks);
  }
}

TaskSpec ServiceFramework::TaskFor(const ServiceRecord& s, InstanceRecord& inst, const PortSet& ports) const {
  TaskSpec task;
  task.task_id = inst.task_id;
  task.name = s.name;
  task.command = s.spec.command;
  task.resources = s.spec.resources;
  task.resources.set_ports(ports);
  std::vector<uint32_t> numbers = ports.Expand();
  for (size_t p = 0; p < s.spec.ports.size(); ++p) inst.ports[s.spec.ports[p]] = numbers[p];
  task.port_names = s.spec.ports;
  task.env = s.spec.env;
  for (const auto& [key, value] : s.spec.config) task.env.emplace_back(key, value);
  task.env.emplace_back("AGORA_SERVICE", s.name);
  task.env.emplace_back("AGORA_SERVICE_VERSION", absl::StrCat(s.version));
  task.files.emplace_back("config.json", nlohmann::json(s.spec.config).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  if (const auto& h = s.spec.health_check) {
    task.health_check = HealthCheck{h->kind, h->command, h->port.empty() ? 0 : inst.ports[h->port],
                                    h->path, h->interval, h->timeout, h->grace_period, h->max_failures};
  }
  return task;
}

void ServiceFramework::Update(sdk::SchedulerDriver& driver, const TaskStatus& status) {
  auto it = instances_.find(status.task_id);
  if (it == instances_.end()) {
    // Not ours any more (replaced, or from before a crash): it must not run.
    if (!IsTerminal(status.state) && status.state != TaskState::kKilling &&
        status.state != TaskState::kUnreachable) {
      AGORA_LOG(WARNING, "services").With("task", status.task_id)
          << "killing unknown task " << status.task_id;
      driver.Kill(status.task_id);
    }
    return;
  }
  InstanceRecord& inst = it->second;
  if (inst.kill_requested && !draining_.contains(inst.task_id) &&
      (status.state == TaskState::kRunning || status.state == TaskState::kStarting)) {
    driver.Kill(inst.task_id);  // the kill was lost (a restart of ours or the master's): again
  }
  inst.message = status.message;
  if (!status.agent_id.empty()) inst.agent_id = status.agent_id;
  if (status.healthy) inst.healthy = status.healthy;
  auto service = services_.find(inst.service);
  switch (status.state) {
    case TaskState::kRunning:
      if (inst.running_at == absl::InfinitePast()) inst.running_at = Now();
      inst.state = TaskState::kRunning;
      if (service != services_.end() && inst.Ready(service->second.spec.health_check.has_value())) {
        service->second.failures = 0;  // it works: crash backoff starts over
        SaveService(service->second);
      }
      break;
    case TaskState::kStaging:
    case TaskState::kStarting:
    case TaskState::kKilling:
      inst.state = status.state;
      break;
    case TaskState::kUnreachable:
    case TaskState::kLost:
    case TaskState::kGone:
    case TaskState::kDropped:
      AGORA_LOG(INFO, "services").With("task", inst.task_id)
          << inst.task_id << " lost (" << TaskStateName(status.state) << "): replacing";
      Forget(inst.task_id);
      break;
    default: {  // finished, failed, killed, error
      // Killed by us, or by the master at a drain's deadline: not a crash.
      const bool wanted = inst.kill_requested || draining_agents_.contains(inst.agent_id);
      const std::string name = inst.service;
      Forget(inst.task_id);
      if (!wanted && service != services_.end()) {
        ServiceRecord& s = service->second;
        // Crashes inside one backoff window count once: ten instances dying
        // together on a bad agent are one failure, not 2^10 seconds of wait.
        if (Now() >= s.backoff_until) ++s.failures;
        const absl::Duration delay =
            std::min(kMaxBackoff, absl::Seconds(1) * std::pow(2.0, std::min(s.failures - 1, 20)));
        s.backoff_until = Now() + delay;
        s.message = absl::StrCat("instance ", TaskStateName(status.state), ": ", status.message,
                                 "; restarting in ", absl::FormatDuration(delay));
        AGORA_LOG(INFO, "services").With("service", name) << name << ": " << s.message;
        SaveService(s);
        ArmBackoffTimer(s);
      }
    }
  }
  if (instances_.contains(status.task_id)) Save(inst);
  Converge();
}

void ServiceFramework::AgentDraining(sdk::SchedulerDriver& driver, const std::string& agent_id, absl::Time deadline) {
  AGORA_LOG(INFO, "services").With("agent", agent_id)
      << "agent " << agent_id << " is draining: moving its instances";
  draining_agents_.insert(agent_id);
  driver.WantsOffersChanged();
  Converge();
}

void ServiceFramework::Usage(sdk::SchedulerDriver& driver, const std::vector<TaskUsage>& usages) {
  for (const TaskUsage& u : usages) {
    if (instances_.contains(u.task_id)) cpus_used_[u.task_id] = u.cpus;
  }
}

void ServiceFramework::Autoscale(ServiceRecord& s) {
  if (!s.spec.autoscale || s.deleting || s.deploy_started != absl::InfinitePast()) return;
  const bool checked = s.spec.health_check.has_value();
  const double asked = std::max(1e-3, s.spec.resources.cpus());
  std::vector<std::optional<double>> utilisation;
  for (const auto& [id, i] : instances_) {
    if (i.service != s.name || i.kill_requested || IsTerminal(i.state)) continue;
    auto used = cpus_used_.find(id);
    if (i.Ready(checked) && used != cpus_used_.end()) {
      utilisation.push_back(used->second / asked);
    } else {
      utilisation.push_back(std::nullopt);
    }
  }
  const AutoscaleSpec& spec = *s.spec.autoscale;
  const int desired = stabilizers_[s.name].Add(Now(), Recommend(spec, s.instances, utilisation), spec.window);
  if (desired == s.instances) return;
  double sum = 0;
  int n = 0;
  for (const auto& u : utilisation) {
    if (u) sum += *u, ++n;
  }
  s.message = absl::StrFormat("autoscaled from %d to %d: cpu at %.0f%% of what it asks, target %.0f%%", s.instances,
                              desired, n ? 100 * sum / n : 0.0, 100 * spec.target_cpu);
  AGORA_LOG(INFO, "services").With("service", s.name) << s.name << ": " << s.message;
  last_autoscale_[s.name] =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ ", Now(), absl::UTCTimeZone()), s.message);
  s.instances = desired;
  ++autoscale_changes_;
  SaveService(s);
}

void ServiceFramework::Forget(std::string task_id) {  // a copy: the record holding it goes
  cpus_used_.erase(task_id);
  instances_.erase(task_id);
  dirty_.insert(std::move(task_id));  // Flush erases it from the store
}

void ServiceFramework::ArmBackoffTimer(const ServiceRecord& s) {
  driver_->After(std::max(absl::ZeroDuration(), s.backoff_until - Now()),
                        [this] { driver_->WantsOffersChanged(); });
}

void ServiceFramework::Kill(InstanceRecord& instance, const std::string& reason) {
  if (instance.kill_requested) return;
  auto s = services_.find(instance.service);
  const bool serving = s != services_.end() && !s->second.spec.ports.empty() &&
                       instance.Ready(s->second.spec.health_check.has_value());
  instance.kill_requested = true;  // out of the endpoints and the load balancer from now on
  instance.kill_reason = reason;
  Save(instance);
  if (!serving) return driver_->Kill(instance.task_id);
  draining_.insert(instance.task_id);
  driver_->After(kEndpointDrain, [this, id = instance.task_id] {
    draining_.erase(id);
    if (instances_.contains(id)) driver_->Kill(id);
  });
}

void ServiceFramework::Converge() {
  if (driver_ == nullptr) return;
  const absl::Time now = Now();
  std::vector<std::string> gone;
  for (auto& [name, s] : services_) {
    std::vector<InstanceRecord*> live;
    for (auto& [id, i] : instances_) {
      if (i.service == name && !i.kill_requested && !IsTerminal(i.state)) live.push_back(&i);
    }
    // Unready first, then the newest: what to stop first.
    const bool checked = s.spec.health_check.has_value();
    std::sort(live.begin(), live.end(), [&](InstanceRecord* a, InstanceRecord* b) {
      return std::pair(a->Ready(checked), -absl::ToUnixMicros(a->launched_at)) <
             std::pair(b->Ready(checked), -absl::ToUnixMicros(b->launched_at));
    });
    if (s.deleting) {
      // Dependants stop first: until every one of their tasks has ended.
      bool dependants_live = false;
      for (const auto& [id, i] : instances_) {
        auto o = services_.find(i.service);
        if (o == services_.end() || IsTerminal(i.state)) continue;
        const auto& deps = o->second.spec.depends_on;
        dependants_live = dependants_live || std::find(deps.begin(), deps.end(), name) != deps.end();
      }
      bool any = false;
      for (auto& [id, i] : instances_) any = any || (i.service == name && !IsTerminal(i.state));
      if (!dependants_live) {
        for (InstanceRecord* i : live) Kill(*i, "deleted");
      }
      if (!any) gone.push_back(name);
      continue;
    }
    Counts c = Count(s);
    // Unhealthy instances are replaced, a few at a time.
    int killing_unhealthy = 0;
    for (const auto& [id, i] : instances_) {
      killing_unhealthy += i.service == name && i.kill_requested && i.kill_reason == "unhealthy";
    }
    const int budget = std::max(1, s.instances / 10);
    for (InstanceRecord* i : live) {
      if (i->healthy == false && killing_unhealthy < budget && !i->kill_requested) {
        Kill(*i, "unhealthy");
        ++killing_unhealthy;
        ++health_kills_;
      }
    }
    c = Count(s);
    // Old versions go while enough stay ready.
    const int min_ready = static_cast<int>(std::ceil(s.spec.upgrade.min_health_capacity * s.instances));
    for (InstanceRecord* i : live) {
      if (i->kill_requested || Current(s, *i)) continue;
      const bool ready = i->Ready(checked);
      if (ready && c.ready - 1 < min_ready) continue;
      Kill(*i, i->version == s.version ? "moved off a draining agent" : absl::StrCat("replaced by v", s.version));
      c.ready -= ready;
      --c.live;
    }
    // Scale down: extras of the current version.
    int extra = c.current - s.instances;
    for (InstanceRecord* i : live) {
      if (extra <= 0) break;
      if (i->kill_requested || !Current(s, *i)) continue;
      Kill(*i, "scaled down");
      --extra;
    }
    // A rollout ends when only the new version runs, all ready; or fails at its deadline.
    c = Count(s);
    if (s.deploy_started != absl::InfinitePast()) {
      if (c.live == c.current && c.current_ready >= s.instances) {
        s.deploy_started = absl::InfinitePast();
        // A finished rollback says what happened; a finished rollout says nothing.
        s.message = s.deploy_failed ? absl::StrReplaceAll(s.message, {{"rolling back to", "rolled back to"}}) : "";
        s.deploy_failed = false;
        s.failure.clear();
        SaveService(s);
      } else if (now - s.deploy_started > s.spec.upgrade.deadline) {
        const int failed_version = s.version;
        s.message = absl::StrCat("deployment of v", failed_version, " failed: ", c.current_ready, " of ",
                                 s.instances, " ready after ", absl::FormatDuration(s.spec.upgrade.deadline));
        s.deploy_started = absl::InfinitePast();
        s.deploy_failed = true;
        s.failure = s.message;
        if (s.spec.upgrade.auto_rollback && failed_version > 1) {
          const std::string why = s.message;
          if (AdoptVersion(s, failed_version - 1).ok()) {
            s.deploy_started = now;
            s.message = absl::StrCat(why, "; rolling back to v", s.version);
          }
        }
        AGORA_LOG(WARNING, "services").With("service", name) << name << ": " << s.message;
        SaveService(s);
      }
    }
    std::string dep;
    if (!DependenciesReady(s, &dep) && c.current < s.instances) {
      s.message = absl::StrCat("waiting for ", dep, " to be ready");
    }
  }
  for (const std::string& name : gone) {
    services_.erase(name);
    versions_.erase(name);
    store_.Erase("service", name);
    AGORA_LOG(INFO, "services").With("service", name) << "deleted " << name;
  }
  driver_->WantsOffersChanged();
}

std::string ServiceFramework::StateOf(const ServiceRecord& s) const {
  if (s.deleting) return "deleting";
  if (s.deploy_failed) return "failed";  // (its instances may also be backing off)
  if (Now() < s.backoff_until) return "backoff";
  const Counts c = Count(s);
  if (s.deploy_started != absl::InfinitePast()) return "deploying";
  if (c.live != s.instances || c.ready < s.instances) return "scaling";
  return "running";
}

void ServiceFramework::Subscribed(sdk::SchedulerDriver& driver, const std::string& framework_id) {
  store_.Put("meta", "framework_id", framework_id);
  std::vector<std::string> ids;
  for (const auto& [id, i] : instances_) ids.push_back(id);
  if (!ids.empty()) driver.Reconcile(ids);  // also finds launches the master never saw
  Flush();
}

}  // namespace agora::service
