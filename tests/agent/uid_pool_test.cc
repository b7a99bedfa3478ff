#include "agent/uid_pool.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace agora::agent {
namespace {

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
    UidPool pool(path_, {1000, 1010});
    EXPECT_EQ(*pool.For("f1"), 1000u);
    EXPECT_EQ(*pool.For("f2"), 1001u);
    EXPECT_EQ(*pool.For("f1"), 1000u);
  }
  UidPool again(path_, {1000, 1010});
  EXPECT_EQ(*again.For("f2"), 1001u);
  EXPECT_EQ(*again.For("f3"), 1002u);  // never one handed out before
}

// Two agents of one machine share the file: no uid goes to two frameworks.
TEST_F(UidPoolTest, TwoAgentsOfOneMachineNeverShareAUid) {
  UidPool a(path_, {1000, 1010}), b(path_, {1000, 1010});
  EXPECT_EQ(*a.For("f1"), 1000u);
  EXPECT_EQ(*b.For("f2"), 1001u);
  EXPECT_EQ(*b.For("f1"), 1000u);  // one framework on both agents: one uid
  EXPECT_EQ(*a.For("f3"), 1002u);
}

TEST_F(UidPoolTest, AnExhaustedRangeRefusesNewFrameworksAndATornLineIsSkipped) {
  std::ofstream(path_) << "f1 7\nf2 8";  // torn by a crash before its fsync: 8 was never used
  UidPool pool(path_, {7, 9});
  EXPECT_EQ(*pool.For("f1"), 7u);
  EXPECT_EQ(*pool.For("f3"), 8u);
  EXPECT_EQ(*pool.For("f2"), 9u);  // the torn line is gone
  auto full = pool.For("f4");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(full.status().message().find("widen the range"), absl::string_view::npos);
}

TEST_F(UidPoolTest, AnUnwritableRecordRefusesTheUid) {
  UidPool pool(dir_ + "/missing/uids", {7, 8});
  auto uid = pool.For("f1");
  ASSERT_FALSE(uid.ok());
  EXPECT_EQ(uid.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(pool.assigned(), 0u);
}

TEST(UidRangeTest, ParsesOnlyOrderedPositiveRanges) {
  EXPECT_TRUE(ParseUidRange("200000-299999").ok());
  for (const char* bad : {"", "5", "0-10", "10-5", "a-b", "1-4294967295"}) {
    EXPECT_FALSE(ParseUidRange(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace agora::agent
