// Histogram buckets and their text, HistogramVec's bound on label sets, and
// the process metrics read from /proc.
#include <unistd.h>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/histogram.h"
#include "common/metrics_writer.h"
#include "common/proc_file.h"
#include "common/process_metrics.h"

namespace agora {
namespace {

TEST(HistogramTest, CountsIntoCumulativeBucketsFromOneMillisecondToSixteenSeconds) {
  EXPECT_DOUBLE_EQ(Histogram::UpperBound(0), 0.001);
  EXPECT_DOUBLE_EQ(Histogram::UpperBound(Histogram::kBuckets - 1), 16.384);
  Histogram h;
  h.Observe(absl::Microseconds(500));   // <= 0.001
  h.Observe(absl::Milliseconds(1));     // <= 0.001: upper bounds are inclusive
  h.Observe(absl::Milliseconds(3));     // <= 0.004
  h.Observe(absl::Seconds(20));         // +Inf only
  h.Observe(-absl::Seconds(1));         // a clock step back counts as 0
  const Histogram::Reading r = h.Read();
  EXPECT_EQ(r.cumulative[0], 3u);
  EXPECT_EQ(r.cumulative[1], 3u);
  EXPECT_EQ(r.cumulative[2], 4u);
  EXPECT_EQ(r.cumulative[Histogram::kBuckets - 1], 4u);
  EXPECT_EQ(r.cumulative[Histogram::kBuckets], 5u);
  EXPECT_NEAR(r.sum_seconds, 20.0045, 1e-6);
}

TEST(HistogramTest, WritesBucketsSumAndCountInPrometheusText) {
  Histogram h;
  h.Observe(absl::Milliseconds(2));
  MetricsWriter w;
  w.Latency("agora_x_seconds", "X.", h);
  const std::string text = w.Take();
  EXPECT_TRUE(absl::StrContains(text, "# TYPE agora_x_seconds histogram\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "agora_x_seconds_bucket{le=\"0.001\"} 0\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "agora_x_seconds_bucket{le=\"0.002\"} 1\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "agora_x_seconds_bucket{le=\"16.384\"} 1\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "agora_x_seconds_bucket{le=\"+Inf\"} 1\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "agora_x_seconds_sum 0.002\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "agora_x_seconds_count 1\n")) << text;
}

TEST(HistogramTest, AVectorKeepsAtMostItsBoundOfLabelSets) {
  HistogramVec v(R"(route="other")");
  for (size_t i = 0; i < HistogramVec::kMaxLabels + 10; ++i) {
    v.For(absl::StrCat("route=\"/r", i, "\"")).Observe(absl::Milliseconds(1));
  }
  size_t sets = 0;
  uint64_t other = 0;
  v.ForEach([&](const std::string& labels, const Histogram& h) {
    ++sets;
    if (labels == R"(route="other")") other = h.Read().cumulative[Histogram::kBuckets];
  });
  EXPECT_EQ(sets, HistogramVec::kMaxLabels + 1);
  EXPECT_EQ(other, 10u);
  MetricsWriter w;
  w.Latencies("agora_y_seconds", "Y.", v);
  EXPECT_TRUE(absl::StrContains(w.Take(), "agora_y_seconds_bucket{route=\"other\",le=\"0.001\"} 10\n"));
}

TEST(ProcessMetricsTest, ReadsThisProcessFromProc) {
  const std::vector<std::string> stat = ReadProcStat("self");
  ASSERT_GT(stat.size(), 24u);
  EXPECT_EQ(stat[1], std::to_string(::getpid()));
  EXPECT_EQ(stat[3], "R");  // it is running: it reads its own stat
  EXPECT_TRUE(ReadProcStat("999999999").empty());
  MetricsWriter w;
  WriteProcessMetrics(w);
  const std::string text = w.Take();
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                           "process_max_fds", "process_start_time_seconds", "process_threads"}) {
    EXPECT_TRUE(absl::StrContains(text, absl::StrCat("\n", name, " "))) << name << "\n" << text;
  }
  EXPECT_FALSE(absl::StrContains(text, "\nprocess_resident_memory_bytes 0\n")) << text;
}

}  // namespace
}  // namespace agora
