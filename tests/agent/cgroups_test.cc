#include "agent/cgroups.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace agora::agent {
namespace {

namespace fs = std::filesystem;

// The first process in the cgroup `dir`, or -1.
pid_t FirstPid(const std::string& dir) {
  std::ifstream in(dir + "/cgroup.procs");
  pid_t pid = -1;
  in >> pid;
  return pid;
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return text;
}

// Real cgroups: needs root and cgroup v1 (where the pool keeps cgroups).
class CgroupPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (DetectCgroupVersion() != 1) GTEST_SKIP() << "needs root and cgroup v1";
    static int n = 0;
    group_ = absl::StrCat("cgroups-test-", ::getpid(), "-", n++);
  }
  void TearDown() override { RemoveLeftoverCgroups(1, group_); }

  std::string Dir(const std::string& hierarchy, const std::string& name = "") const {
    return absl::StrCat("/sys/fs/cgroup/", hierarchy, "/agora/", group_, name.empty() ? "" : "/", name);
  }
  // The names in the group's memory cgroup, sorted.
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(Dir("memory"), ec)) {
      if (e.is_directory()) names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }
  // Waits until the pool's thread has emptied and kept `count` cgroups.
  static bool WaitForKept(const CgroupPool& pool, size_t count) {
    for (absl::Time end = absl::Now() + absl::Seconds(5); absl::Now() < end; absl::SleepFor(absl::Milliseconds(5))) {
      if (pool.kept() == count) return true;
    }
    return false;
  }

  // Forks a child that joins `cgroup` and sleeps; its pid once it has joined.
  static pid_t StartSleeper(const TaskCgroup& cgroup) {
    std::vector<const char*> procs;  // the child (of a threaded process) only makes system calls
    for (const std::string& p : cgroup.procs_files()) procs.push_back(p.c_str());
    int ready[2];
    if (::pipe(ready) != 0) return -1;
    const pid_t pid = ::fork();
    if (pid == 0) {
      for (const char* p : procs) {
        const int fd = ::open(p, O_WRONLY);
        if (fd < 0 || ::write(fd, "0", 1) != 1) ::_exit(1);
        ::close(fd);
      }
      (void)!::write(ready[1], "x", 1);
      ::pause();
      ::_exit(0);
    }
    char x = 0;
    const bool joined = ::read(ready[0], &x, 1) == 1;
    ::close(ready[0]);
    ::close(ready[1]);
    return joined ? pid : -1;
  }
  // Whether `pid` was SIGKILLed within 5 s (it is killed and reaped anyway).
  static bool KilledWithin5s(pid_t pid) {
    for (absl::Time end = absl::Now() + absl::Seconds(5); absl::Now() < end; absl::SleepFor(absl::Milliseconds(5))) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return false;
  }

  std::string group_;
};

TEST_F(CgroupPoolTest, TheNextTaskGetsAFinishedTasksCgroupRenamedWithItsOwnLimits) {
  CgroupPool pool(group_);
  auto first = pool.Acquire(1, "t1", {64 << 20, 512, 100});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(Read(Dir("memory", "t1") + "/memory.limit_in_bytes"), std::to_string(64 << 20));
  EXPECT_EQ(Read(Dir("pids", "t1") + "/pids.max"), "100");
  pool.Release(*std::move(first));
  ASSERT_TRUE(WaitForKept(pool, 1));

  auto second = pool.Acquire(1, "t2", {32 << 20, 512, 200});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Names(), std::vector<std::string>{"t2"});  // the kept one, renamed
  EXPECT_EQ(Read(Dir("memory", "t2") + "/memory.limit_in_bytes"), std::to_string(32 << 20));
  EXPECT_EQ(Read(Dir("pids", "t2") + "/pids.max"), "200");
  EXPECT_EQ(second->procs_files().front(), Dir("memory", "t2") + "/cgroup.procs");
  EXPECT_EQ(second->OomKills(), 0u);

  // No memory limit: the kept cgroup's is lifted, not inherited.
  pool.Release(*std::move(second));
  ASSERT_TRUE(WaitForKept(pool, 1));
  auto third = pool.Acquire(1, "t3", {0, 512, 200});
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_GT(std::stoull(Read(Dir("memory", "t3") + "/memory.limit_in_bytes")), uint64_t{1} << 40);
}

TEST_F(CgroupPoolTest, WhatATaskLeftBehindIsKilledBeforeItsCgroupIsKept) {
  CgroupPool pool(group_);
  auto cgroup = pool.Acquire(1, "t1", {64 << 20, 512, 100});
  ASSERT_TRUE(cgroup.ok()) << cgroup.status();
  const pid_t left = StartSleeper(*cgroup);
  ASSERT_GT(left, 0);
  pool.Release(*std::move(cgroup));
  EXPECT_TRUE(KilledWithin5s(left));
  EXPECT_TRUE(WaitForKept(pool, 1));
}

