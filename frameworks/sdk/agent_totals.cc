#include "frameworks/sdk/agent_totals.h"

#include <nlohmann/json.hpp>

#include "absl/time/clock.h"

namespace agora::sdk {

AgentTotals::AgentTotals(std::string master, std::optional<CurveClient> curve,
                         absl::Duration refresh)
    : client_(std::move(master), absl::Milliseconds(500), std::move(curve)), refresh_(refresh) {}

absl::StatusOr<std::vector<Resources>> ActiveAgentTotals(MasterClient& master) {
  auto text = master.Query("agents");
  if (!text.ok()) return text.status();
  nlohmann::json agents = nlohmann::json::parse(*text, nullptr, false);
  if (!agents.is_array()) return absl::InternalError("the master's agent list is not a JSON array");
  std::vector<Resources> totals;
  for (const auto& a : agents) {
    if (a.value("state", "") != "active") continue;
    const auto& r = a["resources"];
    totals.push_back(Resources::Scalars(r.value("cpus", 0.0), r.value("mem", 0.0), r.value("disk", 0.0)));
  }
  return totals;
}

std::vector<Resources> AgentTotals::Get() {
  if (absl::Now() - fetched_ < refresh_) return totals_;
  auto totals = ActiveAgentTotals(client_);
  if (!totals.ok()) return totals_;
  fetched_ = absl::Now();
  totals_ = *std::move(totals);
  return totals_;
}

}  // namespace agora::sdk
