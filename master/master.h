// Master coordinates the cluster: it admits agents and tracks their health by
// heartbeat expiry, subscribes frameworks, offers free resources through the
// Allocator, validates and forwards launches and kills, relays status updates
// and their acknowledgements, and answers operator queries.
//
// It owns the records (agents, frameworks, offers, tasks), the heartbeat
// monitors and the allocator, and sends through an injected Transport, so it
// runs unchanged on a real ROUTER socket or in a unit test with a FakeClock.
// Every handler is a transaction on the master's single event loop; no locks.
// Input from the network never crashes it: bad messages are answered with an
// Error, counted in stats(), and change nothing else.
//
// The implementation is split by concern: master.cc (wiring, agents),
// master_frameworks.cc (subscription, offers, accept), master_tasks.cc
// (status updates, kills, reconciliation), master_operator.cc (queries).
#pragma once

#include <deque>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "capnp/agora.capnp.h"
#include "common/curve.h"
#include "common/event_loop.h"
#include "common/histogram.h"
#include "common/sockets.h"
#include "common/transport.h"
#include "master/allocator/allocator.h"
#include "master/heartbeat_monitor.h"
#include "master/held_transport.h"
#include "common/role_options.h"
#include "master/records.h"
#include "master/registry.h"

namespace agora::master {

struct MasterOptions {
  absl::Duration heartbeat_interval = absl::Seconds(1);
  absl::Duration heartbeat_timeout = absl::Seconds(5);
  absl::Duration agent_gone_timeout = absl::Minutes(10);
  absl::Duration allocation_interval = absl::Milliseconds(100);
  absl::Duration offer_timeout = absl::Seconds(30);
  absl::Duration default_refuse = absl::Seconds(5);
  // After a (re)start, explicit reconciliation does not call a task unknown
  // (lost) before agents had this long to re-register.
  absl::Duration agent_reregister_timeout = absl::Seconds(10);
  // After a (re)start, frameworks recovered from the registry have this long
  // to subscribe again before their own failover timeout starts: a master
  // restart never counts against a framework's failover timeout.
  absl::Duration framework_resubscribe_timeout = absl::Seconds(10);
  // Mass-expiry guard: at most this share of the registered agents (at least
  // one) may be declared unreachable within one heartbeat_timeout window.
  double max_unreachable_share = 0.5;
  uint64_t allocator_seed = 0;
  // Secured (CurveZMQ): every message comes from an authenticated principal,
  // one of these, and may only do what its kind and roles allow. Not
  // secured: anyone who can connect may do anything (development).
  bool secured = false;
  std::vector<CurvePrincipal> principals;  // the trusted and operator keys
  std::optional<CurveKeyPair> own_keys;     // secured: the master's; it signs HTTP tokens
  absl::Duration http_token_lifetime = absl::Minutes(5);
  RoleOptions roles;  // DRF weights and quota caps (--weights, --quota)
};

struct MasterStats {
  uint64_t messages = 0;
  uint64_t invalid_messages = 0;  // answered with an Error
  uint64_t agents_registered = 0;
  uint64_t agents_reregistered = 0;
  uint64_t agents_expired = 0;
  uint64_t expiries_deferred = 0;  // held back by the mass-expiry guard
  uint64_t frameworks_subscribed = 0;
  uint64_t offers_sent = 0;
  uint64_t offers_declined = 0;
  uint64_t offers_rescinded = 0;
  uint64_t tasks_launched = 0;
  uint64_t status_updates = 0;
  uint64_t usage_reports = 0;
  uint64_t usage_unknown_tasks = 0;
  uint64_t orphan_tasks_killed = 0;  // reported by agents for frameworks that are gone
  uint64_t permission_denied = 0;    // secured: a principal asked for what it may not do
  uint64_t allocation_passes = 0;
  uint64_t registry_commits = 0;
  absl::Duration last_allocation_time;
};

// How long the master's work takes, for /metrics (seconds, common/histogram.h).
struct MasterLatencies {
  Histogram offer_to_launch;    // an offer sent → a launch accepted on it
  Histogram launch_to_running;  // a launch accepted → its task's first RUNNING
  Histogram allocation_pass;
  Histogram registry_commit;    // a group commit started → durable
  // Handling one message, by its kind (`kind="accept"`).
  HistogramVec message{R"(kind="other")"};
};

class Master {
 public:
  // `registry` may be null (nothing persisted); it must outlive the master.
  Master(MasterOptions options, EventLoop& loop, Transport& transport,
         std::unique_ptr<Allocator> allocator, Registry* registry = nullptr);
  ~Master();

