// The SchedulerDriver's works (agora/sdk/scheduler_driver.h says what it
// does): the loop, the socket to the master, subscription, heartbeats,
// acknowledgements. Internal to Agora: in-tree code that needs the loop
// itself (an HTTP API on it, signal watchers) reaches it through LoopOf().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "agora/sdk/scheduler_driver.h"
#include "common/clock.h"
#include "common/curve.h"
#include "common/event_loop.h"
#include "common/leader_detector.h"
#include "common/sockets.h"

namespace agora::sdk {

class DriverCore {
 public:
  // `self` is what callbacks are given.
  DriverCore(SchedulerDriver& self, Scheduler& scheduler, FrameworkInfo info, std::string master);
  ~DriverCore();

  // As SchedulerDriver's methods of the same names.
  int Run();
  void Stop(bool failover);
  void Launch(const std::vector<std::string>& offer_ids, const std::vector<TaskSpec>& tasks);
  void Decline(const std::vector<std::string>& offer_ids, absl::Duration refuse);
  void Kill(const std::string& task_id);
  void Reconcile(const std::vector<std::string>& task_ids) { SendReconcile(task_ids); }
  void Suppress();
  void Revive();
  void WantsOffersChanged() { AfterCallback(); }
  void SetEndpoint(std::string endpoint, std::string cert_sha256) {
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
  uint64_t SendReconcile(const std::vector<std::string>& task_ids);  // its request id
  void DeliverOffers(std::vector<Offer> offers);
  void OnReconciled();
  // The turn's end: Checkpoint(), then the acknowledgements it made safe.
  void EndTurn();
  uint64_t NextRequestId() { return ++last_request_id_; }

  SchedulerDriver& self_;
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
  uint64_t subscribe_request_ = 0;  // the latest attempt
  // Every attempt of this round of subscribing (retried with backoff until one
  // is answered): an answer to any of them is the answer.
  absl::flat_hash_set<uint64_t> subscribe_requests_;
  uint64_t teardown_request_ = 0;
  uint64_t reconcile_request_ = 0;  // the post-subscription one, until answered
  bool disconnected_ = false;       // Disconnected() said, Reconnected() not yet
  // Offers that came before reconciliation answered, kept for Reconciled().
  std::vector<Offer> held_offers_;
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
  // Tasks of accepts in flight when the master was lost: reported LOST after
  // the next reconciliation unless it reports them.
  absl::flat_hash_set<std::string> unconfirmed_launches_;
};


// The loop a driver runs on: for in-tree daemons that serve on it too.
EventLoop& LoopOf(SchedulerDriver& driver);

// The SDK's form of a CurveZMQ client's keys, and back.
std::optional<CurveKeys> ToCurveKeys(const std::optional<CurveClient>& client);
std::optional<CurveClient> ToCurveClient(const std::optional<CurveKeys>& keys);

}  // namespace agora::sdk
