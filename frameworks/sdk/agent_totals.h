// AgentTotals asks the master (an operator query) for the total resources of
// its active agents, at most every few seconds: what a framework checks a
// spec against ("no agent could ever hold it"). Blocking, with a short
// deadline; a master that does not answer leaves the last answer in place.
// Not thread-safe: one per loop.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agora/resources.h"
#include "frameworks/sdk/master_client.h"

namespace agora::sdk {

// The total resources of every active agent, asked of the master once.
absl::StatusOr<std::vector<Resources>> ActiveAgentTotals(MasterClient& master);

class AgentTotals {
 public:
  explicit AgentTotals(std::string master, std::optional<CurveClient> curve = std::nullopt,
                       absl::Duration refresh = absl::Seconds(5));
  std::vector<Resources> Get();

 private:
  MasterClient client_;
  absl::Duration refresh_;
  absl::Time fetched_ = absl::InfinitePast();
  std::vector<Resources> totals_;
};

}  // namespace agora::sdk
