// LoadBalancerSync keeps HAProxy in step with agora-services: every
// `period` it renders the configuration from the services' ready instances
// and applies it when it changed (so an instance that turns unhealthy leaves
// the rotation within a period of the framework hearing of it). With no
// service asking for a load balancer, HAProxy is stopped.
#pragma once

#include "common/event_loop.h"
#include "frameworks/service/haproxy_config.h"
#include "frameworks/service/haproxy_process.h"
#include "frameworks/service/service_framework.h"

namespace agora::service {

class LoadBalancerSync {
 public:
  LoadBalancerSync(ServiceFramework& framework, HaproxyProcess& haproxy, HaproxyOptions options, EventLoop& loop,
                   absl::Duration period = absl::Milliseconds(250));
  void Sync();

 private:
  ServiceFramework& framework_;
  HaproxyProcess& haproxy_;
  HaproxyOptions options_;
};

}  // namespace agora::service
