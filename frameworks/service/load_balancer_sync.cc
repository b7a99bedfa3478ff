#include "frameworks/service/load_balancer_sync.h"

namespace agora::service {

LoadBalancerSync::LoadBalancerSync(ServiceFramework& framework, HaproxyProcess& haproxy, HaproxyOptions options,
                                   EventLoop& loop, absl::Duration period)
    : framework_(framework), haproxy_(haproxy), options_(std::move(options)) {
  options_.socket_path = haproxy_.socket_path();
  loop.Every(period, [this] { Sync(); });
}

void LoadBalancerSync::Sync() {
  std::vector<LbFrontend> frontends = framework_.LoadBalancers();
  if (frontends.empty()) {
    if (haproxy_.Running()) haproxy_.Stop(/*wait=*/false);
    return;
  }
  // Errors are logged and counted by HaproxyProcess; the next turn retries.
  (void)haproxy_.Apply(RenderHaproxyConfig(std::move(frontends), options_));
}

}  // namespace agora::service
