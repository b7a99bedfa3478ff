#include "frameworks/spec/yaml_fields.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
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
    if (!ok) return Invalid(Field(where, key), UnknownField(key, allowed));
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
    if (e.mark.is_null()) return absl::InvalidArgumentError(absl::StrCat("not valid YAML: ", e.msg));
    return absl::InvalidArgumentError(
        absl::StrCat(e.mark.line + 1, ":", e.mark.column + 1, ": not valid YAML: ", e.msg));
  }
}

absl::Status Located(const YAML::Node& root, const absl::Status& error) {
  if (error.ok() || !root) return error;
  const absl::string_view message = error.message();
  const size_t colon = message.find(": ");
  if (colon == absl::string_view::npos) return error;
  const absl::string_view path = message.substr(0, colon);
  const bool is_path = !path.empty() && std::all_of(path.begin(), path.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '[' ||
           c == ']';
  });
  if (!is_path) return error;
  // Walk "a.b[2].c": keys, then indexes; stop at the first missing one. A
  // file of one service or job is named as the first of a list
  // ("services[0].port") that it does not have: that is the file itself.
  YAML::Node at = root;
  YAML::Mark mark = root.Mark();
  try {
    bool first = true;
    for (absl::string_view part : absl::StrSplit(path, '.')) {
      const size_t bracket = part.find('[');
      if (std::exchange(first, false) && absl::EndsWith(part, "[0]") && root.IsMap() &&
          !root[std::string(part.substr(0, bracket))]) {
        continue;
      }
      YAML::Node next = at.IsMap() ? at[std::string(part.substr(0, bracket))] : YAML::Node();
      size_t i = bracket;
      while (next && i != absl::string_view::npos && i < part.size()) {
        const size_t close = part.find(']', i);
        size_t index = 0;
        if (close == absl::string_view::npos || !absl::SimpleAtoi(part.substr(i + 1, close - i - 1), &index) ||
            !next.IsSequence() || index >= next.size()) {
          next = YAML::Node();
          break;
        }
        next = next[index];
        i = part.find('[', close);
      }
      if (!next || next.Mark().is_null()) break;
      at = next;
      mark = at.Mark();
    }
  } catch (const YAML::Exception&) {
    // Keep the deepest field found.
  }
  if (mark.is_null()) return error;
  return absl::Status(error.code(), absl::StrCat(mark.line + 1, ":", mark.column + 1, ": ", message));
}

std::string UnknownField(absl::string_view key, absl::Span<const absl::string_view> known) {
  const std::string meant = ClosestMatch(key, known);
  return absl::StrCat("unknown field", meant.empty() ? "" : absl::StrCat("; did you mean '", meant, "'?"),
                      " (known: ", absl::StrJoin(known, ", "), ")");
}


}  // namespace agora::spec
