#include "frameworks/sdk/agent_totals.h"

#include <nlohmann/json.hpp>

#include "absl/time/clock.h"

namespace agora::sdk {

AgentTotals::AgentTotals(std::string master, std::optional<CurveClient> curve,
                         absl::Duration refresh)
    : client_(std::move(master), absl::Milliseconds(500), std::move(curve)), refresh_(refresh) {}

std::vector<Resources> AgentTotals::Get() {
  if (absl::Now() - fetched_ < refresh_) return totals_;
  auto text = client_.Query("agents");
  if (!text.ok()) return totals_;
  fetched_ = absl::Now();
  nlohmann::json agents = nlohmann::json::parse(*text, nullptr, false);
  if (!agents.is_array()) return totals_;
  totals_.clear();
  for (const auto& a : agents) {
    if (a.value("state", "") != "active") continue;
    const auto& r = a["resources"];
    totals_.push_back(Resources::Scalars(r.value("cpus", 0.0), r.value("mem", 0.0), r.value("disk", 0.0)));
  }
  return totals_;
}

}  // namespace agora::sdk
