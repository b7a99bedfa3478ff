#include "frameworks/service/service_spec.h"

#include <re2/re2.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status.h"
#include "frameworks/spec/dag.h"
#include "frameworks/spec/fits.h"
#include "frameworks/spec/yaml_fields.h"

namespace agora::service {
namespace {

using spec::CheckKeys;
using spec::Field;
using spec::Invalid;

constexpr size_t kMaxConstraintPattern = 1024;

constexpr std::initializer_list<absl::string_view> kServiceFields = {
    "name",        "command", "instances",     "resources", "ports",  "env",
    "health_check", "constraints", "depends_on", "upgrade",  "load_balancer", "config",
    "weight",      "autoscale"};

absl::Status ParseHealth(const YAML::Node& n, const std::string& where, const ServiceSpec& s,
                         HealthSpec* h) {
  if (!n.IsMap()) return Invalid(where, "expected {type: http|tcp|command, ...}");
  if (absl::Status st = CheckKeys(n, where, {"type", "port", "path", "command", "interval", "timeout",
                                             "grace_period", "max_failures"});
      !st.ok()) {
    return st;
  }
  const std::string type = n["type"] ? n["type"].Scalar() : "";
  if (type == "http") h->kind = HealthCheck::Kind::kHttp;
  else if (type == "tcp") h->kind = HealthCheck::Kind::kTcp;
  else if (type == "command") h->kind = HealthCheck::Kind::kCommand;
  else return Invalid(Field(where, "type"), absl::StrCat("'", type, "' is not one of http, tcp, command"));
  if (n["path"]) h->path = n["path"].Scalar();
  if (n["command"]) {
    auto command = spec::Command(n["command"], Field(where, "command"));
    if (!command.ok()) return command.status();
    h->command = *std::move(command);
  }
  if (h->kind == HealthCheck::Kind::kCommand && h->command.empty()) {
    return Invalid(Field(where, "command"), "required for a command check");
  }
  if (h->kind != HealthCheck::Kind::kCommand) {
    if (n["port"]) {
      h->port = n["port"].Scalar();
    } else if (s.ports.size() == 1) {
      h->port = s.ports[0];
    }
    if (std::find(s.ports.begin(), s.ports.end(), h->port) == s.ports.end()) {
      return Invalid(Field(where, "port"),
                     absl::StrCat("'", h->port, "' is not one of the service's ports"));
    }
  }
  struct D {
    const char* key;
    absl::Duration* out;
  };
  for (D d : {D{"interval", &h->interval}, {"timeout", &h->timeout}, {"grace_period", &h->grace_period}}) {
    if (!n[d.key]) continue;
    auto v = spec::Duration(n[d.key], Field(where, d.key));
    if (!v.ok()) return v.status();
    *d.out = *v;
  }
  if (h->interval < kMinHealthCheckInterval || h->timeout < kMinHealthCheckTimeout) {
    return Invalid(where, absl::StrCat("interval must be at least ",
                                       absl::FormatDuration(kMinHealthCheckInterval),
                                       " and timeout at least ",
                                       absl::FormatDuration(kMinHealthCheckTimeout)));
  }
  if (n["max_failures"]) {
    auto v = spec::Scalar<int>(n["max_failures"], Field(where, "max_failures"));
    if (!v.ok()) return v.status();
    if (*v < 1) return Invalid(Field(where, "max_failures"), "must be at least 1");
    h->max_failures = *v;
  }
  return absl::OkStatus();
}

absl::Status ParseConstraint(const YAML::Node& n, const std::string& where, Constraint* c) {
  if (!n.IsSequence() || n.size() < 2 || n.size() > 3) {
    return Invalid(where, "expected [field, OPERATOR] or [field, OPERATOR, value]");
  }
  c->field = n[0].Scalar();
  if (c->field.empty()) return Invalid(where, "the field is empty");
  const std::string op = absl::AsciiStrToUpper(n[1].Scalar());
  const bool has_value = n.size() == 3;
  if (has_value) c->value = n[2].Scalar();
  static const std::pair<const char*, Constraint::Op> kOps[] = {
      {"UNIQUE", Constraint::Op::kUnique}, {"CLUSTER", Constraint::Op::kCluster},
      {"GROUP_BY", Constraint::Op::kGroupBy}, {"LIKE", Constraint::Op::kLike},
      {"UNLIKE", Constraint::Op::kUnlike}, {"MAX_PER", Constraint::Op::kMaxPer}};
  bool known = false;
  for (auto [name, value] : kOps) {
    if (op == name) {
      c->op = value;
      known = true;
    }
  }
  if (!known) {
    return Invalid(where, absl::StrCat("'", n[1].Scalar(),
                                       "' is not one of UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER"));
  }
  int number = 0;
  switch (c->op) {
    case Constraint::Op::kUnique:
      if (has_value) return Invalid(where, "UNIQUE takes no value");
      break;
    case Constraint::Op::kCluster:
      if (!has_value || c->value.empty()) return Invalid(where, "CLUSTER needs the value to keep to");
      break;
    case Constraint::Op::kLike:
    case Constraint::Op::kUnlike:
      if (!has_value) return Invalid(where, absl::StrCat(op, " needs a regular expression"));
      if (c->value.size() > kMaxConstraintPattern) {
        return Invalid(where, absl::StrCat("a regular expression may have at most ",
                                           kMaxConstraintPattern, " characters"));
      }
      if (RE2 re(c->value, RE2::Quiet); !re.ok()) {
        return Invalid(where, absl::StrCat("'", c->value, "' is not a regular expression: ", re.error()));
      }
      break;
    case Constraint::Op::kMaxPer:
      if (!has_value || !absl::SimpleAtoi(c->value, &number) || number < 1) {
        return Invalid(where, "MAX_PER needs a positive number");
      }
      break;
    case Constraint::Op::kGroupBy:
      if (has_value && (!absl::SimpleAtoi(c->value, &number) || number < 1)) {
        return Invalid(where, "GROUP_BY's value, if given, is the number of groups");
      }
      break;
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status Read(const YAML::Node& n, const char* key, const std::string& where, T* out) {
  if (!n[key]) return absl::OkStatus();
  auto v = spec::Scalar<T>(n[key], Field(where, key));
  if (!v.ok()) return v.status();
  *out = *v;
  return absl::OkStatus();
}

absl::Status ParseService(const YAML::Node& n, const std::string& where, ServiceSpec* s) {
  if (absl::Status st = CheckKeys(n, where, kServiceFields); !st.ok()) return st;
  s->source = YAML::Dump(n);
  if (!n["name"] || !n["name"].IsScalar()) return Invalid(Field(where, "name"), "required");
  s->name = n["name"].Scalar();
  if (absl::Status st = ValidatePathSafeId("name", s->name); !st.ok()) {
    return Invalid(Field(where, "name"), st.message());
  }
  auto command = spec::Command(n["command"], Field(where, "command"));
  if (!command.ok()) return command.status();
  s->command = *std::move(command);
  if (absl::Status st = Read(n, "instances", where, &s->instances); !st.ok()) return st;
  if (s->instances < 0 || s->instances > 10000) {
    return Invalid(Field(where, "instances"), "must be between 0 and 10000");
  }
  if (n["resources"]) {
    if (absl::Status st = spec::ParseResources(n["resources"], Field(where, "resources"), &s->resources);
        !st.ok()) {
      return st;
    }
  }
  if (n["ports"]) {
    if (!n["ports"].IsSequence()) return Invalid(Field(where, "ports"), "expected a list of names");
    absl::flat_hash_set<std::string> seen;
    for (size_t i = 0; i < n["ports"].size(); ++i) {
      std::string name = n["ports"][i].Scalar();
      const std::string field = absl::StrCat(Field(where, "ports"), "[", i, "]");
      if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
            return absl::ascii_isalnum(c) || c == '_';
          })) {
        return Invalid(field, "a port name is letters, digits and _");
      }
      if (!seen.insert(name).second) return Invalid(field, absl::StrCat("'", name, "' named twice"));
      s->ports.push_back(name);
    }
  }
  if (n["env"]) {
    if (absl::Status st = spec::ParseEnv(n["env"], Field(where, "env"), &s->env); !st.ok()) return st;
  }
  if (n["health_check"]) {
    HealthSpec h;
    if (absl::Status st = ParseHealth(n["health_check"], Field(where, "health_check"), *s, &h); !st.ok()) {
      return st;
    }
    s->health_check = h;
  }
  if (n["constraints"]) {
    const YAML::Node& list = n["constraints"];
    if (!list.IsSequence()) return Invalid(Field(where, "constraints"), "expected a list of [field, OPERATOR, value]");
    for (size_t i = 0; i < list.size(); ++i) {
      Constraint c;
      if (absl::Status st = ParseConstraint(list[i], absl::StrCat(Field(where, "constraints"), "[", i, "]"), &c);
          !st.ok()) {
        return st;
      }
      s->constraints.push_back(std::move(c));
    }
  }
  if (n["depends_on"]) {
    if (!n["depends_on"].IsSequence()) return Invalid(Field(where, "depends_on"), "expected a list of names");
    for (const auto& d : n["depends_on"]) s->depends_on.push_back(d.Scalar());
  }
  if (const YAML::Node& u = n["upgrade"]) {
    const std::string f = Field(where, "upgrade");
    if (absl::Status st = CheckKeys(u, f, {"min_health_capacity", "max_over_capacity", "deadline", "auto_rollback"});
        !st.ok()) {
      return st;
    }
    if (absl::Status st = Read(u, "min_health_capacity", f, &s->upgrade.min_health_capacity); !st.ok()) return st;
    if (absl::Status st = Read(u, "max_over_capacity", f, &s->upgrade.max_over_capacity); !st.ok()) return st;
    if (absl::Status st = Read(u, "auto_rollback", f, &s->upgrade.auto_rollback); !st.ok()) return st;
    if (u["deadline"]) {
      auto d = spec::Duration(u["deadline"], Field(f, "deadline"));
      if (!d.ok()) return d.status();
      s->upgrade.deadline = *d;
    }
    for (auto [key, v] : {std::pair{"min_health_capacity", s->upgrade.min_health_capacity},
                          {"max_over_capacity", s->upgrade.max_over_capacity}}) {
      if (v < 0 || v > 1) return Invalid(Field(f, key), "must be between 0 and 1");
    }
  }
  if (const YAML::Node& lb = n["load_balancer"]) {
    const std::string f = Field(where, "load_balancer");
    if (absl::Status st = CheckKeys(lb, f, {"port", "policy"}); !st.ok()) return st;
    LoadBalancerSpec l;
    if (lb["port"]) {  // else agora-services picks one (--lb_ports) and keeps it
      if (absl::Status st = Read(lb, "port", f, &l.port); !st.ok()) return st;
      if (l.port < 1 || l.port > 65535) return Invalid(Field(f, "port"), "must be between 1 and 65535");
    }
    if (lb["policy"]) l.policy = lb["policy"].Scalar();
    if (l.policy != "roundrobin" && l.policy != "random" && l.policy != "leastconn") {
      return Invalid(Field(f, "policy"), absl::StrCat("'", l.policy, "' is not one of roundrobin, random, leastconn"));
    }
    if (s->ports.empty()) return Invalid(f, "the service names no port to balance");
    s->load_balancer = l;
  }
  if (const YAML::Node& config = n["config"]) {
    if (!config.IsMap()) return Invalid(Field(where, "config"), "expected {KEY: value, ...}");
    for (const auto& kv : config) {
      const std::string key = kv.first.Scalar();
      if (absl::Status st = CheckConfigKey(key); !st.ok()) return Invalid(Field(where, "config"), st.message());
      if (!kv.second.IsScalar()) return Invalid(Field(Field(where, "config"), key), "expected a single value");
      s->config[key] = kv.second.Scalar();
    }
  }
  if (absl::Status st = Read(n, "weight", where, &s->weight); !st.ok()) return st;
  if (!(s->weight > 0)) return Invalid(Field(where, "weight"), "must be positive");
  if (const YAML::Node& a = n["autoscale"]) {
    const std::string f = Field(where, "autoscale");
    if (absl::Status st = CheckKeys(a, f, {"min", "max", "target_cpu", "window"}); !st.ok()) return st;
    AutoscaleSpec as;
    if (absl::Status st = Read(a, "min", f, &as.min); !st.ok()) return st;
    if (absl::Status st = Read(a, "max", f, &as.max); !st.ok()) return st;
    if (absl::Status st = Read(a, "target_cpu", f, &as.target_cpu); !st.ok()) return st;
    if (a["window"]) {
      auto window = spec::Duration(a["window"], Field(f, "window"));
      if (!window.ok()) return window.status();
      as.window = *window;
    }
    if (as.min < 1 || as.max < as.min) return Invalid(f, "needs 1 <= min <= max");
    if (!(as.target_cpu > 0 && as.target_cpu <= 1)) return Invalid(Field(f, "target_cpu"), "must be in (0, 1]");
    if (s->instances < as.min || s->instances > as.max) {
      return Invalid(Field(where, "instances"),
                     absl::StrCat(s->instances, " is outside autoscale's ", as.min, "..", as.max));
    }
    s->autoscale = as;
  }
  return absl::OkStatus();
}

std::vector<spec::DagNode> Dag(const ServiceGroup& g) {
  std::vector<spec::DagNode> nodes;
  for (const ServiceSpec& s : g.services) nodes.push_back({s.name, s.depends_on});
  return nodes;
}

absl::StatusOr<ServiceGroup> ParseNode(const YAML::Node& root, const std::vector<std::string>& deployed) {
  if (!root.IsMap()) return absl::InvalidArgumentError("a service file holds a map: one service, or `services: [...]`");
  ServiceGroup group;
  if (root["services"]) {
    if (absl::Status st = CheckKeys(root, "", {"services"}); !st.ok()) return st;
    const YAML::Node& list = root["services"];
    if (!list.IsSequence() || list.size() == 0) return Invalid("services", "expected a non-empty list");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string where = absl::StrCat("services[", i, "]");
      if (!list[i].IsMap()) return Invalid(where, "expected a service");
      ServiceSpec s;
      if (absl::Status st = ParseService(list[i], where, &s); !st.ok()) return st;
      group.services.push_back(std::move(s));
    }
  } else {
    ServiceSpec s;
    if (absl::Status st = ParseService(root, "", &s); !st.ok()) return st;
    group.services.push_back(std::move(s));
  }
  absl::flat_hash_set<std::string> names(deployed.begin(), deployed.end()), in_file;
  for (size_t i = 0; i < group.services.size(); ++i) {
    if (!in_file.insert(group.services[i].name).second) {
      return Invalid(absl::StrCat("services[", i, "].name"),
                     absl::StrCat("'", group.services[i].name, "' is used by two services"));
    }
    names.insert(group.services[i].name);
  }
  for (size_t i = 0; i < group.services.size(); ++i) {
    for (size_t d = 0; d < group.services[i].depends_on.size(); ++d) {
      const std::string& dep = group.services[i].depends_on[d];
      const std::string field = absl::StrCat("services[", i, "].depends_on[", d, "]");
      if (dep == group.services[i].name) return Invalid(field, "a service cannot depend on itself");
      if (!names.contains(dep)) {
        return Invalid(field, absl::StrCat("unknown service '", dep, "' (neither in this file nor deployed)"));
      }
    }
  }
  if (absl::Status st = spec::CheckAcyclic(Dag(group), [](int i) { return absl::StrCat("services[", i, "].depends_on"); });
      !st.ok()) {
    return st;
  }
  return group;
}

}  // namespace

