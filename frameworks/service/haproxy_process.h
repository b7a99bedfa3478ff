// HaproxyProcess keeps one HAProxy (Debian's `haproxy`, master-worker mode,
// daemonized) serving the configuration it is given, the way marathon-lb did
// for Marathon.
//
// Apply() writes the text to DIR/haproxy.cfg after `haproxy -c` accepts it,
// then starts HAProxy, or reloads it with SIGUSR2: the master starts new
// workers on the listening sockets it passes on (`expose-fd listeners`) and
// the old workers finish their connections, so a reload drops none.
//
// Failure behaviour: a configuration HAProxy rejects is not installed (the
// running one keeps serving; the error is kept and counted). A HAProxy that
// died is started again by the next Apply(). HAProxy outlives a killed
// agora-services and keeps serving; the next one adopts it from
// DIR/haproxy.pid (checking that the pid is our HAProxy). Stop() ends it
// softly (SIGUSR1: current connections finish).
//
// Not thread-safe; Apply() blocks for the check (tens of milliseconds).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace agora::service {

class HaproxyProcess {
 public:
  // `binary`: the haproxy program (PATH is searched); `dir`: its files.
  HaproxyProcess(std::string binary, std::string dir);

  // Whether `binary` runs at all (`haproxy -v`).
  absl::Status CheckBinary();
  // Makes HAProxy serve `config`; an unchanged config with HAProxy alive is
  // a no-op. Error: why it is not serving `config`.
  absl::Status Apply(const std::string& config);
  // Soft stop (SIGUSR1); with `wait`, until the master is gone: asked again,
  // and after 5 s told (SIGTERM), for at most 7 s. Without, call it again to
  // ask again.
  void Stop(bool wait);
  bool Running() const;  // our HAProxy's master is alive

  std::string socket_path() const { return dir_ + "/haproxy.sock"; }
  uint64_t reloads() const { return reloads_; }
  uint64_t errors() const { return errors_; }
  nlohmann::json StatusJson() const;
  friend std::string LoadBalancerMetrics(const HaproxyProcess& h);

 private:
  pid_t MasterPid() const;  // from the pidfile, if it is our live HAProxy; else 0
  std::vector<pid_t> OurProcesses() const;  // every process running our configuration
  absl::Status Fail(absl::Status s);

  std::string binary_;
  std::string dir_;
  std::string config_path_, pid_path_;
  std::string applied_;  // the config HAProxy was last started or reloaded with
  std::string failed_;   // the config that failed last, retried after a pause
  absl::Time retry_after_ = absl::InfinitePast();
  uint64_t starts_ = 0, reloads_ = 0, errors_ = 0;
  std::string last_error_;
};

// Prometheus text: HAProxy up, starts, reloads, errors.
std::string LoadBalancerMetrics(const HaproxyProcess& h);

// Whether ADDRESS:PORT (IPv4; others pass) can be bound now, as HAProxy binds
// (SO_REUSEADDR). A reload binds new ports in HAProxy's new workers, whose
// failure leaves the old ones serving out of sight: a port someone holds is
// found here first; and a port is chosen for a load balancer only if free.
absl::Status Bindable(const std::string& address_port);

}  // namespace agora::service
