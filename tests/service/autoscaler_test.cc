#include "frameworks/service/autoscaler.h"

#include <gtest/gtest.h>

namespace agora::service {
namespace {

AutoscaleSpec Spec(int min, int max, double target) {
  AutoscaleSpec s;
  s.min = min;
  s.max = max;
  s.target_cpu = target;
  return s;
}

TEST(AutoscalerTest, ScalesToHoldTheTarget) {
  // Two instances at 90% with a 60% target: 1.8 / 0.6 = 3.
  EXPECT_EQ(Recommend(Spec(1, 10, 0.6), 2, {0.9, 0.9}), 3);
  // Three at 20%: 0.6 / 0.6 = 1.
  EXPECT_EQ(Recommend(Spec(1, 10, 0.6), 3, {0.2, 0.2, 0.2}), 1);
}

TEST(AutoscalerTest, WithinTenPercentOfTheTargetNothingChanges) {
  EXPECT_EQ(Recommend(Spec(1, 10, 0.5), 4, {0.54, 0.53, 0.52, 0.55}), 4);
  EXPECT_EQ(Recommend(Spec(1, 10, 0.5), 4, {0.46, 0.47, 0.45, 0.48}), 4);
}

TEST(AutoscalerTest, StaysWithinBounds) {
  EXPECT_EQ(Recommend(Spec(2, 6, 0.5), 6, {1.0, 1.0, 1.0, 1.0, 1.0, 1.0}), 6);
  EXPECT_EQ(Recommend(Spec(2, 6, 0.5), 2, {0.0, 0.0}), 2);
  EXPECT_EQ(Recommend(Spec(2, 6, 0.5), 3, {}), 3);  // nothing measured: stay
}

TEST(AutoscalerTest, InstancesWithoutSamplesNeverPushTheWayTheySuggest) {
  // Just scaled 2 -> 4: the new two have no sample. Counted idle for scaling
  // up (1.6 / 0.5 = 4: no further growth) ...
  EXPECT_EQ(Recommend(Spec(1, 10, 0.5), 4, {0.8, 0.8, std::nullopt, std::nullopt}), 4);
  // ... and busy for scaling down: two idle ones and two unknown stay 4.
  EXPECT_EQ(Recommend(Spec(1, 10, 0.5), 4, {0.0, 0.0, std::nullopt, std::nullopt}), 4);
}

TEST(StabilizerTest, UpAtOnceDownOnlyAfterAWholeWindow) {
  Stabilizer s;
  const absl::Time t0 = absl::UnixEpoch();
  const absl::Duration window = absl::Seconds(30);
  EXPECT_EQ(s.Add(t0, 2, window), 2);
  EXPECT_EQ(s.Add(t0 + absl::Seconds(1), 5, window), 5);   // up: immediate
  EXPECT_EQ(s.Add(t0 + absl::Seconds(2), 1, window), 5);   // down: held
  EXPECT_EQ(s.Add(t0 + absl::Seconds(20), 1, window), 5);
  EXPECT_EQ(s.Add(t0 + absl::Seconds(32), 1, window), 1);  // 5 left the window
}

}  // namespace
}  // namespace agora::service
