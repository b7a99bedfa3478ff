#include "agent/executor/task_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "agent/sandbox_files.h"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;

class TaskLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/task-log-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    std::ofstream(dir_ + "/../task-log-secret-" + fs::path(dir_).filename().string()) << "secret";
    sandbox_ = *OpenTrustedDirectory(dir_);
    int ends[2];
    ASSERT_EQ(::pipe2(ends, O_NONBLOCK | O_CLOEXEC), 0);
    read_ = UniqueFd(ends[0]);
    write_ = UniqueFd(ends[1]);
  }
  void TearDown() override {
    fs::remove(dir_ + "/../task-log-secret-" + fs::path(dir_).filename().string());
    fs::remove_all(dir_);
  }
  std::unique_ptr<TaskLog> Open(uint64_t max_bytes, int max_files) {
    auto log = TaskLog::Open(sandbox_.get(), "stdout", {max_bytes, max_files}, std::nullopt);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *std::move(log) : nullptr;
  }
  // Writes `text` into the pipe and lets the log take it.
  void Print(TaskLog& log, const std::string& text) {
    ASSERT_EQ(::write(write_.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
    EXPECT_TRUE(log.Pump(read_.get()));
  }
  std::string Read(const std::string& name) {
    std::ifstream in(dir_ + "/" + name);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  std::string dir_;
  UniqueFd sandbox_, read_, write_;
};

TEST_F(TaskLogTest, RotatesBySizeAndDropsTheOldest) {
  auto log = Open(10, 3);
  Print(*log, "0123456789");  // fills stdout
  Print(*log, "abcdefghij");  // stdout -> stdout.1
  Print(*log, "ABCDEFGHIJ");  // stdout.1 -> stdout.2, stdout -> stdout.1
  Print(*log, "xyz");         // the first ten bytes are dropped
  EXPECT_EQ(Read("stdout"), "xyz");
  EXPECT_EQ(Read("stdout.1"), "ABCDEFGHIJ");
  EXPECT_EQ(Read("stdout.2"), "abcdefghij");
  EXPECT_FALSE(fs::exists(dir_ + "/stdout.3"));
  EXPECT_EQ(log->rotations(), 3u);
}

TEST_F(TaskLogTest, AWriteLargerThanAFileIsSplitAcrossFiles) {
  auto log = Open(4, 5);
  Print(*log, "aaaabbbbcc");
  EXPECT_EQ(Read("stdout.2"), "aaaa");
  EXPECT_EQ(Read("stdout.1"), "bbbb");
  EXPECT_EQ(Read("stdout"), "cc");
}

TEST_F(TaskLogTest, NamesTheTaskPlantedAreReplacedNotFollowed) {
  const std::string secret = dir_ + "/../task-log-secret-" + fs::path(dir_).filename().string();
  auto log = Open(4, 3);
  fs::create_symlink(secret, dir_ + "/stdout.1");
  fs::create_symlink(secret, dir_ + "/stdout.2");
  Print(*log, "12345678");
  EXPECT_FALSE(fs::is_symlink(dir_ + "/stdout.1"));
  EXPECT_EQ(Read("stdout.1"), "1234");
  std::ifstream in(secret);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), "secret");
}

TEST_F(TaskLogTest, AStdoutThatIsASymlinkOrAFifoIsRefused) {
  const std::string secret = dir_ + "/../task-log-secret-" + fs::path(dir_).filename().string();
  fs::create_symlink(secret, dir_ + "/stdout");
  EXPECT_FALSE(TaskLog::Open(sandbox_.get(), "stdout", {}, std::nullopt).ok());
  fs::remove(dir_ + "/stdout");
  ASSERT_EQ(::mkfifo((dir_ + "/stdout").c_str(), 0600), 0);
  EXPECT_FALSE(TaskLog::Open(sandbox_.get(), "stdout", {}, std::nullopt).ok());  // and did not block
}

TEST_F(TaskLogTest, WhatCannotBeRotatedIsDroppedNotWrittenPastTheLimit) {
  auto log = Open(4, 2);
  fs::create_directories(dir_ + "/stdout.1/full");  // a rename cannot replace a full directory
  Print(*log, "1234");
  Print(*log, "5678");
  EXPECT_GE(log->failed_rotations(), 1u);
  EXPECT_EQ(log->dropped_bytes(), 4u);
  EXPECT_EQ(Read("stdout"), "1234");
  fs::remove_all(dir_ + "/stdout.1");  // room again
  Print(*log, "9abc");
  EXPECT_EQ(Read("stdout.1"), "1234");
  EXPECT_EQ(Read("stdout"), "9abc");
}

TEST_F(TaskLogTest, AFileTheTaskDeletedIsReplacedSoItsBytesStayVisible) {
  auto log = Open(100, 2);
  Print(*log, "1234");
  fs::remove(dir_ + "/stdout");
  Print(*log, "5678");
  EXPECT_EQ(Read("stdout"), "5678");
}

TEST_F(TaskLogTest, PumpSaysWhenThePipeHasEnded) {
  auto log = Open(100, 2);
  Print(*log, "last words");
  write_.Reset();
  EXPECT_FALSE(log->Pump(read_.get()));
  EXPECT_EQ(Read("stdout"), "last words");
}

}  // namespace
}  // namespace agora::agent
