// The registry in a real ZooKeeper ensemble: what it commits comes back,
// commits larger than one multi-op land whole, a writer whose election node
// is gone (a deposed leader) cannot write, and a layout of another version
// is refused.
#include <zookeeper/zookeeper.h>

#include <unistd.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/event_loop.h"
#include "master/registry.h"
#include "tests/integration/zk_ensemble.h"

namespace agora::master {
namespace {

using testing::ZkEnsemble;
using testing::WaitFor;

class ZkRegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ensemble_ = new ZkEnsemble(1);
    ASSERT_TRUE(ensemble_->WaitServing());
  }
  static void TearDownTestSuite() { delete ensemble_; }

  void SetUp() override {
    const std::string url = ensemble_->url("");
    zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
    zh_ = zookeeper_init(url.substr(5).c_str(), nullptr, 10000, nullptr, nullptr, 0);
    ASSERT_NE(zh_, nullptr);
    ASSERT_TRUE(WaitFor([&] { return zoo_state(zh_) == ZOO_CONNECTED_STATE; }, absl::Seconds(20)));
    root_ = absl::StrCat("/t", ::testing::UnitTest::GetInstance()->current_test_info()->name(), "-",
                         ::getpid(), "-", ++runs_);
    ASSERT_EQ(zoo_create(zh_, root_.c_str(), "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0), ZOK);
    fence_ = root_ + "/leader";
    ASSERT_EQ(zoo_create(zh_, fence_.c_str(), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, nullptr, 0), ZOK);
  }
  void TearDown() override { zookeeper_close(zh_); }

  std::unique_ptr<Registry> Open() {
    auto registry = OpenZkRegistry(zh_, root_ + "/registry", fence_);
    EXPECT_TRUE(registry.ok()) << registry.status();
    return registry.ok() ? *std::move(registry) : nullptr;
  }

  static ZkEnsemble* ensemble_;
  static inline int runs_ = 0;  // --gtest_repeat: a root of its own each time
  zhandle_t* zh_ = nullptr;
  std::string root_, fence_;
};
ZkEnsemble* ZkRegistryTest::ensemble_ = nullptr;

TEST_F(ZkRegistryTest, WhatItCommittedComesBackAndLaterWritesWin) {
  {
    auto registry = Open();
    registry->PutAgent({"a-1", "host1", RegistryAgent::State::kAdmitted, absl::FromUnixSeconds(100), "k1"});
    registry->PutFramework({"f-1", "fw", "batch", absl::Seconds(30), false, "k2"});
    registry->PutRole({"batch", 2.5, Resources::Scalars(4, 1024, 10)});
    registry->PutRole({"odd/role name", 1, std::nullopt});
    ASSERT_TRUE(registry->Commit().ok());
    registry->PutAgent({"a-1", "host1", RegistryAgent::State::kDrained, absl::FromUnixSeconds(200), "k1"});
    ASSERT_TRUE(registry->Commit().ok());
    registry->PutAgent({"a-2", "host2", RegistryAgent::State::kAdmitted, absl::FromUnixSeconds(1), ""});
    // not committed: lost, as in a crash
  }
  auto state = Open()->Recover();
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->agents.size(), 1u);
  EXPECT_EQ(state->agents[0].state, RegistryAgent::State::kDrained);
  EXPECT_EQ(state->agents[0].since, absl::FromUnixSeconds(200));
  EXPECT_EQ(state->agents[0].principal, "k1");
  ASSERT_EQ(state->frameworks.size(), 1u);
  EXPECT_EQ(state->frameworks[0].failover_timeout, absl::Seconds(30));
  EXPECT_EQ(state->frameworks[0].role, "batch");
  ASSERT_EQ(state->roles.size(), 2u);
  for (const RegistryRole& r : state->roles) {
    if (r.name == "batch") {
      EXPECT_EQ(r.weight, 2.5);
      ASSERT_TRUE(r.quota.has_value());
      EXPECT_EQ(r.quota->mem(), 1024);
    } else {
      EXPECT_EQ(r.name, "odd/role name");
      EXPECT_FALSE(r.quota.has_value());
    }
  }
}

TEST_F(ZkRegistryTest, ACommitLargerThanOneMultiOpLandsWhole) {
  constexpr int kAgents = 2500;  // more than one multi-op's writes
  {
    auto registry = Open();
    for (int i = 0; i < kAgents; ++i) {
      registry->PutAgent({absl::StrCat("a-", i), std::string(200, 'h'), RegistryAgent::State::kAdmitted,
                          absl::FromUnixSeconds(i), ""});
    }
    ASSERT_TRUE(registry->Commit().ok());
  }
  auto state = Open()->Recover();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->agents.size(), static_cast<size_t>(kAgents));
}

TEST_F(ZkRegistryTest, AWriterWhoseElectionNodeIsGoneCannotWrite) {
  auto registry = Open();
  registry->PutAgent({"a-1", "host1", RegistryAgent::State::kAdmitted, absl::FromUnixSeconds(1), ""});
  ASSERT_TRUE(registry->Commit().ok());
  // Its session ended and another master leads: its node is gone.
  ASSERT_EQ(zoo_delete(zh_, fence_.c_str(), -1), ZOK);
  registry->PutAgent({"a-1", "host1", RegistryAgent::State::kGone, absl::FromUnixSeconds(2), ""});
  registry->PutAgent({"a-2", "host2", RegistryAgent::State::kAdmitted, absl::FromUnixSeconds(2), ""});
  absl::Status fenced = registry->Commit();
  EXPECT_EQ(fenced.code(), absl::StatusCode::kFailedPrecondition) << fenced;
  EXPECT_NE(fenced.message().find("no longer leads"), std::string::npos) << fenced;
  auto state = registry->Recover();
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->agents.size(), 1u);
  EXPECT_EQ(state->agents[0].state, RegistryAgent::State::kAdmitted);
}

TEST_F(ZkRegistryTest, AsyncCommitsReportOnTheLoop) {
  SystemClock clock;
  EventLoop loop(clock);
  auto registry = OpenZkRegistry(zh_, root_ + "/registry", fence_, &loop);
  ASSERT_TRUE(registry.ok());
  std::vector<int> done;
  for (int i = 0; i < 3; ++i) {
    (*registry)->PutAgent({absl::StrCat("a-", i), "h", RegistryAgent::State::kAdmitted, absl::Now(), ""});
    (*registry)->CommitAsync([&, i](absl::Status s) {
      EXPECT_TRUE(s.ok()) << s;
      done.push_back(i);
    });
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (done.size() < 3 && absl::Now() < deadline) loop.RunOnce(absl::Milliseconds(50));
  EXPECT_EQ(done, (std::vector<int>{0, 1, 2}));
}

TEST_F(ZkRegistryTest, ARegistryOfAnotherLayoutVersionIsRefused) {
  Open();  // made with this version's layout: opened again, it is read
  EXPECT_TRUE(OpenZkRegistry(zh_, root_ + "/registry", fence_).ok());
  const std::string layout = root_ + "/registry/layout";
  ASSERT_EQ(zoo_set(zh_, layout.c_str(), "2", 1, -1), ZOK);  // as a later release would leave it
  auto refused = OpenZkRegistry(zh_, root_ + "/registry", fence_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("layout version \"2\""), std::string::npos) << refused.status();
}

}  // namespace
}  // namespace agora::master
