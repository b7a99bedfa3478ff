// ServiceFramework is agora-services' scheduler: it keeps every service at
// its desired count of healthy instances of its current version.
//
// Convergence, after every event (an update, an API call, a timer):
//  - missing instances are placed on offers by the framework's own rules
//    (resources and ports, the service's constraints, then spread: the agent
//    running the fewest of its instances), dependencies first: a service
//    starts only once every service it depends on has all its instances ready;
//  - a crashed instance is replaced after an exponential backoff (1s doubling
//    to 5m; the state says `backoff`), a lost one (agent gone) at once;
//  - an unhealthy instance is killed and replaced, at most max(1, 10%) of a
//    service's instances at a time, so one bad check cannot take them all;
//  - a new version rolls: new instances start while at most
//    `max_over_capacity` extra run, old ones stop while at least
//    `min_health_capacity` stay ready; past `deadline` the deployment fails,
//    and rolls back when `auto_rollback` is set;
//  - deleted services stop after the services that depend on them.
//
// Failure behaviour: agora-services killed and restarted on the same work
// dir reloads services, versions and instances, re-subscribes with its
// framework id and reconciles; instances keep running meanwhile, and an
// update for a task it no longer wants gets that task killed, so it neither
// loses nor duplicates an instance. Every change is in SQLite before a launch
// is sent or an update acknowledged.
//
// Lives on the driver's loop thread; not thread-safe.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "common/sqlite_kv.h"
#include "agora/sdk/scheduler_driver.h"
#include "frameworks/service/autoscaler.h"
#include "frameworks/service/constraints.h"
#include "frameworks/service/haproxy_config.h"
#include "frameworks/service/service_records.h"

namespace agora::service {

class ServiceFramework final : public sdk::Scheduler {
 public:
  explicit ServiceFramework(SqliteKv& store);

  absl::Status Recover();  // once, before Attach()
  std::string StoredFrameworkId();
  void Attach(sdk::SchedulerDriver& driver);

  // --- The API (loop thread).
  // Deploys a file: new services start, changed ones roll to a new version,
  // unchanged ones are left alone. Returns {name: version}.
  absl::StatusOr<std::map<std::string, int>> Deploy(const std::string& yaml,
                                                    const std::vector<Resources>& agents);
  absl::Status Scale(const std::string& name, int instances);
  // Makes `version` (0: the one before the current) current again and rolls
  // the other instances back to it; instances of it that still run stay.
  absl::Status Rollback(const std::string& name, int version);
  // Rolls every instance of `name` (a new version with the same spec).
  absl::Status Restart(const std::string& name);
  absl::Status Delete(const std::vector<std::string>& names);
  // The config centre: a new version whose config is the current one with
  // `set` applied and `unset` removed, rolled like any update. Returns the
  // version (the current one when nothing changes).
  absl::StatusOr<int> SetConfig(const std::string& name, const std::map<std::string, std::string>& set,
                                const std::vector<std::string>& unset);

  nlohmann::json ListJson() const;
  absl::StatusOr<nlohmann::json> ShowJson(const std::string& name) const;
  absl::StatusOr<nlohmann::json> EndpointsJson(const std::string& name, const std::string& port) const;
  absl::StatusOr<nlohmann::json> HistoryJson(const std::string& name) const;
  // {service, version, config} of `version` (0: the current one).
  absl::StatusOr<nlohmann::json> ConfigJson(const std::string& name, int version) const;
  // The versions that changed the config: {version, created_at, config, changed}.
  absl::StatusOr<nlohmann::json> ConfigHistoryJson(const std::string& name) const;
  nlohmann::json StateJson() const;
  // The services with a `load_balancer`, each with its ready instances.
  std::vector<LbFrontend> LoadBalancers() const;
  // Without HAProxy, deploying a service with a `load_balancer` is refused.
  void set_load_balancer_available(bool available) { load_balancer_available_ = available; }
  // Picks the port of a load balancer whose spec names none: free, and not
  // among `taken` (other load balancers'); 0 when there is none. It is kept
  // for the service's life. By default the first port from 10000 not taken.
  using LbPortChooser = std::function<int(const std::set<int>& taken)>;
  void set_load_balancer_port_chooser(LbPortChooser choose) { choose_lb_port_ = std::move(choose); }
  // The port `s`'s load balancer listens on: its spec's, else the one chosen
  // for it; 0 without a load balancer.
  int LoadBalancerPort(const ServiceRecord& s) const;
  std::string MetricsText() const;