// A task id may run again at once: the new run never shares the old run's
// cgroup, nor is it killed when the old one is emptied.
TEST_F(CgroupPoolTest, ATaskIdRunAgainAtOnceGetsACgroupOfItsOwn) {
  CgroupPool pool(group_);
  auto first = pool.Acquire(1, "t1", {64 << 20, 512, 100});
  ASSERT_TRUE(first.ok()) << first.status();
  const pid_t left = StartSleeper(*first);
  ASSERT_GT(left, 0);
  pool.Release(*std::move(first));
  auto again = pool.Acquire(1, "t1", {32 << 20, 512, 100});
  ASSERT_TRUE(again.ok()) << again.status();
  const pid_t second = StartSleeper(*again);
  ASSERT_GT(second, 0);
  EXPECT_TRUE(KilledWithin5s(left));
  ASSERT_TRUE(WaitForKept(pool, 1));  // the first run's cgroup, emptied
  EXPECT_EQ(::waitpid(second, nullptr, WNOHANG), 0) << "the new run was killed";
  EXPECT_EQ(Read(Dir("memory", "t1") + "/memory.limit_in_bytes"), std::to_string(32 << 20));
  EXPECT_EQ(FirstPid(Dir("memory", "t1")), second);
  ::kill(second, SIGKILL);
  ::waitpid(second, nullptr, 0);
}

TEST_F(CgroupPoolTest, AnOomKillIsCountedForItsTaskOnly) {
  std::ifstream swaps("/proc/swaps");
  std::string header, device;
  std::getline(swaps, header);
  if (swaps >> device) GTEST_SKIP() << "swap is on: a task over its limit swaps instead";
  CgroupPool pool(group_);
  auto cgroup = pool.Acquire(1, "t1", {8 << 20, 512, 100});
  ASSERT_TRUE(cgroup.ok()) << cgroup.status();
  std::vector<const char*> procs;  // the child (of a threaded process) only makes system calls
  for (const std::string& p : cgroup->procs_files()) procs.push_back(p.c_str());
  const pid_t hog = ::fork();
  if (hog == 0) {
    for (const char* p : procs) {
      const int fd = ::open(p, O_WRONLY);
      if (fd < 0 || ::write(fd, "0", 1) != 1) ::_exit(1);
      ::close(fd);
    }
    const size_t size = 64 << 20;
    char* memory = static_cast<char*>(::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    for (size_t i = 0; memory != MAP_FAILED && i < size; i += 4096) memory[i] = 1;
    ::_exit(0);
  }
  ASSERT_TRUE(KilledWithin5s(hog)) << "not stopped by its memory limit";
  EXPECT_EQ(cgroup->OomKills(), 1u);
  pool.Release(*std::move(cgroup));
  ASSERT_TRUE(WaitForKept(pool, 1));
  auto next = pool.Acquire(1, "t2", {8 << 20, 512, 100});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(Names(), std::vector<std::string>{"t2"});
  EXPECT_EQ(next->OomKills(), 0u);
}

TEST_F(CgroupPoolTest, DifferentControllersAreNotSharedAndThePoolLeavesNothingBehind) {
  {
    CgroupPool pool(group_);
    auto with_pids = pool.Acquire(1, "a", {64 << 20, 512, 100});
    ASSERT_TRUE(with_pids.ok()) << with_pids.status();
    pool.Release(*std::move(with_pids));
    ASSERT_TRUE(WaitForKept(pool, 1));
    // No pids limit: no pids cgroup, so the kept one (which has one) does not fit.
    auto without = pool.Acquire(1, "b", {64 << 20, 512, 0});
    ASSERT_TRUE(without.ok()) << without.status();
    EXPECT_EQ(Names().size(), 2u);
    EXPECT_FALSE(fs::exists(Dir("pids", "b")));
    pool.Release(*std::move(without));
  }
  for (const char* hierarchy : {"memory", "cpu", "pids"}) EXPECT_FALSE(fs::exists(Dir(hierarchy))) << hierarchy;
}

TEST_F(CgroupPoolTest, AnExecutorThatDiedLeavesCgroupsTheAgentEmptiesAndRemoves) {
  auto cgroup = TaskCgroup::Create(1, group_, "t1", {64 << 20, 512, 100});
  ASSERT_TRUE(cgroup.ok()) << cgroup.status();
  const pid_t left = StartSleeper(*cgroup);
  ASSERT_GT(left, 0);
  RemoveLeftoverCgroups(1, group_);  // kills it (gone at once, or once it has exited)
  EXPECT_TRUE(KilledWithin5s(left));
  EXPECT_TRUE(RemoveLeftoverCgroups(1, group_));
  for (const char* hierarchy : {"memory", "cpu", "pids"}) EXPECT_FALSE(fs::exists(Dir(hierarchy))) << hierarchy;
}

TEST_F(CgroupPoolTest, ACgroupIsNeverMadeTwice) {
  auto first = TaskCgroup::Create(1, group_, "t1", {64 << 20, 512, 100});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = TaskCgroup::Create(1, group_, "t1", {64 << 20, 512, 100});
  EXPECT_FALSE(second.ok());
  EXPECT_TRUE(fs::exists(Dir("memory", "t1")));  // the first one is untouched
}

}  // namespace
}  // namespace agora::agent
