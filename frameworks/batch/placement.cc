#include "frameworks/batch/placement.h"

#include "absl/strings/str_cat.h"

namespace agora::batch {

absl::StatusOr<Placement> ParsePlacement(absl::string_view name) {
  if (name == "binpack") return Placement::kBinPack;
  if (name == "spread") return Placement::kSpread;
  return absl::InvalidArgumentError(
      absl::StrCat("placement '", name, "' is not one of binpack, spread"));
}

int Place(const std::vector<AgentSlot>& slots, const Resources& ask, Placement placement) {
  int best = -1;
  for (int i = 0; i < static_cast<int>(slots.size()); ++i) {
    if (!slots[i].available.Contains(ask)) continue;
    if (best < 0) {
      best = i;
      continue;
    }
    const Resources& a = slots[i].available;
    const Resources& b = slots[best].available;
    // Dominant free share proxy: cpus first, then memory.
    auto key = [](const Resources& r) { return std::pair(r.cpus_milli(), r.mem_milli()); };
    bool better = placement == Placement::kBinPack ? key(a) < key(b) : key(a) > key(b);
    if (better || (key(a) == key(b) && slots[i].agent_id < slots[best].agent_id)) best = i;
  }
  return best;
}

}  // namespace agora::batch
