#include "frameworks/spec/yaml_fields.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/cli.h"

namespace agora::spec {

absl::Status Invalid(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
}

std::string Field(absl::string_view where, absl::string_view key) {
  return where.empty() ? std::string(key) : absl::StrCat(where, ".", key);
}

absl::Status CheckKeys(const YAML::Node& node, absl::string_view where,
                       std::initializer_list<absl::string_view> allowed) {
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    bool ok = false;
    for (absl::string_view a : allowed) ok = ok || a == key;
    if (!ok) {
      return Invalid(Field(where, key),
                     absl::StrCat("unknown field (known: ", absl::StrJoin(allowed, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> Duration(const YAML::Node& n, absl::string_view field) {
  if (!n.IsScalar()) return Invalid(field, "expected a duration such as 30s or 5m");
  auto d = ParseDurationFlag(n.Scalar());
  if (!d.ok()) return Invalid(field, d.status().message());
  if (*d == absl::InfiniteDuration() || *d == -absl::InfiniteDuration() || *d > absl::Hours(24 * 3650)) {
    return Invalid(field, absl::StrCat("'", n.Scalar(), "' is not a finite duration of at most 3650 days"));
  }
  return *d;
}

absl::Status ParseResources(const YAML::Node& n, absl::string_view field, Resources* out) {
  if (!n.IsMap()) return Invalid(field, "expected {cpus: N, mem: MiB, disk: MiB}");
  if (absl::Status s = CheckKeys(n, field, {"cpus", "mem", "disk"}); !s.ok()) return s;
  double cpus = out->cpus(), mem = out->mem(), disk = out->disk();
  for (auto [key, value] : {std::pair{"cpus", &cpus}, {"mem", &mem}, {"disk", &disk}}) {
    if (!n[key]) continue;
    auto v = Scalar<double>(n[key], Field(field, key));
    if (!v.ok()) return v.status();
    if (*v < 0 || (std::string(key) == "cpus" && *v <= 0)) {
      return Invalid(Field(field, key), "must be positive");
    }
    if (*v > Resources::kMaxScalar) {
      return Invalid(Field(field, key), absl::StrCat("must be at most ", Resources::kMaxScalar));
    }
    *value = *v;
  }
  Resources r = Resources::Scalars(cpus, mem, disk);
  r.set_ports(out->ports());
  *out = r;
  return absl::OkStatus();
}

absl::Status ParseEnv(const YAML::Node& n, absl::string_view field, Env* out) {
  if (!n.IsMap()) return Invalid(field, "expected {NAME: value, ...}");
  for (const auto& kv : n) {
    std::string key = kv.first.Scalar();
    if (!kv.second.IsScalar()) return Invalid(Field(field, key), "expected a single value");
    out->emplace_back(key, kv.second.Scalar());
    if (out->size() > kMaxEnvVars) break;
  }
  return ValidateEnvBounds(*out, field);
}

absl::StatusOr<std::string> Command(const YAML::Node& n, absl::string_view field) {
  if (!n || !n.IsScalar() || n.Scalar().empty()) return Invalid(field, "required");
  const std::string& command = n.Scalar();
  if (command.size() > kMaxCommandBytes) {
    return Invalid(field, absl::StrCat(command.size(), " bytes; a command may have at most ",
                                       kMaxCommandBytes));
  }
  if (command.find('\0') != std::string::npos) return Invalid(field, "holds a NUL byte");
  return command;
}

absl::StatusOr<YAML::Node> LoadYaml(absl::string_view text) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("not valid YAML: ", e.what()));
  }
}

}  // namespace agora::spec
