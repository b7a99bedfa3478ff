// Histogram counts durations into Prometheus' cumulative buckets, in seconds:
// kube-scheduler's exponential buckets, 1 ms doubling up to 16.384 s, then
// +Inf. Observe() and Read() are lock-free and safe from any thread (HTTP
// workers observe while the loop renders /metrics).
//
// HistogramVec is one histogram per set of label values (a message kind, an
// HTTP route), named by its Prometheus labels (`kind="accept"`): at most
// kMaxLabels sets; any further one is counted under the overflow set, so no
// client can grow /metrics without bound.
//
// Example:
//   Histogram h;
//   h.Observe(absl::Milliseconds(3));
//   MetricsWriter w;
//   w.Histogram("agora_registry_commit_seconds", "Registry commits.", h);
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace agora {

class Histogram {
 public:
  static constexpr int kBuckets = 15;  // finite upper bounds; +Inf comes after
  static constexpr double UpperBound(int i) { return 0.001 * double(uint64_t{1} << i); }

  // Negative durations count as 0, and at most a million seconds are summed.
  void Observe(absl::Duration d) {
    const double s = std::clamp(absl::ToDoubleSeconds(d), 0.0, 1e6);
    int i = 0;
    while (i < kBuckets && s > UpperBound(i)) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(uint64_t(s * 1e9), std::memory_order_relaxed);
  }

  struct Reading {
    std::array<uint64_t, kBuckets + 1> cumulative{};  // [kBuckets] is +Inf: the count
    double sum_seconds = 0;
  };
  Reading Read() const {
    Reading r;
    uint64_t total = 0;
    for (int i = 0; i <= kBuckets; ++i) {
      total += counts_[i].load(std::memory_order_relaxed);
      r.cumulative[i] = total;
    }
    r.sum_seconds = double(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
    return r;
  }

 private:
  std::array<std::atomic<uint64_t>, kBuckets + 1> counts_{};
  std::atomic<uint64_t> sum_ns_{0};
};

class HistogramVec {
 public:
  static constexpr size_t kMaxLabels = 64;

  // `overflow`: the labels that count what comes past kMaxLabels.
  explicit HistogramVec(std::string overflow) : overflow_(std::move(overflow)) {}

  // The histogram for `labels` (created on first use); stays valid for the
  // vector's life.
  Histogram& For(absl::string_view labels) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_labels_.find(labels);
    if (it != by_labels_.end()) return *it->second;
    if (by_labels_.size() >= kMaxLabels) labels = overflow_;
    auto& slot = by_labels_[std::string(labels)];
    if (!slot) slot = std::make_unique<Histogram>();
    return *slot;
  }
  // Calls `f(labels, histogram)` for each set of labels, in order.
  template <typename F>
  void ForEach(F f) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [labels, h] : by_labels_) f(labels, *h);
  }

 private:
  const std::string overflow_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Histogram>, std::less<>> by_labels_;
};

}  // namespace agora
