#include "agora/task.h"

#include <cctype>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace agora {

bool IsTerminal(TaskState state) {
  switch (state) {
    case TaskState::kFinished:
    case TaskState::kFailed:
    case TaskState::kKilled:
    case TaskState::kError:
    case TaskState::kLost:
    case TaskState::kGone:
    case TaskState::kDropped:
      return true;
    default:
      return false;
  }
}

absl::string_view TaskStateName(TaskState state) {
  static constexpr absl::string_view kNames[] = {
      "staging", "starting", "running", "finished", "failed",  "killed",
      "error",   "lost",     "unreachable", "gone", "dropped", "killing"};
  return kNames[static_cast<int>(state)];
}

absl::Status ValidateEnvBounds(const Env& env, absl::string_view what) {
  if (env.size() > kMaxEnvVars) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", env.size(), " variables; at most ", kMaxEnvVars));
  }
  size_t bytes = 0;
  for (const auto& [name, value] : env) {
    if (name.empty() || name.find('=') != std::string::npos || name.find('\0') != std::string::npos ||
        value.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": '", absl::CHexEscape(name.substr(0, 64)), "' is not a variable name (empty, '=' or NUL)"));
    }
    bytes += name.size() + value.size() + 2;
  }
  if (bytes > kMaxEnvBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", bytes, " bytes; at most ", kMaxEnvBytes));
  }
  return absl::OkStatus();
}

absl::Status ValidateTaskBounds(const TaskSpec& spec) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("task ", spec.task_id, ": ", why));
  };
  if (spec.command.size() > kMaxCommandBytes) {
    return bad(absl::StrCat("command of ", spec.command.size(), " bytes; at most ", kMaxCommandBytes));
  }
  if (spec.command.find('\0') != std::string::npos) return bad("command holds a NUL byte");
  if (spec.name.size() > 256) return bad("name longer than 256 bytes");
  if (spec.port_names.size() > 64) return bad("more than 64 port names");
  for (const std::string& p : spec.port_names) {
    if (p.size() > 64) return bad("port name longer than 64 bytes");
  }
  if (absl::Status s = ValidateEnvBounds(spec.env, absl::StrCat("task ", spec.task_id, " env")); !s.ok()) {
    return s;
  }
  const HealthCheck& h = spec.health_check;
  if (h.kind != HealthCheck::Kind::kNone) {
    if (h.interval < kMinHealthCheckInterval) {
      return bad(absl::StrCat("health check interval ", absl::FormatDuration(h.interval),
                              "; at least ", absl::FormatDuration(kMinHealthCheckInterval)));
    }
    if (h.timeout < kMinHealthCheckTimeout) {
      return bad(absl::StrCat("health check timeout ", absl::FormatDuration(h.timeout),
                              "; at least ", absl::FormatDuration(kMinHealthCheckTimeout)));
    }
    if (h.command.size() > kMaxCommandBytes || h.path.size() > 2048) {
      return bad("health check command or path too long");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateTaskUser(const TaskSpec& spec) {
  const std::string& u = spec.user;
  if (u.empty()) return absl::OkStatus();
  bool ok = u.size() <= 32 && (std::islower(static_cast<unsigned char>(u[0])) || u[0] == '_');
  for (char c : u) {
    ok = ok && (std::islower(static_cast<unsigned char>(c)) ||
                std::isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("task ", spec.task_id, ": user '", u,
                                                 "' is not a user name ([a-z_][a-z0-9_.-]*)"));
}

absl::Status ValidateTaskFiles(const TaskSpec& spec) {
  size_t total = 0;
  absl::flat_hash_set<std::string> seen;
  for (const auto& file : spec.files) {
    const std::string& path = file.first;  // (clang 14 cannot capture structured bindings)
    const std::string& content = file.second;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("task ", spec.task_id, ": file '", path, "' ", why));
    };
    if (path.empty() || path.front() == '/' || path.back() == '/') return bad("must be a relative file path");
    if (path.find('\0') != std::string::npos) return bad("contains a NUL byte");
    for (absl::string_view part : absl::StrSplit(path, '/')) {
      if (part.empty() || part == "." || part == "..") return bad("must not contain empty, '.' or '..' parts");
    }
    if (path == "stdout" || path == "stderr") return bad("would overwrite the task's output");
    if (!seen.insert(path).second) return bad("is given twice");
    total += content.size();
  }
  if (total > kMaxTaskFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("task ", spec.task_id, ": files hold ", total, " bytes, more than ", kMaxTaskFileBytes));
  }
  return absl::OkStatus();
}

}  // namespace agora
