// Placement: which agent a job runs on, chosen by the batch framework itself
// from the offers it holds. Bin-pack (the default) fills the fullest agent
// that still fits, so whole agents stay free for big jobs; spread picks the
// emptiest. Pure function; ties go to the lower agent id, so it is stable.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agora/resources.h"

namespace agora::batch {

enum class Placement { kBinPack, kSpread };
absl::StatusOr<Placement> ParsePlacement(absl::string_view name);

// What one agent's offers hold, less what this round already placed there.
struct AgentSlot {
  std::string agent_id;
  std::vector<std::string> offer_ids;
  Resources available;
  std::string hostname;  // the agent's, for people
};

// The index in `slots` to run `ask` on, or -1 when none fits.
int Place(const std::vector<AgentSlot>& slots, const Resources& ask, Placement placement);

}  // namespace agora::batch
