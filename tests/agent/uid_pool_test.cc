#include "agent/uid_pool.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace agora::agent {
namespace {

// Far above the machine's users and groups.
constexpr uid_t kBase = 1'900'000'000;

class UidPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/uid-pool-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/uids";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, path_;
};

TEST_F(UidPoolTest, EachFrameworkKeepsItsOwnUidAcrossRestarts) {
  {
    UidPool pool(path_, {kBase, kBase + 10});
    EXPECT_EQ(*pool.For("f1"), kBase);
    EXPECT_EQ(*pool.For("f2"), kBase + 1);
    EXPECT_EQ(*pool.For("f1"), kBase);
  }
  UidPool again(path_, {kBase, kBase + 10});
  EXPECT_EQ(*again.For("f2"), kBase + 1);
  EXPECT_EQ(*again.For("f3"), kBase + 2);  // never one handed out before
}

// Two agents of one machine share the file: no uid goes to two frameworks.
TEST_F(UidPoolTest, TwoAgentsOfOneMachineNeverShareAUid) {
  UidPool a(path_, {kBase, kBase + 10}), b(path_, {kBase, kBase + 10});
  EXPECT_EQ(*a.For("f1"), kBase);
  EXPECT_EQ(*b.For("f2"), kBase + 1);
  EXPECT_EQ(*b.For("f1"), kBase);  // one framework on both agents: one uid
  EXPECT_EQ(*a.For("f3"), kBase + 2);
}

TEST_F(UidPoolTest, AnExhaustedRangeRefusesNewFrameworksAndATornLineIsSkipped) {
  // Torn by a crash before its fsync: kBase + 1 was never used.
  std::ofstream(path_) << "f1 " << kBase << "\nf2 " << kBase + 1;
  UidPool pool(path_, {kBase, kBase + 2});
  EXPECT_EQ(*pool.For("f1"), kBase);
  EXPECT_EQ(*pool.For("f3"), kBase + 1);
  EXPECT_EQ(*pool.For("f2"), kBase + 2);  // the torn line is gone
  auto full = pool.For("f4");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(full.status().message().find("widen the range"), absl::string_view::npos);
}

TEST_F(UidPoolTest, AnUnwritableRecordRefusesTheUid) {
  UidPool pool(dir_ + "/missing/uids", {kBase, kBase + 1});
  auto uid = pool.For("f1");
  ASSERT_FALSE(uid.ok());
  EXPECT_EQ(uid.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(pool.assigned(), 0u);
}

TEST_F(UidPoolTest, AUidThatNamesAUserOrGroupOfTheMachineIsPassedOver) {
  UidPool pool(path_, {0 + 65534, 65534 + 100});  // nobody / nogroup
  auto uid = pool.For("f1");
  ASSERT_TRUE(uid.ok());
  EXPECT_GT(*uid, 65534u);
}

TEST(UidRangeTest, ParsesOnlyOrderedPositiveRanges) {
  EXPECT_TRUE(ParseUidRange("200000-299999").ok());
  for (const char* bad : {"", "5", "0-10", "10-5", "a-b", "1-4294967295"}) {
    EXPECT_FALSE(ParseUidRange(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace agora::agent
