// ServiceSpec: what agora-services keeps running, parsed from YAML (one
// service, or `services: [...]` for a group) and validated whole before
// anything starts: unknown fields, bad types, unknown or cyclic dependencies,
// constraints that cannot mean anything, health checks on ports the service
// does not name, and resources no agent could ever hold are rejected with a
// message naming the field ("services[1].constraints[0]: UNIQUE takes no
// value"). Pure functions and value types.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agora/resources.h"
#include "agora/task.h"

namespace agora::service {

// Marathon's placement operators, on `hostname` or any agent attribute.
struct Constraint {
  enum class Op { kUnique, kCluster, kGroupBy, kLike, kUnlike, kMaxPer };
  std::string field;
  Op op = Op::kUnique;
  std::string value;  // CLUSTER: the value; LIKE/UNLIKE: a regex; MAX_PER: N; GROUP_BY: optional N
};
absl::string_view OpName(Constraint::Op op);

struct HealthSpec {
  HealthCheck::Kind kind = HealthCheck::Kind::kNone;
  std::string port;  // a name from `ports` (http, tcp)
  std::string path = "/";
  std::string command;
  absl::Duration interval = absl::Seconds(10);
  absl::Duration timeout = absl::Seconds(5);
  absl::Duration grace_period = absl::Seconds(30);
  int max_failures = 3;
};

struct UpgradeSpec {
  double min_health_capacity = 1.0;  // share of instances kept healthy during a rollout
  double max_over_capacity = 0.0;    // share of extra instances allowed during a rollout
  absl::Duration deadline = absl::Minutes(10);
  bool auto_rollback = false;
};

struct LoadBalancerSpec {
  int port = 0;  // 0: agora-services picks one when it is deployed
  std::string policy = "roundrobin";  // roundrobin | random | leastconn
};

struct AutoscaleSpec {
  int min = 1;
  int max = 1;
  double target_cpu = 0.8;                   // mean cpus used / cpus asked to hold
  absl::Duration window = absl::Minutes(5);  // scale-down stabilisation
};

struct ServiceSpec {
  std::string name;
  std::string command;
  int instances = 1;
  Resources resources = Resources::Scalars(0.1, 32, 0);
  std::vector<std::string> ports;  // names; each instance gets one port per name
  Env env;
  std::optional<HealthSpec> health_check;
  std::vector<Constraint> constraints;
  std::vector<std::string> depends_on;
  UpgradeSpec upgrade;
  std::optional<LoadBalancerSpec> load_balancer;
  std::map<std::string, std::string> config;
  double weight = 1;
  std::optional<AutoscaleSpec> autoscale;
  std::string source;  // this service's YAML alone, as parsed (kept as its version's text)
};

struct ServiceGroup {
  std::vector<ServiceSpec> services;  // in file order
};

// Parses and validates a file. `deployed` names services already running,
// which the file's services may depend on.
absl::StatusOr<ServiceGroup> ParseServices(absl::string_view yaml,
                                           const std::vector<std::string>& deployed = {});

// Indices of `group.services` in an order where dependencies come first
// (file order among independent ones). Precondition: validated.
std::vector<int> DeployOrder(const ServiceGroup& group);

// InvalidArgument unless `key` can be an environment variable's name.
absl::Status CheckConfigKey(absl::string_view key);

// `source` (one service's YAML) with its `config` replaced by `config`
// (removed when empty). The result still has to be parsed and validated.
absl::StatusOr<std::string> WithConfig(absl::string_view source, const std::map<std::string, std::string>& config);

// InvalidArgument naming the first service no agent of `agents` could hold.
absl::Status CheckFits(const ServiceGroup& group, const std::vector<Resources>& agents);

}  // namespace agora::service
