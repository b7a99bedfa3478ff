#include "frameworks/service/haproxy_config.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace agora::service {

int HaproxyWeight(double weight) {
  return static_cast<int>(std::clamp<long>(std::lround(weight * 16), 1, 256));
}

std::string RenderHaproxyConfig(std::vector<LbFrontend> frontends, const HaproxyOptions& options) {
  std::string out = absl::StrCat(
      "# Written by agora-services from its services' ready instances; every change is\n"
      "# rewritten and reloaded. Do not edit.\n"
      "global\n"
      "  stats socket ", options.socket_path, " mode 600 level admin expose-fd listeners\n",
      "  hard-stop-after 30s\n"
      // A port someone else holds is an error to report, not a port to share.
      "  noreuseport\n"
      "\n"
      "defaults\n"
      "  mode tcp\n"
      "  timeout connect 5s\n"
      "  timeout client 1m\n"
      "  timeout server 1m\n"
      "  retries 2\n"
      "  option redispatch\n");
  std::sort(frontends.begin(), frontends.end(), [](auto& a, auto& b) { return a.service < b.service; });
  for (LbFrontend& f : frontends) {
    std::sort(f.servers.begin(), f.servers.end(), [](auto& a, auto& b) { return a.name < b.name; });
    absl::StrAppend(&out, "\nlisten ", f.service, "\n  bind ", options.bind_address, ":", f.port, "\n  balance ",
                    f.policy, "\n");
    for (const LbServer& s : f.servers) {
      absl::StrAppend(&out, "  server ", s.name, " ", s.address, ":", s.port, " weight ", HaproxyWeight(s.weight),
                      "\n");
    }
  }
  return out;
}

}  // namespace agora::service
