#include "master/allocator/drf_allocator.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "absl/container/flat_hash_map.h"

namespace agora::master {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1000);

Resources Cpus(double cpus, double mem = 0) { return Resources::Scalars(cpus, mem, 0); }

class DrfAllocatorTest : public ::testing::Test {
 protected:
  DrfAllocator allocator_{42};

  // Framework -> number of agents it was offered in one pass.
  absl::flat_hash_map<FrameworkId, int> Pass(absl::Time now = kNow) {
    absl::flat_hash_map<FrameworkId, int> counts;
    for (const Allocation& a : allocator_.Allocate(now)) ++counts[a.framework_id];
    return counts;
  }
  void AddAgents(int n, const Resources& each) {
    for (int i = 0; i < n; ++i) allocator_.AddAgent("a" + std::to_string(i), each);
  }
};

TEST_F(DrfAllocatorTest, OffersEachAgentWholeToOneFramework) {
  AddAgents(1, Cpus(4, 1024));
  allocator_.AddFramework("f1", "r");
  auto allocations = allocator_.Allocate(kNow);
  ASSERT_EQ(allocations.size(), 1u);
  EXPECT_EQ(allocations[0].framework_id, "f1");
  EXPECT_EQ(allocations[0].resources, Cpus(4, 1024));
  // Nothing left until it is recovered.
  EXPECT_TRUE(allocator_.Allocate(kNow).empty());
  allocator_.Recover("f1", "a0", Cpus(1, 0));
  allocations = allocator_.Allocate(kNow);
  ASSERT_EQ(allocations.size(), 1u);
  EXPECT_EQ(allocations[0].resources, Cpus(1, 0));
}

TEST_F(DrfAllocatorTest, OffersLowestDominantShareFirst) {
  AddAgents(10, Cpus(1, 100));
  allocator_.AddFramework("f1", "r");
  allocator_.AddFramework("f2", "r");
  // Equal shares at the start: the pass alternates and splits evenly.
  auto counts = Pass();
  EXPECT_EQ(counts["f1"], 5);
  EXPECT_EQ(counts["f2"], 5);
}

TEST_F(DrfAllocatorTest, DominantShareUsesTheScarcestResource) {
  // f1 already holds most memory; f2 holds more cpus but a smaller dominant share.
  AddAgents(4, Cpus(1, 100));
  allocator_.AddAgent("big", Cpus(0.001, 1));
  allocator_.AddFramework("f1", "r");
  allocator_.AddFramework("f2", "r");
  allocator_.AddAllocation("f1", "a0", Cpus(0, 100));  // 100/401 mem = 0.25
  allocator_.AddAllocation("f2", "a1", Cpus(0.5, 0));  // 0.5/4.001 cpus = 0.12
  auto allocations = allocator_.Allocate(kNow);
  ASSERT_FALSE(allocations.empty());
  // The first agent goes to f2, the lower dominant share.
  EXPECT_EQ(allocations[0].framework_id, "f2");
}

TEST_F(DrfAllocatorTest, RoleWeightsScaleShares) {
  AddAgents(30, Cpus(1, 10));
  allocator_.SetRoleWeight("heavy", 2);
  allocator_.AddFramework("h", "heavy");
  allocator_.AddFramework("l", "light");
  auto counts = Pass();
  EXPECT_EQ(counts["h"], 20);
  EXPECT_EQ(counts["l"], 10);
}

TEST_F(DrfAllocatorTest, RolesAreBalancedBeforeFrameworks) {
  // Role A has three frameworks, role B one: B still gets half the cluster.
  AddAgents(12, Cpus(1, 10));
  for (const char* f : {"a1", "a2", "a3"}) allocator_.AddFramework(f, "A");
  allocator_.AddFramework("b1", "B");
  auto counts = Pass();
  EXPECT_EQ(counts["b1"], 6);
  EXPECT_EQ(counts["a1"] + counts["a2"] + counts["a3"], 6);
}

