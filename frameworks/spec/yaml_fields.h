// Reading framework specs (agora-batch jobs, agora-services services) from
// YAML with errors that name the field: "jobs[2].resources.cpus: 'lots' has
// the wrong type". yaml-cpp throws on bad conversions; these helpers catch
// inside, so callers see only absl::Status. Pure functions.
#pragma once

#include <cmath>
#include <initializer_list>
#include <type_traits>
#include <string>

#include <yaml-cpp/yaml.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "absl/time/time.h"
#include "agora/resources.h"
#include "agora/task.h"

namespace agora::spec {

// InvalidArgument "FIELD: MESSAGE".
absl::Status Invalid(absl::string_view field, absl::string_view message);

// "where.key", or "key" at the top.
std::string Field(absl::string_view where, absl::string_view key);

// Rejects keys of the map `node` outside `allowed`, naming the field and the
// known one it was likely meant to be ("did you mean 'instances'?").
absl::Status CheckKeys(const YAML::Node& node, absl::string_view where,
                       std::initializer_list<absl::string_view> allowed);

// A scalar as T, or an error naming `field`. Floating-point values must be
// finite: `.nan` and `.inf` are refused.
template <typename T>
absl::StatusOr<T> Scalar(const YAML::Node& n, absl::string_view field) {
  if (!n.IsScalar()) return Invalid(field, "expected a single value");
  try {
    T v = n.as<T>();
    if constexpr (std::is_floating_point_v<T>) {
      if (!std::isfinite(v)) return Invalid(field, std::string("'") + n.Scalar() + "' is not a finite number");
    }
    return v;
  } catch (const YAML::Exception&) {
    return Invalid(field, std::string("'") + n.Scalar() + "' has the wrong type");
  }
}

// A required, non-empty command of at most kMaxCommandBytes.
absl::StatusOr<std::string> Command(const YAML::Node& n, absl::string_view field);

// "30s", "5m", "1h30m", "2d".
absl::StatusOr<absl::Duration> Duration(const YAML::Node& n, absl::string_view field);

// {cpus, mem, disk} over the defaults in `*out`; cpus must be positive, and
// each at most Resources::kMaxScalar.
absl::Status ParseResources(const YAML::Node& n, absl::string_view field, Resources* out);

// {NAME: value, ...}, appended to `*out`, within kMaxEnvVars and kMaxEnvBytes.
absl::Status ParseEnv(const YAML::Node& n, absl::string_view field, Env* out);

// Parses YAML text, turning yaml-cpp's exceptions into "LINE:COL: not valid
// YAML: ...".
absl::StatusOr<YAML::Node> LoadYaml(absl::string_view text);

// `error`, from validating the document `root`, with the line and column
// (1-based) of the field it names put first: "12:5: services[1].port: ...".
// The field is found by its path; one that is missing is placed at the
// nearest enclosing field there is. Other errors pass unchanged.
absl::Status Located(const YAML::Node& root, const absl::Status& error);

// "unknown field; did you mean 'retries'? (known: a, b, ...)" for `key`.
std::string UnknownField(absl::string_view key, absl::Span<const absl::string_view> known);

}  // namespace agora::spec
