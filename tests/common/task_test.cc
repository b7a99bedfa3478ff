#include "agora/task.h"

#include <gtest/gtest.h>

namespace agora {
namespace {

TaskSpec WithFiles(Env files) {
  TaskSpec t;
  t.task_id = "t1";
  t.files = std::move(files);
  return t;
}

TEST(TaskFilesTest, RelativePathsInsideTheSandboxAreAccepted) {
  EXPECT_TRUE(ValidateTaskFiles(WithFiles({{"config.json", "{}"}, {"conf/app/x.yaml", "a: 1"}})).ok());
  EXPECT_TRUE(ValidateTaskFiles(WithFiles({})).ok());
}

TEST(TaskFilesTest, PathsThatCouldEscapeOrClashAreRejectedByName) {
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "dir/", "stdout", "stderr"}) {
    absl::Status s = ValidateTaskFiles(WithFiles({{bad, "x"}}));
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find(std::string("file '") + bad + "'"), std::string::npos) << s.message();
  }
  EXPECT_NE(ValidateTaskFiles(WithFiles({{"a", "1"}, {"a", "2"}})).message().find("is given twice"),
            std::string::npos);
}

TEST(TaskFilesTest, MoreThanTheLimitInAllIsRejected) {
  const std::string half(kMaxTaskFileBytes / 2 + 1, 'x');
  absl::Status s = ValidateTaskFiles(WithFiles({{"a", half}, {"b", half}}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("more than 1048576"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace agora