  // --- sdk::Scheduler.
  void Subscribed(sdk::SchedulerDriver& driver, const std::string& framework_id) override;
  void Offers(sdk::SchedulerDriver& driver, const std::vector<sdk::Offer>& offers) override;
  void Update(sdk::SchedulerDriver& driver, const TaskStatus& status) override;
  void Usage(sdk::SchedulerDriver& driver, const std::vector<TaskUsage>& usages) override;
  // Its instances there are replaced like an old version's: replacements
  // start elsewhere first, and each old one stops once that keeps
  // `min_health_capacity`; one the master kills at the deadline is not a crash.
  void AgentDraining(sdk::SchedulerDriver& driver, const std::string& agent_id, absl::Time deadline) override;
  bool WantsOffers() const override;
  void Checkpoint(sdk::SchedulerDriver& driver) override { Flush(); }

 private:
  struct Counts {
    int live = 0;      // not terminal, not being killed
    int current = 0;   // live and of the desired version
    int ready = 0;     // live and ready (any version)
    int current_ready = 0;
  };
  Counts Count(const ServiceRecord& s) const;
  // Of the desired version and not on a draining agent: to be kept.
  bool Current(const ServiceRecord& s, const InstanceRecord& i) const {
    return i.version == s.version && !draining_agents_.contains(i.agent_id);
  }
  std::string StateOf(const ServiceRecord& s) const;
  // {port, policy, chosen} of its load balancer, null without one.
  nlohmann::json LoadBalancerJson(const ServiceRecord& s) const;
  bool DependenciesReady(const ServiceRecord& s, std::string* waiting_for) const;
  // How many instances the next offers may start for `s`.
  int Missing(const ServiceRecord& s) const;
  std::vector<std::string> DeployOrder() const;
  // The ports chosen for the group's load balancers that name none (by
  // service); InvalidArgument when two services would balance on one port,
  // ResourceExhausted when no port is free.
  absl::StatusOr<std::map<std::string, int>> ChooseLoadBalancerPorts(const ServiceGroup& group) const;

  void Converge();
  // Sets the count of a service with `autoscale` from its instances' cpu use.
  void Autoscale(ServiceRecord& s);
  void Kill(InstanceRecord& instance, const std::string& reason);
  void ArmBackoffTimer(const ServiceRecord& s);
  void Forget(std::string task_id);
  void SaveService(const ServiceRecord& s);
  void Save(const InstanceRecord& i) { dirty_.insert(i.task_id); }
  void Flush();
  absl::Time Now() const { return driver_->Now(); }
  absl::Status AdoptVersion(ServiceRecord& s, int version);  // spec from history
  absl::StatusOr<ServiceSpec> SpecOf(const std::string& name, int version) const;
  // Every service's name, deleting ones included: what a spec may depend on.
  std::vector<std::string> ServiceNames() const;
  // The task for instance `inst` of `s`, holding `ports`.
  TaskSpec TaskFor(const ServiceRecord& s, InstanceRecord& inst, const PortSet& ports) const;
  // Makes `spec` the next version of `s` and starts rolling to it.
  void StartVersion(ServiceRecord& s, const ServiceSpec& spec);

  SqliteKv& store_;
  sdk::SchedulerDriver* driver_ = nullptr;
  absl::btree_map<std::string, ServiceRecord> services_;
  absl::btree_map<std::string, std::vector<VersionRecord>> versions_;
  absl::flat_hash_map<std::string, InstanceRecord> instances_;  // by task id
  absl::flat_hash_set<std::string> dirty_;  // instances changed since Flush
  absl::flat_hash_set<std::string> draining_;  // kill_requested, the kill not sent yet
  absl::flat_hash_map<std::string, double> cpus_used_;  // by task id: the latest sample
  absl::flat_hash_set<std::string> draining_agents_;  // until they offer again
  absl::flat_hash_map<std::string, Stabilizer> stabilizers_;  // by service
  absl::flat_hash_map<std::string, std::string> last_autoscale_;  // by service: what it did last
  absl::flat_hash_map<std::string, AgentView> agents_;  // every agent offers came from
  uint64_t launched_ = 0;
  uint64_t health_kills_ = 0;
  uint64_t autoscale_changes_ = 0;
  bool load_balancer_available_ = true;
  LbPortChooser choose_lb_port_ = [](const std::set<int>& taken) {
    for (int port = 10000; port < 11000; ++port) {
      if (!taken.contains(port)) return port;
    }
    return 0;
  };
};

}  // namespace agora::service