absl::string_view OpName(Constraint::Op op) {
  switch (op) {
    case Constraint::Op::kUnique: return "UNIQUE";
    case Constraint::Op::kCluster: return "CLUSTER";
    case Constraint::Op::kGroupBy: return "GROUP_BY";
    case Constraint::Op::kLike: return "LIKE";
    case Constraint::Op::kUnlike: return "UNLIKE";
    case Constraint::Op::kMaxPer: return "MAX_PER";
  }
  return "?";
}

absl::StatusOr<ServiceGroup> ParseServices(absl::string_view yaml, const std::vector<std::string>& deployed) {
  auto root = spec::LoadYaml(yaml);
  if (!root.ok()) return root.status();
  try {
    absl::StatusOr<ServiceGroup> group = ParseNode(*root, deployed);
    if (!group.ok()) return spec::Located(*root, group.status());
    return group;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("malformed service file: ", e.what()));
  }
}

absl::Status CheckConfigKey(absl::string_view key) {
  const bool ok = !key.empty() && !absl::ascii_isdigit(key[0]) &&
                  std::all_of(key.begin(), key.end(), [](char c) { return absl::ascii_isalnum(c) || c == '_'; });
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("config key '", key, "' must be a name of letters, digits and _ (it becomes an environment variable)"));
}

absl::StatusOr<std::string> WithConfig(absl::string_view source, const std::map<std::string, std::string>& config) {
  auto root = spec::LoadYaml(source);
  if (!root.ok()) return root.status();
  try {
    YAML::Node n = *root;
    n.remove("config");
    if (!config.empty()) {
      YAML::Node c(YAML::NodeType::Map);
      for (const auto& [key, value] : config) c[key] = value;
      n["config"] = c;
    }
    return YAML::Dump(n);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("malformed service spec: ", e.what()));
  }
}

std::vector<int> DeployOrder(const ServiceGroup& group) { return spec::DependenciesFirst(Dag(group)); }

absl::Status CheckFits(const ServiceGroup& group, const std::vector<Resources>& agents) {
  for (size_t i = 0; i < group.services.size(); ++i) {
    AGORA_RETURN_IF_ERROR(spec::CheckSomeAgentHolds(group.services[i].resources, agents,
                                                    absl::StrCat("services[", i, "].resources")));
  }
  return absl::OkStatus();
}

}  // namespace agora::service
