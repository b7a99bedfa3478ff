// Autoscaling of a service on its instances' measured cpu use, the way the
// Kubernetes HPA does it:
//  - Recommend(): the count that would bring the mean utilisation (cpus used
//    / cpus asked) to `target_cpu`, ceil(sum / target), unchanged within 10%
//    of the target. An instance without a sample (starting, unready) counts
//    as idle when that would scale up and as fully busy when that would scale
//    down, so missing samples never push the count the way they suggest;
//  - Stabilizer: the count to run is the highest recommendation of the last
//    `window`: scaling up is immediate, scaling down waits until lower
//    counts were recommended for a whole window, so load that comes and
//    goes does not make the service flap.
// Pure: no clock, no I/O.
#pragma once

#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "frameworks/service/service_spec.h"

namespace agora::service {

// `utilisation` has one entry per live instance: cpus used / cpus asked, or
// nullopt without a sample. Within [spec.min, spec.max].
int Recommend(const AutoscaleSpec& spec, int current, const std::vector<std::optional<double>>& utilisation);

class Stabilizer {
 public:
  // Records `recommendation` at `now` and returns the highest of the window.
  int Add(absl::Time now, int recommendation, absl::Duration window);

 private:
  std::deque<std::pair<absl::Time, int>> history_;
};

}  // namespace agora::service
