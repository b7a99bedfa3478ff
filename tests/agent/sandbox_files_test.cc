#include "agent/sandbox_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace agora::agent {
namespace {

class SandboxFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sandbox-files-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    std::filesystem::create_directories(dir_ + "/box");
    std::ofstream(dir_ + "/box/stdout") << "hello world";
    std::ofstream(dir_ + "/secret") << "secret";
    auto fd = OpenTrustedDirectory(dir_);
    ASSERT_TRUE(fd.ok());
    root_ = *std::move(fd);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  UniqueFd root_;
};

TEST_F(SandboxFilesTest, ReadsSlicesOfARegularFile) {
  auto fd = OpenRegularBeneath(root_.get(), "box/stdout");
  ASSERT_TRUE(fd.ok()) << fd.status();
  auto all = ReadSlice(fd->get(), 0, 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->data, "hello world");
  EXPECT_EQ(all->size, 11);
  auto tail = ReadSlice(fd->get(), -1, 5);
  EXPECT_EQ(tail->data, "world");
  EXPECT_EQ(tail->offset, 6);
  EXPECT_EQ(ReadSlice(fd->get(), 50, 5)->data, "");
}

TEST_F(SandboxFilesTest, RefusesSymlinksEscapesFifosAndDirectories) {
  std::filesystem::create_symlink(dir_ + "/secret", dir_ + "/box/link");
  std::filesystem::create_symlink("/etc", dir_ + "/box/dir");
  ASSERT_EQ(::mkfifo((dir_ + "/box/fifo").c_str(), 0600), 0);
  for (const char* path : {"box/link", "box/dir/passwd", "box/../../etc/passwd", "/etc/passwd"}) {
    auto fd = OpenRegularBeneath(root_.get(), path);
    ASSERT_FALSE(fd.ok()) << path;
    EXPECT_EQ(fd.status().code(), absl::StatusCode::kInvalidArgument) << path << ": " << fd.status();
  }
  // A FIFO opens at once (non-blocking) and is refused as no regular file.
  auto fifo = OpenRegularBeneath(root_.get(), "box/fifo");
  ASSERT_FALSE(fifo.ok());
  EXPECT_EQ(fifo.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(OpenRegularBeneath(root_.get(), "box").ok());
  // A second name for a file (a hard link planted where protected_hardlinks is off).
  std::filesystem::create_hard_link(dir_ + "/secret", dir_ + "/box/linked");
  EXPECT_EQ(OpenRegularBeneath(root_.get(), "box/linked").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(OpenRegularBeneath(root_.get(), "box/none").status().code(), absl::StatusCode::kNotFound);
}

// The walk OpenBeneath falls back to without openat2() keeps its contract.
TEST_F(SandboxFilesTest, TheWalkWithoutOpenat2RefusesWhatOpenat2Refuses) {
  std::filesystem::create_symlink(dir_ + "/secret", dir_ + "/box/link");
  std::filesystem::create_symlink("/etc", dir_ + "/box/dir");
  std::filesystem::create_directories(dir_ + "/box/sub");
  for (const char* path : {"box/link", "box/dir/passwd", "box/../secret", "box/../../etc/passwd", "/etc/passwd", ""}) {
    auto fd = OpenBeneathByComponents(root_.get(), path, O_RDONLY);
    ASSERT_FALSE(fd.ok()) << path;
    EXPECT_EQ(fd.status().code(), absl::StatusCode::kInvalidArgument) << path << ": " << fd.status();
  }
  EXPECT_EQ(OpenBeneathByComponents(root_.get(), "box/none", O_RDONLY).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(OpenBeneathByComponents(root_.get(), "box/stdout/x", O_RDONLY).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto read = OpenBeneathByComponents(root_.get(), "box/./stdout", O_RDONLY);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(ReadSlice(read->get(), 0, 100)->data, "hello world");
  auto made = OpenBeneathByComponents(root_.get(), "box/sub/new", O_WRONLY | O_CREAT | O_EXCL, 0640);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_TRUE(std::filesystem::is_regular_file(dir_ + "/box/sub/new"));
  EXPECT_EQ(OpenBeneathByComponents(root_.get(), "box/sub/new", O_WRONLY | O_CREAT | O_EXCL, 0640).status().code(),
            absl::StatusCode::kAlreadyExists);
  // A dangling symlink is not created through.
  std::filesystem::create_symlink(dir_ + "/planted", dir_ + "/box/dangling");
  EXPECT_FALSE(OpenBeneathByComponents(root_.get(), "box/dangling", O_WRONLY | O_CREAT, 0640).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/planted"));
}

}  // namespace
}  // namespace agora::agent

#include "agent/executor/sandbox_usage.h"

namespace agora::agent {
namespace {

TEST_F(SandboxFilesTest, SandboxBytesCountsEachInodeOnceAndFollowsNoSymlink) {
  const std::string box = dir_ + "/box";
  std::ofstream(box + "/big") << std::string(1 << 20, 'x');
  const uint64_t one = SandboxBytes(box);
  EXPECT_GE(one, 1u << 20);
  std::filesystem::create_hard_link(box + "/big", box + "/again");
  std::filesystem::create_symlink("/usr", box + "/usr");
  EXPECT_EQ(SandboxBytes(box), one);
}

TEST_F(SandboxFilesTest, ATreeBeyondTheWalkMeasuresAsUnmeasurable) {
  std::string deep = dir_ + "/box";
  for (int i = 0; i < 10; ++i) deep += "/d";
  std::filesystem::create_directories(deep);
  EXPECT_EQ(SandboxBytes(dir_ + "/box", 1000, /*max_depth=*/5), kUnmeasurable);
  EXPECT_EQ(SandboxBytes(dir_ + "/box", /*max_entries=*/3), kUnmeasurable);
  EXPECT_NE(SandboxBytes(dir_ + "/box"), kUnmeasurable);
}

}  // namespace
}  // namespace agora::agent
