#include "common/role_options.h"

#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/ids.h"

namespace agora {
namespace {

// Splits "ROLE=VALUE" and checks the role's name.
absl::StatusOr<std::pair<std::string, std::string>> RoleAndValue(absl::string_view flag,
                                                                 absl::string_view part) {
  part = absl::StripAsciiWhitespace(part);
  std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
  if (part.find('=') == absl::string_view::npos || kv.second.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": '", part, "' is not ROLE=VALUE"));
  }
  if (absl::Status s = ValidateName(absl::StrCat(flag, " role"), kv.first); !s.ok()) return s;
  return kv;
}

}  // namespace

absl::Status ValidateWeight(absl::string_view role, double weight) {
  if (std::isfinite(weight) && weight > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("the weight of role '", role, "' must be a positive number, not ", weight));
}

absl::Status ParseRoleWeights(absl::string_view text, RoleOptions* out) {
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    auto kv = RoleAndValue("--weights", part);
    if (!kv.ok()) return kv.status();
    double weight = 0;
    if (!absl::SimpleAtod(kv->second, &weight)) {
      return absl::InvalidArgumentError(absl::StrCat("--weights: the weight of role '", kv->first,
                                                     "' must be a positive number, not '",
                                                     kv->second, "'"));
    }
    if (absl::Status s = ValidateWeight(kv->first, weight); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--weights: ", s.message()));
    }
    if (!out->weights.emplace(kv->first, weight).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("--weights: role '", kv->first, "' is given twice"));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseRoleQuota(absl::string_view text, RoleOptions* out) {
  auto kv = RoleAndValue("--quota", text);
  if (!kv.ok()) return kv.status();
  auto limit = ParseQuota(kv->second);
  if (!limit.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--quota ", kv->first, ": ", limit.status().message()));
  }
  if (!out->quotas.emplace(kv->first, *limit).second) {
    return absl::InvalidArgumentError(
        absl::StrCat("--quota: role '", kv->first, "' is given twice"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Resources> ParseQuota(absl::string_view text) {
  auto limit = Resources::Parse(text);
  if (!limit.ok()) return limit.status();
  if (!limit->ports().empty()) {
    return absl::InvalidArgumentError("only cpus, mem and disk can be capped");
  }
  bool named[3] = {false, false, false};  // cpus, mem, disk
  for (absl::string_view item : absl::StrSplit(text, ';', absl::SkipWhitespace())) {
    const absl::string_view name = absl::StripAsciiWhitespace(item.substr(0, item.find(':')));
    named[0] |= name == "cpus";
    named[1] |= name == "mem";
    named[2] |= name == "disk";
  }
  if (!named[0] && !named[1] && !named[2]) {
    return absl::InvalidArgumentError("a quota must cap cpus, mem or disk");
  }
  const double none = Resources::kMaxScalar;
  return Resources::Scalars(named[0] ? limit->cpus() : none, named[1] ? limit->mem() : none,
                            named[2] ? limit->disk() : none);
}

}  // namespace agora
