#include "agent/task_user.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;

TEST(CheckReachableTest, NamesTheDirectoryThatStopsTheTaskUserAndHowToOpenIt) {
  const fs::path base = fs::temp_directory_path() / absl::StrCat("agora-reach-", ::getpid());
  const fs::path work = base / "agent-0" / "frameworks";
  fs::create_directories(work);
  fs::permissions(base, fs::perms::owner_all, fs::perm_options::replace);  // as `mktemp -d`
  const TaskUser nobody{"nobody", 65534, 65534, {65534}, ""};

  absl::Status s = CheckReachable(nobody, work.string());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), absl::StrCat("tasks run as nobody, who cannot pass through ", base.string(),
                                      " (mode 0700) to reach ", work.string(), ": allow it (chmod o+x ",
                                      base.string(), "), choose another --work-dir, or set --task-user"));
  fs::permissions(base, fs::perms::others_exec, fs::perm_options::add);
  EXPECT_TRUE(CheckReachable(nobody, work.string()).ok());
  // Group and owner bits count for members and the owner.
  fs::permissions(base, fs::perms::owner_all | fs::perms::group_exec, fs::perm_options::replace);
  const TaskUser member{"member", 12345, 54321, {::getegid()}, ""};
  EXPECT_TRUE(CheckReachable(member, work.string()).ok());
  const TaskUser owner{"owner", ::geteuid(), 54321, {}, ""};
  EXPECT_TRUE(CheckReachable(owner, work.string()).ok());
  EXPECT_TRUE(CheckReachable(TaskUser{"root", 0, 0, {}, ""}, work.string()).ok());
  // A path that is not there says so.
  EXPECT_NE(CheckReachable(member, (base / "missing").string()).message().find("cannot stat"),
            std::string::npos);
  fs::remove_all(base);
}

}  // namespace
}  // namespace agora::agent