TEST_F(DrfAllocatorTest, DeclineFilterSkipsTheAgentUntilItExpires) {
  AddAgents(1, Cpus(2, 10));
  allocator_.AddFramework("f1", "r");
  allocator_.AddFramework("f2", "r");
  auto first = allocator_.Allocate(kNow);
  ASSERT_EQ(first.size(), 1u);
  const FrameworkId got = first[0].framework_id;
  const FrameworkId other = got == "f1" ? "f2" : "f1";
  allocator_.Recover(got, "a0", first[0].resources, kNow + absl::Seconds(5));
  auto second = allocator_.Allocate(kNow + absl::Seconds(1));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].framework_id, other);
  // `other` declines too: nobody is left unfiltered.
  allocator_.Recover(other, "a0", second[0].resources, kNow + absl::Seconds(5));
  EXPECT_TRUE(allocator_.Allocate(kNow + absl::Seconds(2)).empty());
  // After the filters expire it is offered again.
  EXPECT_EQ(allocator_.Allocate(kNow + absl::Seconds(6)).size(), 1u);
}

TEST_F(DrfAllocatorTest, ADeclineFilterDoesNotHideMoreThanWasRefused) {
  AddAgents(1, Cpus(2, 10));
  allocator_.AddFramework("f1", "r");
  allocator_.AddAllocation("f1", "a0", Cpus(1.9, 0));
  auto small = allocator_.Allocate(kNow);
  ASSERT_EQ(small.size(), 1u);
  EXPECT_EQ(small[0].resources, Cpus(0.1, 10));
  // Too small: refused for an hour.
  allocator_.Recover("f1", "a0", small[0].resources, kNow + absl::Hours(1));
  EXPECT_TRUE(allocator_.Allocate(kNow).empty());
  // A task ends: more is free than was refused, so it is offered again.
  allocator_.Recover("f1", "a0", Cpus(1, 0));
  auto bigger = allocator_.Allocate(kNow);
  ASSERT_EQ(bigger.size(), 1u);
  EXPECT_EQ(bigger[0].resources, Cpus(1.1, 10));
}

TEST_F(DrfAllocatorTest, SuppressedFrameworksGetNothingUntilRevived) {
  AddAgents(2, Cpus(1, 10));
  allocator_.AddFramework("f1", "r");
  allocator_.Suppress("f1");
  EXPECT_TRUE(allocator_.Allocate(kNow).empty());
  allocator_.Revive("f1");
  EXPECT_EQ(allocator_.Allocate(kNow).size(), 2u);
}

TEST_F(DrfAllocatorTest, ReviveClearsDeclineFilters) {
  AddAgents(1, Cpus(1, 10));
  allocator_.AddFramework("f1", "r");
  auto a = allocator_.Allocate(kNow);
  allocator_.Recover("f1", "a0", a[0].resources, kNow + absl::Hours(1));
  EXPECT_TRUE(allocator_.Allocate(kNow).empty());
  allocator_.Revive("f1");
  EXPECT_EQ(allocator_.Allocate(kNow).size(), 1u);
}

TEST_F(DrfAllocatorTest, InactiveFrameworksGetNoOffers) {
  AddAgents(1, Cpus(1, 10));
  allocator_.AddFramework("f1", "r");
  allocator_.DeactivateFramework("f1");
  EXPECT_TRUE(allocator_.Allocate(kNow).empty());
  allocator_.ActivateFramework("f1");
  EXPECT_EQ(allocator_.Allocate(kNow).size(), 1u);
}

TEST_F(DrfAllocatorTest, QuotaCapsWhatARoleIsOffered) {
  AddAgents(4, Cpus(2, 10));
  allocator_.SetRoleQuota("capped", Cpus(3, 1000));
  allocator_.AddFramework("f", "capped");
  Resources total;
  for (const Allocation& a : allocator_.Allocate(kNow)) total += a.resources;
  EXPECT_DOUBLE_EQ(total.cpus(), 3);
}

TEST_F(DrfAllocatorTest, RemovedAgentsAreNotOffered) {
  AddAgents(2, Cpus(1, 10));
  allocator_.AddFramework("f1", "r");
  allocator_.RemoveAgent("a0");
  auto a = allocator_.Allocate(kNow);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].agent_id, "a1");
}

