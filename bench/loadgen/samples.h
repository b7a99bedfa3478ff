// Samples holds latency samples and answers percentiles over them.
// Not thread-safe; the load generator's loop only.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "absl/time/time.h"

namespace agora::loadgen {

class Samples {
 public:
  void Add(absl::Duration d) { ms_.push_back(absl::ToDoubleMilliseconds(d)); }
  size_t size() const { return ms_.size(); }
  // The nearest-rank percentile `p` (0..100) in milliseconds; none when empty.
  std::optional<double> Percentile(double p) const {
    if (ms_.empty()) return std::nullopt;
    size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * double(ms_.size())));
    rank = std::clamp<size_t>(rank, 1, ms_.size()) - 1;
    std::nth_element(ms_.begin(), ms_.begin() + rank, ms_.end());
    return ms_[rank];
  }

 private:
  mutable std::vector<double> ms_;
};

}  // namespace agora::loadgen
