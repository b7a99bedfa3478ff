// SchedulerDriver connects a Scheduler to the master and owns the loop and
// the socket. It subscribes (again, with the framework id, after the master
// restarts or goes silent), heartbeats, reconciles after every subscription,
// acknowledges a turn's updates after Scheduler::Checkpoint(), declines offers nobody
// used, turns a rejected launch into TASK_ERROR updates for its tasks, and
// suppresses or revives offers as Scheduler::WantsOffers() says.
//
// Thread-safety: Run() blocks its thread; Stop() and Post() may be called
// from any thread; everything else only from callbacks (the loop thread).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/curve.h"
#include "common/event_loop.h"
#include "common/leader_detector.h"
#include "common/sockets.h"
#include "frameworks/sdk/scheduler.h"

namespace agora::sdk {

struct FrameworkInfo {
  std::string name;
  std::string role = "*";
  // How long the master keeps this framework's tasks while it is away.
  // Zero: they are killed as soon as it disconnects.
  absl::Duration failover_timeout = absl::Hours(24 * 7);
  std::string framework_id;  // set to resume an earlier subscription
  std::string endpoint;      // the framework's own API, announced to the master
  std::string endpoint_cert_sha256;  // its HTTPS certificate's fingerprint (secured)
  std::optional<CurveClient> curve;  // keys for a secured master
};

class SchedulerDriver {
 public:
  SchedulerDriver(Scheduler& scheduler, FrameworkInfo info, std::string master);
  ~SchedulerDriver();

  // Runs until Stop(). Returns 0 after a clean stop, 1 after a fatal error.
  int Run();
  // Thread-safe. With failover=false the framework is torn down first (its
  // tasks are killed); with true it stays registered for failover.
  void Stop(bool failover = true);
  // Thread-safe: runs `fn` on the loop thread.
  void Post(std::function<void()> fn) { loop_.Post(std::move(fn)); }

  // Launches `tasks` on the named offers (all of one agent). Resources of the
  // offers the tasks do not use return to the pool at once.
  void Launch(const std::vector<std::string>& offer_ids, const std::vector<TaskSpec>& tasks);
  void Decline(const std::vector<std::string>& offer_ids,
               absl::Duration refuse = absl::Seconds(5));
  void Kill(const std::string& task_id);
  // Empty: every task the master knows of this framework.
  void Reconcile(const std::vector<std::string>& task_ids = {});
  void Suppress();
  void Revive();
  // Re-reads Scheduler::WantsOffers() and suppresses or revives to match.
  // Callbacks do this for you; call it when work arrives from elsewhere (a
  // timer, an API request posted to the loop).
  void WantsOffersChanged() { AfterCallback(); }

  // The framework's own API endpoint, announced when it subscribes. Call
  // before Run() (an API server on loop() may only know its port by then).
  void SetEndpoint(std::string endpoint, std::string cert_sha256 = "") {
    info_.endpoint = std::move(endpoint);
    info_.endpoint_cert_sha256 = std::move(cert_sha256);
  }

  const std::string& framework_id() const { return info_.framework_id; }
  bool subscribed() const { return subscribed_; }
  EventLoop& loop() { return loop_; }

 private:
  void Handle(wire::Envelope::Reader env);
  void Subscribe();
  void OnSubscribed(wire::Subscribed::Reader msg);
  void OnOffers(wire::Offers::Reader msg);
  void OnUpdate(wire::TaskStatus::Reader status);
  void OnError(uint64_t request_id, wire::Error::Reader error);
  void Heartbeat();
  void Resubscribe(absl::string_view why);
  void AfterCallback();
  // The turn's end: Checkpoint(), then the acknowledgements it made safe.
  void EndTurn();
  uint64_t NextRequestId() { return ++last_request_id_; }

  Scheduler& scheduler_;
  FrameworkInfo info_;
  const std::string master_address_;  // tcp://..., or zk://... to follow the leader
  SystemClock clock_;
  EventLoop loop_;
  zmq::context_t context_;
  std::unique_ptr<DealerSocket> master_;
  std::unique_ptr<LeaderFollower> master_follower_;  // with zk://
  bool subscribed_ = false;
  bool suppressed_ = false;
  bool fatal_ = false;
  uint64_t last_request_id_ = 0;
  uint64_t subscribe_request_ = 0;
  uint64_t teardown_request_ = 0;
  absl::Duration subscribe_backoff_ = absl::Seconds(1);
  absl::Duration heartbeat_interval_ = absl::Seconds(1);
  absl::Time last_master_contact_;
  EventLoop::TimerId subscribe_timer_ = 0;
  EventLoop::TimerId heartbeat_timer_ = 0;
  // Offers delivered in the current Offers() callback, not yet answered.
  absl::flat_hash_set<std::string> unanswered_offers_;
  struct PendingAck {
    std::string agent_id, task_id, uuid;
  };
  std::vector<PendingAck> pending_acks_;  // this turn's updates
  // Accept request id -> its tasks, until the master answers.
  absl::flat_hash_map<uint64_t, std::vector<TaskSpec>> pending_accepts_;
};

}  // namespace agora::sdk
