#include "agora/resources.h"

#include <cmath>

#include <gtest/gtest.h>

namespace agora {
namespace {

TEST(ResourcesTest, ParsesScalarsAndPorts) {
  auto r = Resources::Parse("cpus:4;mem:8192;disk:20000;ports:[31000-32000]");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(r->cpus(), 4);
  EXPECT_DOUBLE_EQ(r->mem(), 8192);
  EXPECT_DOUBLE_EQ(r->disk(), 20000);
  EXPECT_EQ(r->ports().size(), 1001u);
}

TEST(ResourcesTest, RoundTripsThroughToString) {
  auto r = Resources::Parse("cpus:0.5;mem:100;ports:[80-80,31000-31010]");
  ASSERT_TRUE(r.ok());
  auto again = Resources::Parse(r->ToString());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*r, *again);
}

TEST(ResourcesTest, RejectsBadInputWithThePartNamed) {
  EXPECT_NE(Resources::Parse("cpus:-1").status().message().find("cpus"), std::string::npos);
  EXPECT_NE(Resources::Parse("gpus:1").status().message().find("unknown resource 'gpus'"),
            std::string::npos);
  EXPECT_FALSE(Resources::Parse("cpus").ok());
  EXPECT_FALSE(Resources::Parse("cpus:abc").ok());
  EXPECT_FALSE(Resources::Parse("ports:31000-32000").ok());
  EXPECT_FALSE(Resources::Parse("ports:[32000-31000]").ok());
  EXPECT_FALSE(Resources::Parse("ports:[1-70000]").ok());
}

TEST(ResourcesTest, FixedPointSumsAreExact) {
  Resources sum;
  for (int i = 0; i < 10; ++i) sum += Resources::Scalars(0.1, 0, 0);
  EXPECT_EQ(sum, Resources::Scalars(1, 0, 0));
  EXPECT_TRUE(Resources::Scalars(1, 0, 0).Contains(sum));
}

TEST(ResourcesTest, SubtractionClampsAtZero) {
  Resources r = Resources::Scalars(1, 10, 0) - Resources::Scalars(2, 5, 1);
  EXPECT_EQ(r, Resources::Scalars(0, 5, 0));
}

TEST(ResourcesTest, ContainsChecksEveryScalarAndPorts) {
  auto have = *Resources::Parse("cpus:2;mem:100;ports:[100-200]");
  EXPECT_TRUE(have.Contains(*Resources::Parse("cpus:2;mem:100;ports:[150-160]")));
  EXPECT_FALSE(have.Contains(*Resources::Parse("cpus:2.001")));
  EXPECT_FALSE(have.Contains(*Resources::Parse("ports:[199-201]")));
  EXPECT_EQ(have.Shortfall(*Resources::Parse("cpus:3;ports:[199-201]")),
            "cpus: asked 3, have 2; ports: [201-201] not offered");
}

TEST(PortSetTest, MergesOverlappingAndAdjacentRanges) {
  PortSet p({{10, 20}, {21, 25}, {15, 18}, {40, 41}});
  EXPECT_EQ(p.ToString(), "[10-25,40-41]");
  EXPECT_EQ(p.size(), 18u);
}

TEST(PortSetTest, SubtractSplitsRanges) {
  PortSet p({{10, 20}});
  p -= PortSet({{12, 13}, {20, 30}});
  EXPECT_EQ(p.ToString(), "[10-11,14-19]");
  p -= PortSet({{0, 100}});
  EXPECT_TRUE(p.empty());
}

TEST(PortSetTest, TakeReturnsTheLowestPorts) {
  PortSet p({{10, 11}, {20, 30}});
  EXPECT_EQ(p.Take(4).ToString(), "[10-11,20-21]");
  EXPECT_EQ(p.Take(100), p);
}

}  // namespace
}  // namespace agora

namespace agora {
namespace {

// Found by the master's fuzzer: an accept asking 1e300 cpus overflowed the
// fixed point into a negative count.
TEST(ResourcesTest, HugeOrNonsenseScalarsAreClampedNotOverflowed) {
  Resources r = Resources::Scalars(1e300, std::nan(""), -5);
  EXPECT_DOUBLE_EQ(r.cpus(), Resources::kMaxScalar);
  EXPECT_DOUBLE_EQ(r.mem(), 0);
  EXPECT_DOUBLE_EQ(r.disk(), 0);
  Resources agent = Resources::Scalars(4, 4096, 0);
  EXPECT_FALSE(agent.Contains(r));
  agent -= r;
  EXPECT_DOUBLE_EQ(agent.cpus(), 0);
  EXPECT_FALSE(Resources::Parse("cpus:1e12").ok());
  EXPECT_TRUE(Resources::Parse("cpus:1e9").ok());
}

}  // namespace
}  // namespace agora
