#include "frameworks/service/constraints.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace agora::service {
namespace {

using ::testing::HasSubstr;

AgentView Agent(std::string host, std::string zone) {
  return AgentView{"a-" + host, host, {{"zone", zone}, {"disk", host == "h3" ? "ssd" : "hdd"}}};
}

Constraint C(std::string field, Constraint::Op op, std::string value = "") {
  return Constraint{std::move(field), op, std::move(value)};
}

const std::vector<AgentView> kAgents = {Agent("h1", "a"), Agent("h2", "a"), Agent("h3", "b")};

std::string Why(const std::vector<Constraint>& cs, const AgentView& candidate,
                const std::vector<AgentView>& placed) {
  absl::Status s = CheckConstraints(cs, candidate, placed, kAgents);
  return s.ok() ? "ok" : std::string(s.message());
}

TEST(ConstraintsTest, UniqueAllowsOnePerValue) {
  std::vector<Constraint> unique = {C("hostname", Constraint::Op::kUnique)};
  EXPECT_EQ(Why(unique, kAgents[0], {}), "ok");
  EXPECT_THAT(Why(unique, kAgents[0], {kAgents[0]}), HasSubstr("[hostname, UNIQUE]: h1 already runs one"));
  EXPECT_EQ(Why(unique, kAgents[1], {kAgents[0]}), "ok");
  std::vector<Constraint> zone = {C("zone", Constraint::Op::kUnique)};
  EXPECT_THAT(Why(zone, kAgents[1], {kAgents[0]}), HasSubstr("a already runs one"));
  EXPECT_THAT(Why({C("rack", Constraint::Op::kUnique)}, kAgents[0], {}), HasSubstr("h1 has no rack"));
}

TEST(ConstraintsTest, ClusterLikeUnlike) {
  EXPECT_EQ(Why({C("zone", Constraint::Op::kCluster, "b")}, kAgents[2], {}), "ok");
  EXPECT_THAT(Why({C("zone", Constraint::Op::kCluster, "b")}, kAgents[0], {}), HasSubstr("h1 has zone a"));
  EXPECT_EQ(Why({C("disk", Constraint::Op::kLike, "ss.")}, kAgents[2], {}), "ok");
  EXPECT_THAT(Why({C("disk", Constraint::Op::kLike, "ss.")}, kAgents[0], {}), HasSubstr("does not match"));
  EXPECT_EQ(Why({C("hostname", Constraint::Op::kUnlike, "h[12]")}, kAgents[2], {}), "ok");
  EXPECT_THAT(Why({C("hostname", Constraint::Op::kUnlike, "h[12]")}, kAgents[1], {}), HasSubstr("matches"));
}

TEST(ConstraintsTest, MaxPerAndGroupBy) {
  std::vector<Constraint> two_per_zone = {C("zone", Constraint::Op::kMaxPer, "2")};
  EXPECT_EQ(Why(two_per_zone, kAgents[1], {kAgents[0]}), "ok");
  EXPECT_THAT(Why(two_per_zone, kAgents[1], {kAgents[0], kAgents[0]}), HasSubstr("a already runs 2"));
  std::vector<Constraint> spread = {C("zone", Constraint::Op::kGroupBy)};
  // One in zone a: the next must go to zone b.
  EXPECT_THAT(Why(spread, kAgents[1], {kAgents[0]}), HasSubstr("a runs 1; another group runs 0"));
  EXPECT_EQ(Why(spread, kAgents[2], {kAgents[0]}), "ok");
  EXPECT_EQ(Why(spread, kAgents[1], {kAgents[0], kAgents[2]}), "ok");
}

}  // namespace
}  // namespace agora::service

namespace agora::service {
namespace {

// A 300,000-character hostname against a pattern that makes std::regex
// recurse per character (a stack overflow ended agora-services): RE2 matches
// in linear time, without recursion.
TEST(ConstraintsTest, LikeMatchesHugeValuesWithoutRecursion) {
  AgentView huge{"a-huge", std::string(300000, 'a') + "!", {}};
  EXPECT_FALSE(CheckConstraints({C("hostname", Constraint::Op::kLike, "(a|aa)+")}, huge, {}, {huge}).ok());
  EXPECT_TRUE(CheckConstraints({C("hostname", Constraint::Op::kUnlike, "(a|aa)+")}, huge, {}, {huge}).ok());
  AgentView matching{"a-huge", std::string(300000, 'a'), {}};
  EXPECT_TRUE(CheckConstraints({C("hostname", Constraint::Op::kLike, "(a|aa)+")}, matching, {}, {matching}).ok());
}

}  // namespace
}  // namespace agora::service
