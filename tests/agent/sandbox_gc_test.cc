#include "agent/sandbox_gc.h"

#include <sys/stat.h>
#include <utime.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace agora::agent {
namespace {
namespace fs = std::filesystem;

class SandboxGcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "agora-gc-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A sandbox with one file, both last written `age` ago.
  std::string Sandbox(const std::string& rel, absl::Duration age) {
    const fs::path p = fs::path(dir_) / rel;
    fs::create_directories(p);
    std::ofstream(p / "stdout") << "out\n";
    const time_t when = absl::ToTimeT(absl::Now() - age);
    utimbuf times{when, when};
    ::utime((p / "stdout").c_str(), &times);
    ::utime(p.c_str(), &times);
    return p.string();
  }
  std::string dir_;
};

TEST_F(SandboxGcTest, RemovesOldFinishedSandboxesAndKeepsLiveAndRecentOnes) {
  const std::string old_task = Sandbox("frameworks/f1/tasks/old", absl::Hours(200));
  const std::string old_run = Sandbox("frameworks/f1/tasks/old.r-1", absl::Hours(300));
  const std::string live = Sandbox("frameworks/f1/tasks/live", absl::Hours(500));
  const std::string recent = Sandbox("frameworks/f2/tasks/recent", absl::Hours(1));
  const std::string old_executor = Sandbox("frameworks/f1/executors/e-1", absl::Hours(200));
  const std::string live_executor = Sandbox("frameworks/f1/executors/e-2", absl::Hours(200));
  std::ofstream(fs::path(dir_) / "frameworks/f1/not-a-sandbox") << "x";
  const int removed = CollectSandboxes(dir_, {live, live_executor}, absl::Hours(168), absl::Now());
  EXPECT_EQ(removed, 3);
  EXPECT_FALSE(fs::exists(old_task));
  EXPECT_FALSE(fs::exists(old_run));
  EXPECT_FALSE(fs::exists(old_executor));
  for (const std::string& kept : {live, recent, live_executor}) EXPECT_TRUE(fs::exists(kept)) << kept;
  EXPECT_TRUE(fs::exists(fs::path(dir_) / "frameworks/f1/not-a-sandbox"));
}

TEST_F(SandboxGcTest, ASandboxStillWrittenToIsNotOld) {
  const std::string s = Sandbox("frameworks/f1/tasks/chatty", absl::Hours(500));
  std::ofstream(fs::path(s) / "stderr") << "still talking\n";  // written now
  EXPECT_EQ(CollectSandboxes(dir_, {}, absl::Hours(168), absl::Now()), 0);
}

TEST(SandboxAgeTest, AgesShrinkAsTheDiskFills) {
  SandboxGcOptions o;
  o.delay = absl::Hours(100);
  o.disk_headroom = 0.1;
  EXPECT_EQ(AllowedSandboxAge(o, 0.0), absl::Hours(90));
  EXPECT_EQ(AllowedSandboxAge(o, 0.5), absl::Hours(40));
  EXPECT_EQ(AllowedSandboxAge(o, 0.95), absl::ZeroDuration());
}

}  // namespace
}  // namespace agora::agent