  // Recovers the registry (frameworks come back disconnected, with their
  // failover timeouts running again; agents are expected to re-register) and
  // starts the periodic timers.
  absl::Status Start();
  // Ends a loop turn: starts the commit of the registry writes made so far
  // (unless one is under way); the messages held behind them leave when it
  // is durable. A failed commit ends the process (as Mesos does): a restart
  // recovers from the last durable state.
  void EndTurn();
  // Handles one decoded message from `peer`, sent by `principal` (its
  // authenticated key's name; empty on an unsecured master). kj::Exceptions
  // from lazy capnp validation propagate to Decode(), which counts and drops
  // the frame.
  void Handle(const PeerId& peer, wire::Envelope::Reader env, const std::string& principal = "");
  // The transport's counters (handshakes refused, frames dropped), for the
  // operator queries; may stay unset.
  void set_transport_stats(const SocketStats* stats) { transport_stats_ = stats; }
  // Where its HTTP is served (and, secured, its certificate's fingerprint),
  // for `agora status` to say what is exposed and operators to reach it.
  void set_http_endpoint(std::string url, std::string cert_sha256 = "") {
    http_endpoint_ = std::move(url);
    http_cert_sha256_ = std::move(cert_sha256);
  }

  // How it came to lead, for `agora status`, /state and /metrics: elected
  // through ZooKeeper at `zk` (at `elected_at`), or alone (empty `zk`: it
  // leads from its start).
  struct Leadership {
    std::string zk;
    std::string node;  // its election node
    absl::Time elected_at = absl::InfinitePast();
  };
  void set_leadership(Leadership leadership) { leadership_ = std::move(leadership); }
  // Runs just before it exits because its registry cannot be written: a
  // master elected through ZooKeeper closes its session there, so that the
  // next one leads at once instead of after the session timeout.
  void set_before_exit(std::function<void()> hook) { before_exit_ = std::move(hook); }

  const MasterStats& stats() const { return stats_; }
  const absl::flat_hash_map<AgentId, AgentRecord>& agents() const { return agents_; }
  const absl::flat_hash_map<FrameworkId, FrameworkRecord>& frameworks() const {
    return frameworks_;
  }
  const absl::flat_hash_map<TaskKey, TaskRecord>& tasks() const { return tasks_; }
  const std::deque<TaskRecord>& completed_tasks() const { return completed_tasks_; }
  static constexpr size_t kMaxCompletedTasks = 1000;
  const absl::flat_hash_map<OfferId, OfferRecord>& offers() const { return offers_; }
  // JSON for the operator queries ("agents", "frameworks", "tasks", "offers",
  // "roles", "security", "version", "stats", "leader").
  absl::StatusOr<std::string> QueryJson(absl::string_view query) const;
  // master_metrics.cc: the HTTP /state body, and /metrics in the Prometheus
  // text format (with the transport's frame counters when given).
  std::string StateJson() const;
  std::string MetricsText(const SocketStats* transport) const;

  // A leader that lost ZooKeeper pauses until it knows whether it still
  // leads (master/master_election.h): what it sends waits, in order, no
  // agent or framework is declared silent and no timeout decides anything;
  // resumed, the messages go and every heartbeat deadline starts afresh (the
  // silence was its own).
  void SetPaused(bool paused);
  // False while paused and for a heartbeat interval after: expiries and
  // timeouts that come due then wait (tried again a heartbeat interval
  // later), so that none acts while the master is paused, nor before what
  // queued up meanwhile has been read.
  bool MayDecide() const;

  // Runs an allocation pass now and sends the offers (tests, timers).
  void AllocateNow();
  // Checks heartbeat deadlines now (tests, timers).
  void CheckHeartbeats();

 private:
  // master.cc: agents.
  // The agent of `hostname` that last registered from `peer` (a connection:
  // one agent process's, or many emulated agents'), unless it is gone or the
  // sender is not its principal.
  const AgentRecord* RegisteredFrom(const PeerId& peer, const std::string& hostname) const;
  // Handle() without timing it.
  void Dispatch(const PeerId& peer, wire::Envelope::Reader env, const std::string& principal);
  // The duration histogram of one kind of message.
  Histogram& MessageLatency(uint16_t kind);
  void OnRegisterAgent(const PeerId& peer, uint64_t request_id,
                       wire::RegisterAgent::Reader msg);
  void OnAgentHeartbeat(const PeerId& peer, wire::AgentHeartbeat::Reader msg);
  void ReconcileAgentTasks(AgentRecord& agent, capnp::List<wire::AgentTask>::Reader reported,
                           bool same_connection);
  // `since`: when it went silent (InfinitePast: now); it is gone
  // --agent_gone_timeout after that.
  void MarkAgentUnreachable(AgentRecord& agent, absl::Time since = absl::InfinitePast());
  void MarkAgentGone(const AgentId& id);
  void OnAgentError(const PeerId& peer, wire::Error::Reader msg);

