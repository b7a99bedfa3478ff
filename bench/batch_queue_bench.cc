// The cost of one batch scheduling decision (pick the next job across queues,
// place it on one of 10 agents' offers, start it) with N jobs waiting. The
// claim under test: it does not grow with N.
//
//   build/bench/batch_queue_bench --benchmark_filter=BM_Decision
//
// Four queues, one per policy, share the waiting jobs. Each iteration takes
// one decision and pushes a fresh job, so N stays constant.
#include <benchmark/benchmark.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "frameworks/batch/job_queues.h"
#include "frameworks/batch/placement.h"

namespace agora::batch {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1800000000);

QueuedJob MakeJob(uint64_t i, std::mt19937_64& rng) {
  static const char* kQueues[] = {"fcfs", "sjf", "srtf", "priority"};
  return QueuedJob{absl::StrCat("r-000000000000.job.", i), kQueues[i % 4], Resources::Scalars(0.1, 32, 0),
                   static_cast<double>(rng() % 10), absl::Seconds(1 + rng() % 600),
                   kT0 + absl::Milliseconds(i), true};
}

void BM_Decision(benchmark::State& state) {
  const uint64_t waiting = state.range(0);
  std::mt19937_64 rng(1);
  JobQueues queues;
  queues.Configure({.name = "fcfs", .policy = Policy::kFcfs});
  queues.Configure({.name = "sjf", .policy = Policy::kSjf});
  queues.Configure({.name = "srtf", .policy = Policy::kSrtf});
  queues.Configure({.name = "priority", .policy = Policy::kPriority, .logistic_x0 = 5});
  uint64_t next = 0;
  for (; next < waiting; ++next) queues.Push(MakeJob(next, rng));
  std::vector<AgentSlot> slots;
  for (int a = 0; a < 10; ++a) {
    slots.push_back({absl::StrCat("a-", a), {absl::StrCat("o-", a)}, Resources::Scalars(1e6, 1e9, 0)});
  }
  for (auto _ : state) {
    const QueuedJob* head = queues.Heads().front();
    int slot = Place(slots, head->ask, Placement::kBinPack);
    QueuedJob job = queues.Pop(head->queue);
    slots[slot].available -= job.ask;
    queues.OnStarted(job, kT0 + job.estimate);
    benchmark::DoNotOptimize(slot);
    state.PauseTiming();  // keep N and the running set constant
    queues.OnStopped(job.id);
    slots[slot].available += job.ask;
    queues.Push(MakeJob(next++, rng));
    state.ResumeTiming();
  }
  state.counters["waiting"] = static_cast<double>(waiting);
}
BENCHMARK(BM_Decision)->Arg(1000)->Arg(100000)->Unit(benchmark::kMicrosecond);

// Submitting: one job pushed into a queue holding N.
void BM_Push(benchmark::State& state) {
  std::mt19937_64 rng(2);
  JobQueues queues;
  queues.Configure({.name = "priority", .policy = Policy::kPriority});
  uint64_t next = 0;
  for (; next < static_cast<uint64_t>(state.range(0)); ++next) queues.Push(MakeJob(next * 4 + 3, rng));
  for (auto _ : state) {
    QueuedJob job = MakeJob(next++ * 4 + 3, rng);
    queues.Push(std::move(job));
  }
}
BENCHMARK(BM_Push)->Arg(1000)->Arg(100000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace agora::batch

BENCHMARK_MAIN();
