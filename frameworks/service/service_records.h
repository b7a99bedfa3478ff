// What agora-services keeps and serves: each service (its current version,
// desired count and convergence state), each version's spec text (the
// history), and each instance (one task). JSON for the store and the API.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agora/task.h"
#include "frameworks/service/service_spec.h"

namespace agora::service {

struct InstanceRecord {
  std::string task_id;  // SERVICE.vVERSION.SUFFIX
  std::string service;
  int version = 1;
  std::string agent_id;
  std::string host;     // the agent's hostname
  std::string address;  // the agent's IP address (empty: use `host`)
  std::map<std::string, uint32_t> ports;  // name -> number
  TaskState state = TaskState::kStaging;
  std::optional<bool> healthy;  // set once a check reported (none without a check)
  absl::Time launched_at = absl::UnixEpoch();
  absl::Time running_at = absl::InfinitePast();
  bool kill_requested = false;
  std::string kill_reason;  // "scaled down", "unhealthy", "replaced by v3", "deleted"
  std::string message;      // the last update's

  // Serves traffic: running, and healthy if the service has a check.
  bool Ready(bool has_check) const {
    return state == TaskState::kRunning && (!has_check || healthy.value_or(false));
  }
};

struct VersionRecord {
  int version = 1;
  std::string yaml;  // the service's spec text
  absl::Time created_at = absl::UnixEpoch();
};

struct ServiceRecord {
  std::string name;
  int version = 1;     // the desired version
  int instances = 1;   // desired count (scaling changes it, not the version)
  ServiceSpec spec;    // of `version`
  bool deleting = false;
  int failures = 0;    // crashes in a row (reset by a healthy instance)
  absl::Time backoff_until = absl::InfinitePast();
  absl::Time deploy_started = absl::InfinitePast();  // a rollout under way since
  bool deploy_failed = false;  // the last rollout missed its deadline
  std::string failure;  // why, while deploy_failed ("deployment of v2 failed: 0 of 2 ready after 4s")
  std::string message;  // why it is not converged ("2 unplaced: [hostname, UNIQUE] ...")
  int lb_port = 0;      // the load balancer port chosen when its spec named none
};

nlohmann::json StoreJson(const InstanceRecord& i);
absl::StatusOr<InstanceRecord> InstanceFromStore(const nlohmann::json& j);
nlohmann::json StoreJson(const ServiceRecord& s);  // without spec: it is in the version
absl::StatusOr<ServiceRecord> ServiceFromStore(const nlohmann::json& j);
nlohmann::json StoreJson(const VersionRecord& v);
absl::StatusOr<VersionRecord> VersionFromStore(const nlohmann::json& j);

// RFC 3339 in UTC with milliseconds; null for an infinite time.
nlohmann::json Rfc3339(absl::Time t);

// API: `agora service show` instance rows.
nlohmann::json ApiJson(const InstanceRecord& i);

}  // namespace agora::service
