#include "frameworks/spec/fits.h"

#include "absl/strings/str_cat.h"

namespace agora::spec {

absl::Status CheckSomeAgentHolds(const Resources& ask, const std::vector<Resources>& agents,
                                 absl::string_view field) {
  if (agents.empty()) return absl::OkStatus();
  const Resources* largest = &agents.front();
  for (const Resources& a : agents) {
    if (a.Contains(ask)) return absl::OkStatus();
    if (std::pair(a.cpus_milli(), a.mem_milli()) > std::pair(largest->cpus_milli(), largest->mem_milli())) {
      largest = &a;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(field, ": no agent could ever hold it (",
                                                 largest->Shortfall(ask), " on the largest agent)"));
}

}  // namespace agora::spec
