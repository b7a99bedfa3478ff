#include "frameworks/batch/job_queues.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace agora::batch {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1800000000);

QueuedJob Job(std::string id, absl::Duration estimate, double priority = 0,
              absl::Time submitted = kT0, std::string queue = "q") {
  return QueuedJob{std::move(id), std::move(queue), Resources::Scalars(1, 0, 0), priority,
                   estimate, submitted, true};
}

std::vector<std::string> Drain(JobQueues& queues) {
  std::vector<std::string> order;
  while (!queues.Heads().empty()) order.push_back(queues.Pop(queues.Heads().front()->queue).id);
  return order;
}

TEST(JobQueuesTest, FcfsOrdersBySubmission) {
  JobQueues q;
  q.Push(Job("late", absl::Seconds(1), 9, kT0 + absl::Seconds(2)));
  q.Push(Job("early", absl::Seconds(50), 0, kT0));
  q.Push(Job("middle", absl::Seconds(5), 0, kT0 + absl::Seconds(1)));
  EXPECT_THAT(Drain(q), ::testing::ElementsAre("early", "middle", "late"));
}

TEST(JobQueuesTest, SjfOrdersByEstimateThenArrival) {
  JobQueues q;
  q.Configure({.name = "q", .policy = Policy::kSjf});
  q.Push(Job("long", absl::Seconds(60)));
  q.Push(Job("short", absl::Seconds(1)));
  q.Push(Job("mid-a", absl::Seconds(10)));
  q.Push(Job("mid-b", absl::Seconds(10)));
  EXPECT_THAT(Drain(q), ::testing::ElementsAre("short", "mid-a", "mid-b", "long"));
}

TEST(JobQueuesTest, LogisticScore) {
  QueueConfig c{.logistic_k = 1, .logistic_x0 = 5};
  EXPECT_DOUBLE_EQ(PriorityScore(c, 5), 0.5);
  EXPECT_NEAR(PriorityScore(c, 6), 1 / (1 + std::exp(-1.0)), 1e-12);
  EXPECT_GT(PriorityScore(c, 10), 0.99);
  EXPECT_LT(PriorityScore(c, 0), 0.01);
  EXPECT_LT(PriorityScore(c, 1e9), 1.0 + 1e-12);  // saturates, no overflow
  EXPECT_GE(PriorityScore(c, -1e9), 0.0);
}

TEST(JobQueuesTest, PriorityOrdersByScoreAndAgingPreventsStarvation) {
  JobQueues q;
  // Aging of 0.01 per second: a job gains the whole logistic range in 100 s.
  q.Configure({.name = "q", .policy = Policy::kPriority, .logistic_x0 = 5, .aging_per_s = 0.01});
  q.Push(Job("low-old", absl::Seconds(1), 0, kT0));
  q.Push(Job("high-new", absl::Seconds(1), 10, kT0 + absl::Seconds(10)));
  q.Push(Job("mid-new", absl::Seconds(1), 5, kT0 + absl::Seconds(10)));
  EXPECT_THAT(Drain(q), ::testing::ElementsAre("high-new", "mid-new", "low-old"));
  // The same low job, waiting 200 s before the others arrive, goes first.
  q.Push(Job("low-starving", absl::Seconds(1), 0, kT0));
  q.Push(Job("high-fresh", absl::Seconds(1), 10, kT0 + absl::Seconds(200)));
  EXPECT_THAT(Drain(q), ::testing::ElementsAre("low-starving", "high-fresh"));
}

TEST(JobQueuesTest, ChangingThePolicyResortsWaitingJobs) {
  JobQueues q;
  q.Push(Job("first-long", absl::Seconds(60), 0, kT0));
  q.Push(Job("second-short", absl::Seconds(1), 0, kT0 + absl::Seconds(1)));
  q.Configure({.name = "q", .policy = Policy::kSjf});
  EXPECT_EQ(q.Heads().front()->id, "second-short");
  EXPECT_TRUE(q.Remove("second-short"));
  EXPECT_FALSE(q.Remove("second-short"));
  EXPECT_EQ(q.Heads().front()->id, "first-long");
  EXPECT_EQ(q.waiting(), 1u);
}

TEST(JobQueuesTest, WeightedFairShareServesTheQueueWithLessRunningPerWeight) {
  JobQueues q;
  q.Configure({.name = "a", .weight = 1});
  q.Configure({.name = "b", .weight = 3});
  for (int i = 0; i < 8; ++i) {
    q.Push(Job("a" + std::to_string(i), absl::Seconds(1), 0, kT0 + absl::Seconds(i), "a"));
    q.Push(Job("b" + std::to_string(i), absl::Seconds(1), 0, kT0 + absl::Seconds(i), "b"));
  }
  int from_a = 0, from_b = 0;
  for (int i = 0; i < 8; ++i) {
    QueuedJob job = q.Pop(q.Heads().front()->queue);
    (job.queue == "a" ? from_a : from_b)++;
    q.OnStarted(job, kT0 + absl::Seconds(100));
  }
  EXPECT_EQ(from_a, 2);  // 1:3 of 8 running slots
  EXPECT_EQ(from_b, 6);
  EXPECT_EQ(q.running_cpus_milli("b"), 6000);
}

TEST(JobQueuesTest, SrtfPicksTheLongestRemainingRunningJobAsVictim) {
  JobQueues q;
  q.Configure({.name = "q", .policy = Policy::kSrtf});
  q.OnStarted(Job("ends-at-100", absl::Seconds(100)), kT0 + absl::Seconds(100));
  q.OnStarted(Job("ends-at-30", absl::Seconds(30)), kT0 + absl::Seconds(30));
  QueuedJob pinned = Job("pinned", absl::Seconds(500));
  pinned.preemptible = false;
  q.OnStarted(pinned, kT0 + absl::Seconds(500));
  EXPECT_EQ(q.PreemptionVictim(Job("short", absl::Seconds(5)), kT0), "ends-at-100");
  EXPECT_EQ(q.Remaining("ends-at-100", kT0 + absl::Seconds(40)), absl::Seconds(60));
  // At t=90, 10 s remain of the longest: a 20 s job preempts nothing.
  EXPECT_EQ(q.PreemptionVictim(Job("twenty", absl::Seconds(20)), kT0 + absl::Seconds(90)),
            std::nullopt);
  q.OnStopped("ends-at-100");
  EXPECT_EQ(q.PreemptionVictim(Job("short", absl::Seconds(5)), kT0), "ends-at-30");
  // Not an SRTF queue: never preempts.
  q.Configure({.name = "q", .policy = Policy::kSjf});
  EXPECT_EQ(q.PreemptionVictim(Job("short", absl::Seconds(5)), kT0), std::nullopt);
}

TEST(JobQueuesTest, AVictimMustHoldTheHeadsResources) {
  JobQueues q;
  q.Configure({.name = "q", .policy = Policy::kSrtf});
  q.OnStarted(Job("small-long", absl::Seconds(100)), kT0 + absl::Seconds(100));
  QueuedJob big = Job("big", absl::Seconds(1));
  big.ask = Resources::Scalars(4, 0, 0);
  EXPECT_EQ(q.PreemptionVictim(big, kT0), std::nullopt);
}

TEST(JobQueuesTest, ParsePolicy) {
  EXPECT_EQ(*ParsePolicy("srtf"), Policy::kSrtf);
  EXPECT_FALSE(ParsePolicy("lifo").ok());
}

}  // namespace
}  // namespace agora::batch
