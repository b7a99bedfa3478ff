// The HAProxy configuration agora-services keeps its load balancers in: one
// `listen` section per service with `load_balancer`, its servers the
// service's ready instances. Pure: text in, text out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace agora::service {

struct LbServer {
  std::string name;     // the task id
  std::string address;  // IP address (or a resolvable name)
  uint32_t port = 0;
  double weight = 1;    // the service's `weight`
};

struct LbFrontend {
  std::string service;
  int port = 0;
  std::string policy = "roundrobin";  // roundrobin | random | leastconn
  std::vector<LbServer> servers;      // ready instances only
};

struct HaproxyOptions {
  std::string bind_address = "0.0.0.0";
  std::string socket_path;  // the admin socket; exposes listeners for seamless reloads
};

// HAProxy weights are integers in 0..256: `weight` 1 is 16, so weights from
// 1/16 to 16 keep their ratios.
int HaproxyWeight(double weight);

// A complete haproxy.cfg (TCP mode, so any protocol passes). Sections and
// servers come in a stable order: the same input gives the same text.
std::string RenderHaproxyConfig(std::vector<LbFrontend> frontends, const HaproxyOptions& options);

}  // namespace agora::service
