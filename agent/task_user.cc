#include "agent/task_user.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace agora::agent {

absl::StatusOr<TaskUser> ResolveTaskUser(const std::string& name) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return absl::NotFoundError(absl::StrCat("no user '", name, "' on this machine"));
  }
  TaskUser user;
  user.name = name;
  user.uid = pw.pw_uid;
  user.gid = pw.pw_gid;
  if (pw.pw_dir != nullptr && ::access(pw.pw_dir, F_OK) == 0) user.home = pw.pw_dir;
  int count = 64;
  std::vector<gid_t> groups(count);
  if (::getgrouplist(name.c_str(), pw.pw_gid, groups.data(), &count) < 0) {
    groups.resize(count);
    ::getgrouplist(name.c_str(), pw.pw_gid, groups.data(), &count);
  }
  groups.resize(count);
  user.groups = std::move(groups);
  return user;
}

namespace {

absl::StatusOr<TaskUser> ResolveTaskUserByUid(uid_t uid) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return absl::NotFoundError(absl::StrCat("no user with uid ", uid, " on this machine"));
  }
  return ResolveTaskUser(pw.pw_name);
}

}  // namespace

TaskUser FrameworkUser(uid_t uid) {
  TaskUser user;
  user.name = absl::StrCat("agora-", uid);
  user.uid = uid;
  user.gid = uid;
  return user;
}

absl::StatusOr<TaskUserPolicy> MakeTaskUserPolicy(const std::string& flag_user, bool allow_root,
                                                  uid_t first_framework_uid) {
  TaskUserPolicy policy;
  policy.allow_root = allow_root;
  policy.can_switch = ::geteuid() == 0;
  if (flag_user.empty() && policy.can_switch && first_framework_uid != 0) {
    policy.per_framework_uids = true;
    policy.default_user = FrameworkUser(first_framework_uid);
    policy.default_user.name = "each framework's own uid";
    return policy;
  }
  std::string name = flag_user;
  if (name.empty()) {
    if (policy.can_switch) {
      name = "nobody";
    } else {
      auto self = ResolveTaskUserByUid(::geteuid());
      if (!self.ok()) return self.status();
      name = self->name;
    }
  }
  auto user = ResolveTaskUser(name);
  if (!user.ok()) return absl::InvalidArgumentError(absl::StrCat("--task-user: ", user.status().message()));
  if (!policy.can_switch && user->uid != ::geteuid()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--task-user ", name, ": the agent is not root, so its tasks can only run as its own user"));
  }
  policy.default_user = *std::move(user);
  return policy;
}

absl::StatusOr<TaskUser> UserForTask(const TaskUserPolicy& policy, const std::string& requested,
                                     const TaskUser* framework_user) {
  if (requested.empty() && framework_user != nullptr) return *framework_user;
  if (requested.empty() && policy.per_framework_uids) {
    return absl::InternalError("no uid of the framework's own to run its task as");
  }
  if (requested.empty() || (!policy.per_framework_uids && requested == policy.default_user.name)) {
    return policy.default_user;
  }
  if (requested == "root") {
    if (!policy.allow_root || !policy.can_switch) {
      return absl::PermissionDeniedError(
          "the task asks to run as root; this agent runs tasks as root only with "
          "--allow-root-tasks (and when the agent itself is root)");
    }
    return ResolveTaskUser("root");
  }
  if (policy.per_framework_uids) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the task asks to run as '", requested,
        "'; this agent runs each framework's tasks under a uid of its own (--task-uids)",
        policy.allow_root ? " or as root" : ""));
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "the task asks to run as '", requested, "'; this agent runs tasks as '",
      policy.default_user.name, "' (--task-user)", policy.allow_root ? " or root" : ""));
}

absl::Status CheckReachable(const TaskUser& user, const std::string& dir) {
  if (user.uid == 0) return absl::OkStatus();
  const std::filesystem::path path = std::filesystem::absolute(dir).lexically_normal();
  std::filesystem::path at;
  for (const std::filesystem::path& part : path) {
    at /= part;
    struct stat st {};
    if (::stat(at.c_str(), &st) != 0) {
      return absl::FailedPreconditionError(absl::StrCat("cannot stat ", at.string(), ": ", std::strerror(errno)));
    }
    const bool in_group = st.st_gid == user.gid ||
                          std::find(user.groups.begin(), user.groups.end(), st.st_gid) != user.groups.end();
    const mode_t bit = st.st_uid == user.uid ? S_IXUSR : in_group ? S_IXGRP : S_IXOTH;
    if ((st.st_mode & bit) == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "tasks run as ", user.name, ", who cannot pass through ", at.string(), " (mode ",
          absl::StrFormat("%04o", st.st_mode & 07777), ") to reach ", path.string(),
          ": allow it (chmod o+x ", at.string(), "), choose another --work-dir, or set --task-user"));
    }
  }
  return absl::OkStatus();
}

}  // namespace agora::agent