TEST_F(DrfAllocatorTest, NonAllocatableAgentsAreSkipped) {
  AddAgents(1, Cpus(1, 10));
  allocator_.AddFramework("f1", "r");
  allocator_.SetAgentAllocatable("a0", false);
  EXPECT_TRUE(allocator_.Allocate(kNow).empty());
}

TEST_F(DrfAllocatorTest, RemovedFrameworkResourcesStayUsedUntilRecovered) {
  AddAgents(1, Cpus(1, 10));
  allocator_.AddFramework("f1", "r");
  auto a = allocator_.Allocate(kNow);
  allocator_.RemoveFramework("f1");
  allocator_.AddFramework("f2", "r");
  EXPECT_TRUE(allocator_.Allocate(kNow).empty());
  allocator_.Recover("f1", "a0", a[0].resources);
  EXPECT_EQ(allocator_.Allocate(kNow).size(), 1u);
}

TEST_F(DrfAllocatorTest, APassLooksOnlyAtAgentsThatChanged) {
  AddAgents(1000, Cpus(1, 10));
  allocator_.AddFramework("f1", "r");
  auto all = allocator_.Allocate(kNow);
  EXPECT_EQ(all.size(), 1000u);
  EXPECT_EQ(allocator_.last_pass_candidates(), 1000u);
  // Nothing changed: nothing to look at.
  EXPECT_TRUE(allocator_.Allocate(kNow).empty());
  EXPECT_EQ(allocator_.last_pass_candidates(), 0u);
  // Two agents get resources back: the pass looks at those two only.
  allocator_.Recover("f1", "a7", Cpus(1, 0));
  allocator_.Recover("f1", "a9", Cpus(0.5, 0));
  EXPECT_EQ(allocator_.Allocate(kNow).size(), 2u);
  EXPECT_EQ(allocator_.last_pass_candidates(), 2u);
}

TEST_F(DrfAllocatorTest, AFrameworkEventMakesEveryAgentACandidate) {
  AddAgents(10, Cpus(1, 10));
  allocator_.AddFramework("f1", "r");
  for (const Allocation& a : allocator_.Allocate(kNow)) {
    allocator_.Recover(a.framework_id, a.agent_id, a.resources, kNow + absl::Hours(1));
  }
  EXPECT_TRUE(allocator_.Allocate(kNow).empty());  // all filtered
  EXPECT_TRUE(allocator_.Allocate(kNow).empty());
  EXPECT_EQ(allocator_.last_pass_candidates(), 0u);
  // A new framework may take what f1 refused.
  allocator_.AddFramework("f2", "r");
  EXPECT_EQ(Pass()["f2"], 10);
}

TEST_F(DrfAllocatorTest, ResourcesBelowTheMinimumAreNotOffered) {
  allocator_.AddAgent("tiny", Resources::Scalars(0.005, 16, 0));
  allocator_.AddAgent("disk-only", Resources::Scalars(0, 0, 10000));
  allocator_.AddAgent("mem-only", Resources::Scalars(0, 32, 0));
  allocator_.AddAgent("cpu-only", Resources::Scalars(0.01, 0, 0));
  allocator_.AddFramework("f1", "r");
  std::vector<std::string> offered;
  for (const Allocation& a : allocator_.Allocate(kNow)) offered.push_back(a.agent_id);
  std::sort(offered.begin(), offered.end());
  EXPECT_EQ(offered, (std::vector<std::string>{"cpu-only", "mem-only"}));
}

TEST_F(DrfAllocatorTest, AReplacedFilterExpiresAtItsNewTime) {
  AddAgents(1, Cpus(1, 10));
  allocator_.AddFramework("f1", "r");
  auto a = allocator_.Allocate(kNow);
  allocator_.Recover("f1", "a0", a[0].resources, kNow + absl::Seconds(1));
  allocator_.Filter("f1", "a0", a[0].resources, kNow + absl::Seconds(10));
  EXPECT_TRUE(allocator_.Allocate(kNow + absl::Seconds(2)).empty());
  EXPECT_EQ(allocator_.Allocate(kNow + absl::Seconds(10)).size(), 1u);
}

}  // namespace
}  // namespace agora::master
