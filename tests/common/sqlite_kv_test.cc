#include "common/sqlite_kv.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

namespace agora {
namespace {

class SqliteKvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sqlite-kv-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "kv.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(SqliteKvTest, WritesLandAtFlushAndSurviveReopening) {
  {
    auto kv = SqliteKv::Open(path_, /*fsync=*/false);
    ASSERT_TRUE(kv.ok()) << kv.status();
    (*kv)->Put("job", "b", "2");
    (*kv)->Put("job", "a", "1");
    (*kv)->Put("run", "a", "run-a");
    (*kv)->Put("job", "a", "1'");  // the last write wins
    EXPECT_TRUE((*kv)->LoadAll("job")->empty());  // not yet flushed
    ASSERT_TRUE((*kv)->Flush().ok());
    EXPECT_EQ((*kv)->buffered(), 0u);
    (*kv)->Erase("job", "b");
    ASSERT_TRUE((*kv)->Flush().ok());
  }
  auto kv = SqliteKv::Open(path_, /*fsync=*/true);
  ASSERT_TRUE(kv.ok()) << kv.status();
  auto jobs = (*kv)->LoadAll("job");
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0], std::make_pair(std::string("a"), std::string("1'")));
  EXPECT_EQ(**(*kv)->Get("run", "a"), "run-a");
  EXPECT_FALSE((*kv)->Get("run", "zzz")->has_value());
}

TEST_F(SqliteKvTest, ASecondOpenOfTheSameFileFails) {
  auto first = SqliteKv::Open(path_, false);
  ASSERT_TRUE(first.ok());
  auto second = SqliteKv::Open(path_, false);
  EXPECT_FALSE(second.ok());
  EXPECT_NE(std::string(second.status().message()).find("locked"), std::string::npos)
      << second.status();
}

TEST_F(SqliteKvTest, AnUnwritablePathIsAClearError) {
  auto kv = SqliteKv::Open("/proc/no/such/dir/kv.db", false);
  ASSERT_FALSE(kv.ok());
  EXPECT_NE(std::string(kv.status().message()).find("cannot open /proc/no/such/dir/kv.db"),
            std::string::npos);
}

}  // namespace
}  // namespace agora
