// What measuring costs: one histogram observation (the master makes one per
// message, and HTTP workers one per request, concurrently), a labelled one
// through HistogramVec's lookup, and rendering a histogram family.
#include <benchmark/benchmark.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/histogram.h"
#include "common/metrics_writer.h"

namespace agora {
namespace {

void BM_Observe(benchmark::State& state) {
  static Histogram h;  // shared by the threads
  absl::Duration d = absl::Microseconds(1);
  for (auto _ : state) {
    h.Observe(d);
    d += absl::Nanoseconds(37);  // walk the buckets
  }
}
BENCHMARK(BM_Observe)->Threads(1)->Threads(2);

void BM_ObserveWithClock(benchmark::State& state) {  // as Master::Handle does: two clock reads
  Histogram h;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    h.Observe(absl::Now() - start);
  }
}
BENCHMARK(BM_ObserveWithClock);

void BM_ObserveLabelled(benchmark::State& state) {  // as an HTTP request does
  HistogramVec v(R"(route="other")");
  for (int i = 0; i < 16; ++i) v.For(absl::StrCat("route=\"/v1/r", i, "\""));
  for (auto _ : state) v.For(R"(route="/v1/r7")").Observe(absl::Milliseconds(3));
}
BENCHMARK(BM_ObserveLabelled);

void BM_WriteFamily(benchmark::State& state) {  // one family of 24 kinds, as /metrics renders
  HistogramVec v(R"(kind="other")");
  for (int i = 0; i < 24; ++i) v.For(absl::StrCat("kind=\"k", i, "\"")).Observe(absl::Milliseconds(i));
  for (auto _ : state) {
    MetricsWriter w;
    w.Latencies("agora_message_duration_seconds", "Handling one message, by its kind.", v);
    benchmark::DoNotOptimize(w.Take());
  }
}
BENCHMARK(BM_WriteFamily);

}  // namespace
}  // namespace agora

BENCHMARK_MAIN();
