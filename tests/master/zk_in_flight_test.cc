// ZkInFlight with completions played by test threads: every answer comes
// back in its slot, a refused call does not wait, and a call unanswered in
// time reads as a timeout while its late answer lands safely (run under
// AddressSanitizer in CI).
#include "master/zk_in_flight.h"

#include <zookeeper/zookeeper.h>

#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "absl/time/clock.h"

namespace agora::master {
namespace {

TEST(ZkInFlightTest, EveryAnswerComesBackInItsCallsSlot) {
  std::vector<std::thread> client;
  const std::vector<ZkSlot> out = ZkInFlight::Run(3, absl::Seconds(10), [&](size_t i, const void* data) {
    client.emplace_back([i, data] {
      const std::string value = "value " + std::to_string(i);
      ZkInFlight::Answer(data, i == 1 ? ZNONODE : ZOK, value.data(), static_cast<int>(value.size()));
    });
    return ZOK;
  });
  for (std::thread& t : client) t.join();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].rc, ZOK);
  EXPECT_EQ(out[0].value, "value 0");
  EXPECT_EQ(out[1].rc, ZNONODE);
  EXPECT_EQ(out[1].value, "");  // no data with an error
  EXPECT_EQ(out[2].value, "value 2");
}

TEST(ZkInFlightTest, ACallRefusedAtOnceIsNotWaitedFor) {
  const absl::Time start = absl::Now();
  const std::vector<ZkSlot> out =
      ZkInFlight::Run(2, absl::Seconds(10), [](size_t, const void*) { return ZINVALIDSTATE; });
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(out[0].rc, ZINVALIDSTATE);
  EXPECT_EQ(out[1].rc, ZINVALIDSTATE);
}

TEST(ZkInFlightTest, ACallUnansweredInTimeReadsAsATimeoutAndItsLateAnswerLandsSafely) {
  const void* late = nullptr;
  const std::vector<ZkSlot> out = ZkInFlight::Run(2, absl::Milliseconds(100), [&](size_t i, const void* data) {
    if (i == 0) {
      ZkInFlight::Answer(data, ZOK, "x", 1);
    } else {
      late = data;
    }
    return ZOK;
  });
  EXPECT_EQ(out[0].rc, ZOK);
  EXPECT_EQ(out[0].value, "x");
  EXPECT_EQ(out[1].rc, ZOPERATIONTIMEOUT);
  ASSERT_NE(late, nullptr);
  ZkInFlight::Answer(late, ZCONNECTIONLOSS);  // the batch is freed now, not before
}

}  // namespace
}  // namespace agora::master
