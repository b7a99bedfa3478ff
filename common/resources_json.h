// Resources as JSON, the same in every daemon's /state and the CLI:
// {"cpus": 2, "mem": 4096, "disk": 8192, "ports": [[31000, 32000]]} (mem and
// disk in MiB; ports as inclusive ranges, absent when there are none).
#pragma once

#include <nlohmann/json.hpp>

#include "agora/resources.h"

namespace agora {

inline nlohmann::json ResourcesJson(const Resources& r) {
  nlohmann::json out = {{"cpus", r.cpus()}, {"mem", r.mem()}, {"disk", r.disk()}};
  if (!r.ports().empty()) {
    nlohmann::json ranges = nlohmann::json::array();
    for (const PortRange& p : r.ports().ranges()) ranges.push_back({p.begin, p.end});
    out["ports"] = std::move(ranges);
  }
  return out;
}

}  // namespace agora
