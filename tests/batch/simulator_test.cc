#include "frameworks/batch/simulator.h"

#include <cmath>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace agora::batch {
namespace {

// Poisson arrivals at `lambda` per second, exponential service of mean 1 s.
std::vector<TraceJob> MarkovTrace(double lambda, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> gap(lambda), service(1.0);
  std::vector<TraceJob> trace;
  double t = 0;
  for (size_t i = 0; i < n; ++i) {
    t += gap(rng);
    trace.push_back({t, service(rng), 1, 0});
  }
  return trace;
}

// Erlang C: mean waiting time in an M/M/c queue (service rate 1).
double ErlangCWait(double lambda, int c) {
  double a = lambda, term = 1, sum = 0;
  for (int k = 0; k < c; ++k) {
    sum += term;
    term *= a / (k + 1);
  }
  // term is now a^c / c!
  double top = term * c / (c - a);
  double p_wait = top / (sum + top);
  return p_wait / (c - lambda);
}

TEST(SimulatorTest, FcfsMatchesErlangC) {
  for (auto [lambda, c] : {std::pair{3.0, 4}, std::pair{1.6, 2}}) {
    auto trace = MarkovTrace(lambda, 400000, 42);
    auto r = Simulate(trace, QueueConfig{.name = "q"}, c);
    ASSERT_TRUE(r.ok());
    double expected = ErlangCWait(lambda, c);
    EXPECT_NEAR(r->mean_wait_s, expected, 0.03 * expected)
        << "lambda " << lambda << " c " << c << ": simulated " << r->mean_wait_s
        << ", Erlang C " << expected;
    EXPECT_NEAR(r->utilization, lambda / c, 0.02);
    EXPECT_EQ(r->preemptions, 0u);
  }
}

TEST(SimulatorTest, SrtfBeatsSjfBeatsFcfsOnTurnaround) {
  auto trace = MarkovTrace(3.2, 50000, 7);
  auto run = [&](Policy p) {
    auto r = Simulate(trace, QueueConfig{.name = "q", .policy = p}, 4);
    EXPECT_TRUE(r.ok());
    return *r;
  };
  SimulationResult fcfs = run(Policy::kFcfs), sjf = run(Policy::kSjf), srtf = run(Policy::kSrtf);
  EXPECT_LE(srtf.mean_turnaround_s, sjf.mean_turnaround_s);
  EXPECT_LE(sjf.mean_turnaround_s, fcfs.mean_turnaround_s);
  EXPECT_GT(srtf.preemptions, 0u);
  EXPECT_EQ(sjf.preemptions, 0u);
}

TEST(SimulatorTest, SmallTraceByHand) {
  // One slot: A (0, 10 s), B arrives at 1 with 2 s, C at 2 with 1 s.
  std::vector<TraceJob> trace = {{0, 10, 1, 0}, {1, 2, 1, 0}, {2, 1, 1, 0}};
  auto fcfs = Simulate(trace, QueueConfig{.name = "q"}, 1);
  ASSERT_TRUE(fcfs.ok());
  // Finishes at 10, 12, 13: turnarounds 10, 11, 11.
  EXPECT_NEAR(fcfs->mean_turnaround_s, 32.0 / 3, 1e-9);
  EXPECT_NEAR(fcfs->makespan_s, 13, 1e-9);
  EXPECT_NEAR(fcfs->utilization, 1.0, 1e-9);
  auto srtf = Simulate(trace, QueueConfig{.name = "q", .policy = Policy::kSrtf}, 1);
  ASSERT_TRUE(srtf.ok());
  // B preempts A at 1 (2 < 9), runs to 3; C runs 3-4; A resumes 4-13.
  EXPECT_NEAR(srtf->mean_turnaround_s, (13.0 + 2 + 2) / 3, 1e-9);
  EXPECT_EQ(srtf->preemptions, 1u);
}

TEST(SimulatorTest, ParsesTracesAndNamesBadLines) {
  auto t = ParseTrace("arrival,duration,cpus,priority\n0,1,1,0\n0.5,2,2,3\n");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[1].priority, 3);
  EXPECT_THAT(std::string(ParseTrace("a,b\n").status().message()), ::testing::HasSubstr("header"));
  EXPECT_THAT(std::string(ParseTrace("arrival,duration,cpus,priority\n0,x,1,0\n").status().message()),
              ::testing::HasSubstr("line 2: 'x' is not a valid number"));
  EXPECT_FALSE(Simulate({{0, 1, 8, 0}}, QueueConfig{.name = "q"}, 4).ok());
}

}  // namespace
}  // namespace agora::batch
