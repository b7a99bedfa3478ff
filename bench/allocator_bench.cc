// One full DRF allocation pass on the grid Mesos used for its own allocator
// benchmarks: agents of 24 cpus, every framework declining what it gets.
//
//   build/bench/allocator_bench --benchmark_filter='BM_AllocationPass/10000/1000'
//
// Each iteration times Allocate() alone. Between iterations (untimed) every
// framework declines what it was offered with a 5s filter, and the virtual
// clock moves 1s, so each pass meets the filters of the previous five, as a
// master under steady declines does.
#include <benchmark/benchmark.h>

#include "absl/strings/str_cat.h"
#include "master/allocator/drf_allocator.h"

namespace agora::master {
namespace {

void BM_AllocationPass(benchmark::State& state) {
  const int agents = static_cast<int>(state.range(0));
  const int frameworks = static_cast<int>(state.range(1));
  DrfAllocator allocator(1);
  Resources agent = *Resources::Parse("cpus:24;mem:4096;disk:4096;ports:[31000-32000]");
  for (int f = 0; f < frameworks; ++f) allocator.AddFramework(absl::StrCat("f", f), "*");
  for (int a = 0; a < agents; ++a) allocator.AddAgent(absl::StrCat("a", a), agent);
  absl::Time now = absl::FromUnixSeconds(1'000'000);
  size_t offers = 0;
  for (auto _ : state) {
    std::vector<Allocation> allocations = allocator.Allocate(now);
    state.PauseTiming();
    offers += allocations.size();
    for (const Allocation& a : allocations) {
      allocator.Recover(a.framework_id, a.agent_id, a.resources, now + absl::Seconds(5));
    }
    now += absl::Seconds(1);
    state.ResumeTiming();
  }
  state.counters["offers_per_pass"] =
      benchmark::Counter(static_cast<double>(offers) / state.iterations());
}

BENCHMARK(BM_AllocationPass)
    ->Args({1000, 100})
    ->Args({10000, 1000})
    ->Args({50000, 6000})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace agora::master

BENCHMARK_MAIN();
