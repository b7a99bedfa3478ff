#include "frameworks/service/client/picker.h"

#include <map>

#include <gtest/gtest.h>

namespace agora::service::client {
namespace {

std::vector<Endpoint> Three(double w0 = 1, double w1 = 1, double w2 = 1) {
  return {{"a", "h0", "10.0.0.1", 1, w0}, {"b", "h1", "10.0.0.2", 2, w1}, {"c", "h2", "10.0.0.3", 3, w2}};
}

std::map<std::string, int> Count(Picker& p, int picks) {
  std::map<std::string, int> n;
  for (int i = 0; i < picks; ++i) n[p.Pick()->task_id]++;
  return n;
}

TEST(PickerTest, NoEndpointsNoPick) {
  Picker p(Policy::kRoundRobin);
  EXPECT_FALSE(p.Pick());
}

TEST(PickerTest, RoundRobinTakesEachInTurn) {
  Picker p(Policy::kRoundRobin);
  p.Update(Three());
  std::string order;
  for (int i = 0; i < 6; ++i) order += p.Pick()->task_id;
  EXPECT_EQ(order, "abcabc");
}

TEST(PickerTest, RandomReachesEveryEndpointRoughlyEvenly) {
  Picker p(Policy::kRandom, /*seed=*/7);
  p.Update(Three());
  for (const auto& [id, n] : Count(p, 3000)) EXPECT_NEAR(n, 1000, 150) << id;
}

TEST(PickerTest, WeightedGivesSharesByWeightSpreadOut) {
  Picker p(Policy::kWeighted);
  p.Update(Three(3, 1, 1));
  auto n = Count(p, 500);
  EXPECT_EQ(n["a"], 300);
  EXPECT_EQ(n["b"], 100);
  EXPECT_EQ(n["c"], 100);
  // Smooth: never more than two `a` in a row with weights 3:1:1.
  std::string order;
  for (int i = 0; i < 50; ++i) order += p.Pick()->task_id;
  EXPECT_EQ(order.find("aaa"), std::string::npos) << order;
}

TEST(PickerTest, LeastOutstandingAvoidsBusyEndpoints) {
  Picker p(Policy::kLeastOutstanding);
  p.Update(Three());
  auto first = p.Pick();
  auto second = p.Pick();
  auto third = p.Pick();
  EXPECT_NE(first->task_id, second->task_id);
  EXPECT_NE(second->task_id, third->task_id);
  EXPECT_NE(first->task_id, third->task_id);
  const std::string freed = second->task_id;
  second.Release();  // its request finished
  EXPECT_EQ(p.Pick()->task_id, freed);
}

TEST(PickerTest, UpdateKeepsTheStateOfEndpointsThatStay) {
  Picker p(Policy::kLeastOutstanding);
  p.Update(Three());
  auto held = p.Pick();  // one in flight on `held`
  std::vector<Endpoint> two = Three();
  two.erase(two.begin() + 2);
  p.Update(two);
  if (held->task_id == "c") {  // removed: the lease still works, and two remain
    EXPECT_EQ(p.Endpoints().size(), 2u);
  } else {
    EXPECT_NE(p.Pick()->task_id, held->task_id);
  }
  held.Release();  // after an update that may have dropped it: no crash
}

TEST(PickerTest, PoliciesParseByName) {
  EXPECT_EQ(*ParsePolicy("weighted"), Policy::kWeighted);
  EXPECT_EQ(*ParsePolicy("least_outstanding"), Policy::kLeastOutstanding);
  EXPECT_NE(ParsePolicy("fastest").status().message().find("'fastest' is not a balancing policy"),
            std::string::npos);
}

}  // namespace
}  // namespace agora::service::client