  // master_frameworks.cc: frameworks and offers.
  // The framework of `name` and `role` that last subscribed from `peer` (a
  // connection), unless the sender is not its principal.
  const FrameworkRecord* SubscribedFrom(const PeerId& peer, const std::string& name,
                                        const std::string& role) const;
  void ForgetConnection(const FrameworkRecord& fw);  // out of framework_by_peer_
  void OnSubscribe(const PeerId& peer, uint64_t request_id, wire::Subscribe::Reader msg);
  void OnFrameworkHeartbeat(const PeerId& peer, uint64_t request_id,
                            wire::FrameworkHeartbeat::Reader msg);
  void OnAccept(const PeerId& peer, uint64_t request_id, wire::Accept::Reader msg);
  void OnDecline(const PeerId& peer, uint64_t request_id, wire::Decline::Reader msg);
  void OnSuppress(const PeerId& peer, uint64_t request_id, const FrameworkId& id);
  void OnRevive(const PeerId& peer, uint64_t request_id, const FrameworkId& id);
  void OnTeardown(const PeerId& peer, uint64_t request_id, const FrameworkId& id);
  void MarkFrameworkDisconnected(FrameworkRecord& fw);
  // Counts `id`'s failover timeout from now: it is removed at the end (at
  // once when the timeout is 0) unless it subscribes again.
  void StartFailoverTimeout(const FrameworkId& id);
  void OnFailoverTimeout(const FrameworkId& id);
  void RemoveFramework(const FrameworkId& id, absl::string_view why);
  // Validates a launch on the offers named; OK means every task was sent.
  absl::Status Launch(FrameworkRecord& fw, wire::Accept::Reader msg);
  void SendOffers(const std::vector<Allocation>& allocations);
  // Removes the offer and returns its resources to the allocator; tells the
  // framework when `notify` is set.
  void RemoveOffer(const OfferId& id, bool notify, absl::Time refuse_until = absl::InfinitePast());
  // Keeps one timer armed for the oldest offer's timeout (offers expire in
  // the order they were made: one timeout for all).
  void ScheduleOfferExpiry();
  void RequestAllocation();

  // master_tasks.cc: tasks.
  void OnStatusUpdate(const PeerId& peer, wire::StatusUpdate::Reader msg);
  // Keeps each task's latest usage and passes it on to its framework.
  void OnUsageReport(const PeerId& peer, wire::UsageReport::Reader msg);
  void OnAcknowledge(const PeerId& peer, uint64_t request_id, wire::Acknowledge::Reader msg);
  void OnKill(const PeerId& peer, uint64_t request_id, wire::KillTask::Reader msg);
  void OnReconcile(const PeerId& peer, uint64_t request_id, wire::Reconcile::Reader msg);
  // An implicit reconciliation (every task) answered: each task's state, then
  // OK. While agents of the registry have yet to re-register after a
  // (re)start, it waits for them (or their expiry): its OK means complete.
  void AnswerImplicitReconcile(const PeerId& peer, uint64_t request_id, const FrameworkRecord& fw);
  void AnswerParkedReconciles();
  void OnOperatorKill(const PeerId& peer, uint64_t request_id, wire::OperatorKill::Reader msg);
  // Maintenance (master_maintenance.cc).
  AgentRecord* FindAgent(const std::string& id_or_hostname);  // null if none or ambiguous
  void OnOperatorAgent(const PeerId& peer, uint64_t request_id, wire::OperatorAgent::Reader msg);
  void OnOperatorTeardown(const PeerId& peer, uint64_t request_id, const FrameworkId& id);
  void StartDrain(AgentRecord& agent, absl::Time deadline);
  void OnDrainDeadline(const AgentId& id);
  // A draining agent with no task left becomes drained.
  void MaybeDrained(AgentRecord& agent);
  // Applies a state change to the master's task record and frees the task's
  // resources when it became terminal.
  void UpdateTask(TaskRecord& task, const TaskStatus& status);
  // Sends a master-generated update (no uuid, no ack) to the framework.
  void SendMasterUpdate(const TaskRecord& task, TaskState state, absl::string_view message,
                        absl::string_view reason);
  void ForwardUpdate(const FrameworkRecord& fw, const TaskStatus& status);
  void SendKillToAgent(const TaskRecord& task);
  void ForgetTask(const TaskKey& key);
  void FreeTaskResources(const TaskRecord& task);

