#include "frameworks/service/constraints.h"

#include <memory>

#include <re2/re2.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace agora::service {

namespace {

// True when `value` matches the whole of `pattern` (RE2: linear time in the
// value, no recursion, whatever an agent reports). Compiled patterns are kept
// per thread; a pattern that does not compile matches nothing (specs are
// checked at submit).
bool FullMatch(const std::string& value, const std::string& pattern) {
  thread_local absl::flat_hash_map<std::string, std::unique_ptr<RE2>> compiled;
  auto it = compiled.find(pattern);
  if (it == compiled.end()) {
    if (compiled.size() >= 1024) compiled.clear();
    it = compiled.emplace(pattern, std::make_unique<RE2>(pattern, RE2::Quiet)).first;
  }
  return it->second->ok() && RE2::FullMatch(value, *it->second);
}

}  // namespace

std::optional<std::string> FieldValue(const AgentView& agent, const std::string& field) {
  if (field == "hostname") return agent.hostname;
  for (const auto& [k, v] : agent.attributes) {
    if (k == field) return v;
  }
  return std::nullopt;
}

absl::Status CheckConstraints(const std::vector<Constraint>& constraints, const AgentView& candidate,
                              const std::vector<AgentView>& placed,
                              const std::vector<AgentView>& known) {
  for (const Constraint& c : constraints) {
    const std::string name = absl::StrCat("[", c.field, ", ", OpName(c.op),
                                          c.value.empty() ? "" : ", " + c.value, "]");
    auto no = [&](absl::string_view why) {
      return absl::FailedPreconditionError(absl::StrCat(name, ": ", why));
    };
    const std::optional<std::string> value = FieldValue(candidate, c.field);
    absl::flat_hash_map<std::string, int> per_value;  // instances per value of the field
    for (const AgentView& p : placed) {
      if (auto v = FieldValue(p, c.field)) ++per_value[*v];
    }
    const int here = value ? per_value[*value] : 0;
    switch (c.op) {
      case Constraint::Op::kUnique:
        if (!value) return no(absl::StrCat(candidate.hostname, " has no ", c.field));
        if (here > 0) return no(absl::StrCat(*value, " already runs one"));
        break;
      case Constraint::Op::kCluster:
        if (value != c.value) {
          return no(absl::StrCat(candidate.hostname, " has ", c.field, " ", value.value_or("(none)")));
        }
        break;
      case Constraint::Op::kLike:
      case Constraint::Op::kUnlike: {
        const bool match = value && FullMatch(*value, c.value);
        if (c.op == Constraint::Op::kLike && !match) {
          return no(absl::StrCat(candidate.hostname, "'s ", c.field, " does not match"));
        }
        if (c.op == Constraint::Op::kUnlike && match) {
          return no(absl::StrCat(candidate.hostname, "'s ", c.field, " matches"));
        }
        break;
      }
      case Constraint::Op::kMaxPer: {
        int max = 1;
        (void)absl::SimpleAtoi(c.value, &max);
        if (!value) return no(absl::StrCat(candidate.hostname, " has no ", c.field));
        if (here >= max) return no(absl::StrCat(*value, " already runs ", here));
        break;
      }
      case Constraint::Op::kGroupBy: {
        // Even spread: only the least-loaded groups take the next instance.
        if (!value) return no(absl::StrCat(candidate.hostname, " has no ", c.field));
        absl::flat_hash_set<std::string> groups;
        for (const AgentView& k : known) {
          if (auto v = FieldValue(k, c.field)) groups.insert(*v);
        }
        groups.insert(*value);
        int fewest = here;
        for (const std::string& g : groups) fewest = std::min(fewest, per_value[g]);
        if (here > fewest) return no(absl::StrCat(*value, " runs ", here, "; another group runs ", fewest));
        break;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace agora::service
