#include "agent/agent_config.h"

#include <gtest/gtest.h>

namespace agora::agent {
namespace {

TEST(AgentConfigTest, DetectsResourcesWithReservations) {
  Resources r = DetectResources("/tmp");
  EXPECT_GE(r.cpus(), 1);
  EXPECT_GT(r.mem(), 0);
  EXPECT_EQ(r.ports().ToString(), "[31000-32000]");
}

TEST(AgentConfigTest, OverridesReplaceOnlyTheNamedResources) {
  Resources detected = Resources::Scalars(8, 16000, 50000);
  detected.set_ports(PortSet({{31000, 32000}}));
  auto r = ApplyResourceOverrides(detected, "cpus:2;ports:[5000-5010]");
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->cpus(), 2);
  EXPECT_DOUBLE_EQ(r->mem(), 16000);
  EXPECT_EQ(r->ports().ToString(), "[5000-5010]");
  EXPECT_FALSE(ApplyResourceOverrides(detected, "cpus:two").ok());
}

TEST(AgentConfigTest, ParsesAttributes) {
  auto a = ParseAttributes("zone:a; rack:r1");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[1], (std::pair<std::string, std::string>{"rack", "r1"}));
  EXPECT_FALSE(ParseAttributes("zone").ok());
  EXPECT_FALSE(ParseAttributes("zone:a;zone:b").ok());
  EXPECT_TRUE(ParseAttributes("")->empty());
}

}  // namespace
}  // namespace agora::agent