  // master_registry.cc: persistence.
  void Recover(const RegistryState& state);
  // After --agent_reregister_timeout: the registry's agents not back yet are
  // declared unreachable, through the mass-expiry guard (ExpireRecoveredAgent).
  void ExpireUnregisteredAgents();
  void ExpireRecoveredAgent(const AgentId& id);
  // kBeforeReplies holds this turn's outgoing messages until the write is
  // durable (a registration, a removal, `gone`: what peers must never see
  // undone by a crash). kLazy commits at the turn's end without holding
  // anything: an agent marked unreachable that a crash forgets is only
  // unreachable again after the restart, or re-registers, as after a
  // partition, so frameworks hear of it without waiting for the disk.
  enum class Durability { kBeforeReplies, kLazy };
  void PersistAgent(const AgentRecord& agent,
                    Durability durability = Durability::kBeforeReplies);
  void PersistFramework(const FrameworkRecord& fw, bool removed);

  // master_security.cc: on a secured master, whether the sender may send
  // `env`; answers permissionDenied (and counts it) when not.
  bool Permitted(const PeerId& peer, wire::Envelope::Reader env);
  absl::Status CheckAgentOwner(const std::string& agent_id) const;
  std::string SecurityJson() const;
  std::string LeadershipJson() const;  // master_operator.cc
  // master_http_access.cc: where a daemon's HTTP is, and a token for it.
  void OnHttpAccess(const PeerId& peer, uint64_t rid, const std::string& target);
  // master_roles.cc: weights and quotas, from the flags, the registry and
  // operators.
  void ApplyRoles();
  void RecoverRoles(const std::vector<RegistryRole>& roles);
  void OnOperatorRole(const PeerId& peer, uint64_t rid, wire::OperatorRole::Reader msg);
  std::string RolesJson() const;

  // Replies and lookups shared by the handlers.
  void SendOk(const PeerId& peer, uint64_t request_id);
  void SendError(const PeerId& peer, uint64_t request_id, wire::ErrorCode code,
                 absl::string_view message);
  // The framework `id` if `peer` is its current connection; else answers
  // with an Error and returns null.
  FrameworkRecord* AuthorizedFramework(const PeerId& peer, uint64_t request_id,
                                       const FrameworkId& id);
  AgentRecord* AgentFromPeer(const PeerId& peer, const AgentId& id);

  MasterOptions options_;
  absl::flat_hash_map<std::string, const CurvePrincipal*> principals_;  // by name
  // The principal of the message being handled (empty: unsecured).
  const CurvePrincipal* sender_ = nullptr;
  const SocketStats* transport_stats_ = nullptr;
  std::string http_endpoint_;
  std::string http_cert_sha256_;
  Leadership leadership_;
  std::function<void()> before_exit_;
  EventLoop& loop_;
  HeldTransport transport_;
  Registry* registry_;
  bool commit_in_flight_ = false;
  // Agents in the registry that have not re-registered since the restart.
  absl::flat_hash_map<AgentId, RegistryAgent> recovering_agents_;
  struct ParkedReconcile {
    PeerId peer;
    uint64_t request_id;
    FrameworkId framework_id;
  };
  std::vector<ParkedReconcile> parked_reconciles_;  // until recovering_agents_ is empty
  std::unique_ptr<Allocator> allocator_;
  HeartbeatMonitor agent_heartbeats_;
  HeartbeatMonitor framework_heartbeats_;
  absl::flat_hash_map<AgentId, AgentRecord> agents_;
  // Each agent and framework by its latest connection and its hostname or name.
  absl::flat_hash_map<std::pair<PeerId, std::string>, AgentId> agent_by_peer_;
  absl::flat_hash_map<std::pair<PeerId, std::string>, FrameworkId> framework_by_peer_;
  size_t gone_agents_ = 0;  // agents_ in state kGone (they stay, to refuse them)
  absl::flat_hash_map<FrameworkId, FrameworkRecord> frameworks_;
  absl::flat_hash_map<OfferId, OfferRecord> offers_;
  std::deque<std::pair<absl::Time, OfferId>> offer_expiries_;  // oldest first
  EventLoop::TimerId offer_expiry_timer_ = 0;
  absl::flat_hash_map<TaskKey, TaskRecord> tasks_;
  std::deque<TaskRecord> completed_tasks_;  // the latest kMaxCompletedTasks
  // Frameworks torn down or failed over for good: the master acknowledges
  // their tasks' updates so agents stop resending them.
  absl::flat_hash_set<FrameworkId> removed_frameworks_;
  std::vector<std::pair<AgentId, absl::Time>> deferred_expiries_;
  absl::Time started_at_;
  // Mass-expiry guard window.
  absl::Time expiry_window_start_ = absl::InfinitePast();
  int expiries_in_window_ = 0;
  bool allocation_scheduled_ = false;
  bool paused_ = false;
  absl::Time resumed_at_ = absl::InfinitePast();
  std::vector<EventLoop::TimerId> periodic_timers_;
  MasterStats stats_;
  MasterLatencies latencies_;
  std::vector<Histogram*> message_latency_;  // by wire::Envelope::Which, filled as kinds arrive
};

}  // namespace agora::master
