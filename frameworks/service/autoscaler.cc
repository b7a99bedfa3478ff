#include "frameworks/service/autoscaler.h"

#include <algorithm>
#include <cmath>

namespace agora::service {

int Recommend(const AutoscaleSpec& spec, int current, const std::vector<std::optional<double>>& utilisation) {
  double known = 0;
  int sampled = 0, missing = 0;
  for (const auto& u : utilisation) {
    if (u) {
      known += *u;
      ++sampled;
    } else {
      ++missing;
    }
  }
  if (sampled == 0) return std::clamp(current, spec.min, spec.max);
  const double ratio = known / sampled / spec.target_cpu;
  int recommended = current;
  if (std::abs(ratio - 1) > 0.1) {
    const int up = static_cast<int>(std::ceil(known / spec.target_cpu - 1e-9));                // missing: idle
    const int down = static_cast<int>(std::ceil((known + missing) / spec.target_cpu - 1e-9));  // missing: busy
    if (up > current) {
      recommended = up;
    } else if (down < current) {
      recommended = down;
    }
  }
  return std::clamp(recommended, spec.min, spec.max);
}

int Stabilizer::Add(absl::Time now, int recommendation, absl::Duration window) {
  history_.emplace_back(now, recommendation);
  while (!history_.empty() && history_.front().first < now - window) history_.pop_front();
  int highest = recommendation;
  for (const auto& [at, n] : history_) highest = std::max(highest, n);
  return highest;
}

}  // namespace agora::service
