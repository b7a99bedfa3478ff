#include "master/master.h"

#include <algorithm>
#include <cmath>

#include <capnp/message.h>
#include <capnp/schema.h>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/framing.h"
#include "common/log.h"
#include "common/wire_convert.h"

namespace agora::master {

absl::string_view AgentStateName(AgentState state) {
  static constexpr absl::string_view kNames[] = {"active", "unreachable", "gone", "draining",
                                                "drained"};
  return kNames[static_cast<int>(state)];
}

absl::string_view FrameworkStateName(FrameworkState state) {
  return state == FrameworkState::kActive ? "active" : "disconnected";
}

namespace {
// How often expiry is checked, and the deadline buckets' width: a silent
// agent is declared unreachable at most about twice this after its timeout.
absl::Duration ExpiryGranularity(absl::Duration timeout) {
  return std::clamp(timeout / 100, absl::Milliseconds(5), absl::Milliseconds(25));
}
}  // namespace

Master::Master(MasterOptions options, EventLoop& loop, Transport& transport,
               std::unique_ptr<Allocator> allocator, Registry* registry)
    : options_(options),
      loop_(loop),
      transport_(transport),
      registry_(registry),
      allocator_(std::move(allocator)),
      agent_heartbeats_(options.heartbeat_timeout, ExpiryGranularity(options.heartbeat_timeout)),
      framework_heartbeats_(options.heartbeat_timeout,
                            ExpiryGranularity(options.heartbeat_timeout)),
      started_at_(loop.Now()) {
  for (const CurvePrincipal& p : options_.principals) principals_[p.name] = &p;
}

Master::~Master() {
  loop_.SetTurnEndHook(nullptr);
  for (EventLoop::TimerId id : periodic_timers_) loop_.Cancel(id);
  loop_.Cancel(offer_expiry_timer_);
}

absl::Status Master::Start() {
  if (registry_ != nullptr) {
    auto state = registry_->Recover();
    if (!state.ok()) return state.status();
    Recover(*state);
  }
  ApplyRoles();
  loop_.SetTurnEndHook([this] { EndTurn(); });
  EndTurn();
  periodic_timers_.push_back(
      loop_.Every(options_.allocation_interval, [this] { AllocateNow(); }));
  periodic_timers_.push_back(loop_.Every(ExpiryGranularity(options_.heartbeat_timeout),
                                         [this] { CheckHeartbeats(); }));
  return absl::OkStatus();
}

void Master::Handle(const PeerId& peer, wire::Envelope::Reader env, const std::string& principal) {
  const absl::Time start = absl::Now();
  const uint16_t kind = static_cast<uint16_t>(env.which());
  Dispatch(peer, env, principal);
  MessageLatency(kind).Observe(absl::Now() - start);
}

Histogram& Master::MessageLatency(uint16_t kind) {
  if (kind < message_latency_.size() && message_latency_[kind] != nullptr) return *message_latency_[kind];
  KJ_IF_MAYBE(field, capnp::Schema::from<wire::Envelope>().getFieldByDiscriminant(kind)) {
    if (kind >= message_latency_.size()) message_latency_.resize(kind + 1, nullptr);
    message_latency_[kind] =
        &latencies_.message.For(absl::StrCat("kind=\"", field->getProto().getName().cStr(), "\""));
    return *message_latency_[kind];
  }
  return latencies_.message.For(R"(kind="unknown")");  // from a newer or hostile peer
}

void Master::Dispatch(const PeerId& peer, wire::Envelope::Reader env, const std::string& principal) {
  ++stats_.messages;
  if (options_.secured) {
    auto p = principals_.find(principal);
    sender_ = p == principals_.end() ? nullptr : p->second;
    if (!Permitted(peer, env)) return;
  }
  const uint64_t rid = env.getRequestId();
  switch (env.which()) {
    case wire::Envelope::REGISTER_AGENT:
      return OnRegisterAgent(peer, rid, env.getRegisterAgent());
    case wire::Envelope::AGENT_HEARTBEAT:
      return OnAgentHeartbeat(peer, env.getAgentHeartbeat());
    case wire::Envelope::STATUS_UPDATE:
      return OnStatusUpdate(peer, env.getStatusUpdate());
    case wire::Envelope::USAGE_REPORT:
      return OnUsageReport(peer, env.getUsageReport());
    case wire::Envelope::SUBSCRIBE:
      return OnSubscribe(peer, rid, env.getSubscribe());
    case wire::Envelope::FRAMEWORK_HEARTBEAT:
      return OnFrameworkHeartbeat(peer, rid, env.getFrameworkHeartbeat());
    case wire::Envelope::ACCEPT:
      return OnAccept(peer, rid, env.getAccept());
    case wire::Envelope::DECLINE:
      return OnDecline(peer, rid, env.getDecline());
    case wire::Envelope::SUPPRESS:
      return OnSuppress(peer, rid, env.getSuppress().getFrameworkId());
    case wire::Envelope::REVIVE:
      return OnRevive(peer, rid, env.getRevive().getFrameworkId());
    case wire::Envelope::TEARDOWN:
      return OnTeardown(peer, rid, env.getTeardown().getFrameworkId());
    case wire::Envelope::ACKNOWLEDGE:
      return OnAcknowledge(peer, rid, env.getAcknowledge());
    case wire::Envelope::KILL_TASK:
      return OnKill(peer, rid, env.getKillTask());
    case wire::Envelope::RECONCILE:
      return OnReconcile(peer, rid, env.getReconcile());
    case wire::Envelope::OPERATOR_KILL:
      return OnOperatorKill(peer, rid, env.getOperatorKill());
    case wire::Envelope::OPERATOR_AGENT:
      return OnOperatorAgent(peer, rid, env.getOperatorAgent());
    case wire::Envelope::OPERATOR_TEARDOWN:
      return OnOperatorTeardown(peer, rid, env.getOperatorTeardown().getFrameworkId());
    case wire::Envelope::OPERATOR_ROLE:
      return OnOperatorRole(peer, rid, env.getOperatorRole());
    case wire::Envelope::ERROR:
      return OnAgentError(peer, env.getError());
    case wire::Envelope::HTTP_ACCESS_REQUEST:
      return OnHttpAccess(peer, rid, env.getHttpAccessRequest().getTarget());
    case wire::Envelope::OPERATOR_QUERY: {
      auto json = QueryJson(env.getOperatorQuery().getQuery().cStr());
      if (!json.ok()) {
        return SendError(peer, rid, wire::ErrorCode::INVALID_ARGUMENT, json.status().message());
      }
      WireMessage msg;
      NewEnvelope(msg, rid).initOperatorReply().setJson(*json);
      transport_.Send(peer, msg);
      return;
    }
    default:
      return SendError(peer, rid, wire::ErrorCode::INVALID_ARGUMENT,
                       absl::StrCat("message kind ", static_cast<int>(env.which()),
                                    " is not accepted by the master"));
  }
}

void Master::SendOk(const PeerId& peer, uint64_t request_id) {
  if (request_id == 0) return;
  WireMessage msg;
  NewEnvelope(msg, request_id).initOk();
  transport_.Send(peer, msg);
}

void Master::SendError(const PeerId& peer, uint64_t request_id, wire::ErrorCode code,
                       absl::string_view message) {
  ++stats_.invalid_messages;
  AGORA_LOG(WARNING, "master") << "rejected: " << message;
  WireMessage msg;
  auto error = NewEnvelope(msg, request_id).initError();
  error.setCode(code);
  error.setMessage(std::string(message));
  transport_.Send(peer, msg);
}

// ---- agents ----------------------------------------------------------------

namespace {

// What an agent says of itself is shown to every framework and matched by
// their constraints: bounded, printable, finite.
absl::Status ValidateAgentDescription(const std::string& hostname, wire::RegisterAgent::Reader msg) {
  // Sized views: a Text may hold a NUL, which a C string would end at.
  auto printable = [](absl::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; });
  };
  if (hostname.empty() || hostname.size() > 253 || !printable(hostname)) {
    return absl::InvalidArgumentError("hostname must be 1 to 253 printable characters");
  }
  if (msg.getAttributes().size() > 64) return absl::InvalidArgumentError("more than 64 attributes");
  for (auto kv : msg.getAttributes()) {
    if (kv.getKey().size() == 0 || kv.getKey().size() > 128 || kv.getValue().size() > 256 ||
        !printable(absl::string_view(kv.getKey().begin(), kv.getKey().size())) ||
        !printable(absl::string_view(kv.getValue().begin(), kv.getValue().size()))) {
      return absl::InvalidArgumentError(
          "attribute keys must be 1 to 128 and values at most 256 printable characters");
    }
  }
  return CheckWireResources(msg.getResources(), "resources");
}

}  // namespace

void Master::OnRegisterAgent(const PeerId& peer, uint64_t rid, wire::RegisterAgent::Reader msg) {
  const std::string hostname = msg.getHostname();
  const Resources total = FromWire(msg.getResources());
  if (absl::Status s = ValidateAgentDescription(hostname, msg); !s.ok()) {
    return SendError(peer, rid, wire::ErrorCode::INVALID_ARGUMENT,
                     absl::StrCat("register agent: ", s.message()));
  }
  if (!total.HasScalars()) {
    return SendError(peer, rid, wire::ErrorCode::INVALID_ARGUMENT,
                     "register agent: the agent has no cpus, mem or disk to offer");
  }
  AgentId id = msg.getAgentId();
  if (!id.empty()) {
    if (absl::Status s = ValidatePathSafeId("agent id", id); !s.ok()) {
      return SendError(peer, rid, wire::ErrorCode::INVALID_ARGUMENT, s.message());
    }
    auto known = agents_.find(id);
    if (known != agents_.end() && known->second.state == AgentState::kGone) {
      return SendError(peer, rid, wire::ErrorCode::AGENT_GONE,
                       absl::StrCat("agent ", id,
                                    " was declared gone; it must register anew with a clean "
                                    "work dir"));
    }
  } else if (const AgentRecord* again = RegisteredFrom(peer, hostname)) {
    // The same agent process asking again before it heard its id (the
    // answer held for the registry, or sent by a master elected meanwhile).
    id = again->id;
  } else {
    id = NewId("a");
  }

  auto [it, inserted] = agents_.try_emplace(id);
  AgentRecord& agent = it->second;
  if (auto was = agent_by_peer_.find({agent.peer, agent.hostname});
      was != agent_by_peer_.end() && was->second == id) {
    agent_by_peer_.erase(was);
  }
  agent_by_peer_[{peer, hostname}] = id;
  if (!inserted) {
    // Re-registration: start from a clean slate for offers and allocation;
    // the reported tasks rebuild the rest.
    std::vector<OfferId> offers(agent.offers.begin(), agent.offers.end());
    for (const OfferId& o : offers) RemoveOffer(o, /*notify=*/true);
    allocator_->RemoveAgent(id);
    if (agent.gone_timer != 0) loop_.Cancel(agent.gone_timer);
    agent.gone_timer = 0;
    ++stats_.agents_reregistered;
  } else {
    agent.registered_at = loop_.Now();
    ++stats_.agents_registered;
  }
  agent.id = id;
  agent.hostname = hostname;
  agent.attributes = FromWire(msg.getAttributes());
  agent.total = total;
  // Launches sent to another connection (an agent process since restarted)
  // are lost unless the agent reports them; on this one they may be on their way.
  const bool same_connection = !inserted && agent.peer == peer;
  agent.peer = peer;
  agent.limits_enforced = msg.getLimitsEnforced();
  agent.cgroup_version = msg.getCgroupVersion();
  agent.http_endpoint = msg.getHttpEndpoint();
  agent.http_cert_sha256 = msg.getHttpCertSha256();
  agent.address = msg.getAddress();
  if (sender_ != nullptr) agent.principal = sender_->name;
  agent.state = AgentState::kActive;
  allocator_->AddAgent(id, total);
  if (auto r = recovering_agents_.find(id); r != recovering_agents_.end()) {
    // Drained or draining before the master restarted: still so.
    if (r->second.state == RegistryAgent::State::kDrained) agent.drain_deadline = absl::InfiniteFuture();
    if (r->second.state == RegistryAgent::State::kDraining) {
      agent.drain_deadline =
          r->second.since > loop_.Now() + absl::Hours(24 * 365 * 100) ? absl::InfiniteFuture() : r->second.since;
    }
    recovering_agents_.erase(r);
  }
  PersistAgent(agent);
  ReconcileAgentTasks(agent, msg.getTasks(), same_connection);
  AnswerParkedReconciles();  // after its tasks are known again
  if (agent.drain_deadline != absl::InfinitePast()) StartDrain(agent, agent.drain_deadline);
  agent_heartbeats_.Beat(id, loop_.Now());

  WireMessage reply;
  auto registered = NewEnvelope(reply, rid).initAgentRegistered();
  registered.setAgentId(id);
  registered.setHeartbeatIntervalMs(
      static_cast<uint32_t>(absl::ToInt64Milliseconds(options_.heartbeat_interval)));
  transport_.Send(peer, reply);
  AGORA_LOG(INFO, "master").With("agent", id)
      << (inserted ? "registered" : "re-registered") << " agent " << id << " (" << hostname << ") with "
      << total.ToString() << " and " << agent.tasks.size() << " tasks";
  RequestAllocation();
}

const AgentRecord* Master::RegisteredFrom(const PeerId& peer, const std::string& hostname) const {
  auto it = agent_by_peer_.find({peer, hostname});
  if (it == agent_by_peer_.end()) return nullptr;
  auto agent = agents_.find(it->second);
  const std::string principal = sender_ != nullptr ? sender_->name : std::string();
  if (agent == agents_.end() || agent->second.peer != peer || agent->second.hostname != hostname ||
      agent->second.state == AgentState::kGone || agent->second.principal != principal) {
    return nullptr;
  }
  return &agent->second;
}

void Master::ReconcileAgentTasks(AgentRecord& agent, capnp::List<wire::AgentTask>::Reader reported,
                                 bool same_connection) {
  absl::flat_hash_set<TaskKey> seen;
  agent.used = Resources();
  for (auto t : reported) {
    TaskSpec spec = FromWire(t.getSpec());
    TaskKey key{t.getFrameworkId(), spec.task_id};
    if (key.framework_id.empty() || key.task_id.empty()) continue;
    TaskState state = FromWire(t.getState());
    auto [it, inserted] = tasks_.try_emplace(key);
    TaskRecord& task = it->second;
    if (!inserted && task.agent_id != agent.id) {
      AGORA_LOG(WARNING, "master")
              .With("agent", agent.id)
              .With("task", key.task_id)
              .With("framework", key.framework_id)
          << "agent " << agent.id << " reports task " << key.task_id << " that runs on agent "
          << task.agent_id << "; ignored";
      continue;
    }
    const TaskState before = inserted ? TaskState::kStaging : task.state;
    if (inserted) {
      task.spec = std::move(spec);
      task.framework_id = key.framework_id;
      task.agent_id = agent.id;
      task.launched_at = loop_.Now();
    }
    task.state = state;
    task.updated_at = loop_.Now();
    seen.insert(key);
    auto fw = frameworks_.find(key.framework_id);
    if (fw != frameworks_.end()) {
      fw->second.tasks.insert(key.task_id);
    } else if (!IsTerminal(state) &&
               (registry_ != nullptr || removed_frameworks_.contains(key.framework_id))) {
      // An orphan: its framework was removed (torn down, failed over for
      // good) while this agent was away, or is unknown to the registry,
      // which holds every framework that ever subscribed (without one, an
      // unknown framework may still subscribe again). Nobody will claim it:
      // kill it, and acknowledge its updates for the missing framework.
      removed_frameworks_.insert(key.framework_id);
      task.kill_requested = true;
      ++stats_.orphan_tasks_killed;
      AGORA_LOG(WARNING, "master")
              .With("agent", agent.id)
              .With("task", key.task_id)
              .With("framework", key.framework_id)
          << "agent " << agent.id << " runs task " << key.task_id << " of framework " << key.framework_id
          << ", which is gone: killing it";
    }
    if (IsTerminal(state)) continue;  // the agent still resends its final update
    agent.used += task.spec.resources;
    allocator_->AddAllocation(key.framework_id, agent.id, task.spec.resources);
    if (before == TaskState::kUnreachable) {
      SendMasterUpdate(task, state, "agent re-registered; task still running",
                       "agent_reregistered");
    }
    if (task.kill_requested) SendKillToAgent(task);
  }
  // Tasks the master placed here that the agent no longer has.
  std::vector<TaskKey> missing;
  for (const TaskKey& key : agent.tasks) {
    if (!seen.contains(key)) missing.push_back(key);
  }
  agent.tasks = std::move(seen);
  for (const TaskKey& key : missing) {
    auto it = tasks_.find(key);
    if (it == tasks_.end()) continue;
    it->second.agent_id = agent.id;
    if (!IsTerminal(it->second.state)) {
      // STAGING tasks may still be on their way (RunTask not yet handled), on
      // the same connection only: sent to an agent process that has died
      // since, they are lost.
      if (same_connection && it->second.state == TaskState::kStaging &&
          loop_.Now() - it->second.launched_at < options_.heartbeat_timeout) {
        agent.tasks.insert(key);
        agent.used += it->second.spec.resources;
        allocator_->AddAllocation(key.framework_id, agent.id, it->second.spec.resources);
        continue;
      }
      it->second.state = TaskState::kLost;
      SendMasterUpdate(it->second, TaskState::kLost,
                       "the agent re-registered without this task", "agent_restarted");
    }
    ForgetTask(key);
  }
}

void Master::OnAgentHeartbeat(const PeerId& peer, wire::AgentHeartbeat::Reader msg) {
  const AgentId id = msg.getAgentId();
  auto it = agents_.find(id);
  if (it != agents_.end() && it->second.state == AgentState::kGone) {
    return SendError(peer, 0, wire::ErrorCode::AGENT_GONE,
                     absl::StrCat("agent ", id, " was declared gone"));
  }
  if (it == agents_.end() || it->second.state == AgentState::kUnreachable) {
    // Unknown (the master restarted) or back from a partition: ask for a
    // full re-registration with its tasks.
    WireMessage msg_out;
    NewEnvelope(msg_out).initReregisterAgent().setAgentId(id);
    transport_.Send(peer, msg_out);
    return;
  }
  it->second.peer = peer;  // the connection may have been re-established
  const std::string checkpoint_error = msg.getCheckpointError();
  if (checkpoint_error != it->second.checkpoint_error && !checkpoint_error.empty()) {
    AGORA_LOG(WARNING, "master").With("agent", id)
        << "agent " << id << " cannot checkpoint: " << checkpoint_error;
  }
  it->second.checkpoint_error = checkpoint_error.substr(0, 1024);
  agent_heartbeats_.Beat(id, loop_.Now());
}

void Master::OnAgentError(const PeerId& peer, wire::Error::Reader msg) {
  ++stats_.invalid_messages;
  AGORA_LOG(WARNING, "master") << "a peer reported an error: " << msg.getMessage().cStr();
}

void Master::SetPaused(bool paused) {
  if (paused == paused_) return;
  paused_ = paused;
  if (paused) return transport_.Pause();
  const absl::Time now = loop_.Now();
  resumed_at_ = now;
  for (const auto& [id, agent] : agents_) {
    if (agent_heartbeats_.Watching(id)) agent_heartbeats_.Beat(id, now);
  }
  for (const auto& [id, fw] : frameworks_) {
    if (framework_heartbeats_.Watching(id)) framework_heartbeats_.Beat(id, now);
  }
  transport_.Resume();
}

bool Master::MayDecide() const {
  return !paused_ && loop_.Now() - resumed_at_ >= options_.heartbeat_interval;
}

void Master::CheckHeartbeats() {
  if (!MayDecide()) return;
  const absl::Time now = loop_.Now();
  if (now - expiry_window_start_ >= options_.heartbeat_timeout) {
    expiry_window_start_ = now;
    expiries_in_window_ = 0;
  }
  const size_t registered = agents_.size() - gone_agents_ + recovering_agents_.size();
  const int limit = std::max(
      1, static_cast<int>(std::floor(options_.max_unreachable_share * double(registered))));

  std::vector<AgentId> candidates;
  for (auto& [id, since] : deferred_expiries_) candidates.push_back(id);
  deferred_expiries_.clear();
  for (std::string& id : agent_heartbeats_.Expire(now)) candidates.push_back(std::move(id));
  for (const AgentId& id : candidates) {
    auto it = agents_.find(id);
    const bool recovered = it == agents_.end() && recovering_agents_.contains(id);
    if (!recovered) {
      if (it == agents_.end() || agent_heartbeats_.Watching(id)) continue;  // beat again
      if (it->second.state == AgentState::kUnreachable || it->second.state == AgentState::kGone) continue;
    }
    if (expiries_in_window_ >= limit) {
      ++stats_.expiries_deferred;
      deferred_expiries_.emplace_back(id, now);
      continue;
    }
    ++expiries_in_window_;
    if (recovered) {
      ExpireRecoveredAgent(id);  // known before the restart, not back since
    } else {
      MarkAgentUnreachable(it->second);
    }
  }
  if (!deferred_expiries_.empty()) {
    AGORA_LOG(WARNING, "master") << deferred_expiries_.size()
                                 << " silent agents held back by the mass-expiry guard";
  }

  for (const std::string& id : framework_heartbeats_.Expire(now)) {
    auto it = frameworks_.find(id);
    if (it != frameworks_.end() && it->second.state == FrameworkState::kActive) {
      MarkFrameworkDisconnected(it->second);
    }
  }
}

void Master::MarkAgentUnreachable(AgentRecord& agent, absl::Time since) {
  if (since == absl::InfinitePast()) since = loop_.Now();
  ++stats_.agents_expired;
  AGORA_LOG(WARNING, "master").With("agent", agent.id)
      << "agent " << agent.id << " (" << agent.hostname << ") is unreachable: no heartbeat for "
      << options_.heartbeat_timeout;
  agent.state = AgentState::kUnreachable;
  agent.unreachable_since = since;
  PersistAgent(agent, Durability::kLazy);
  std::vector<OfferId> offers(agent.offers.begin(), agent.offers.end());
  for (const OfferId& o : offers) RemoveOffer(o, /*notify=*/true);
  allocator_->RemoveAgent(agent.id);
  const std::string message = absl::StrCat("agent ", agent.id, " (", agent.hostname,
                                           ") missed heartbeats for ",
                                           absl::FormatDuration(options_.heartbeat_timeout));
  for (const TaskKey& key : agent.tasks) {
    auto it = tasks_.find(key);
    if (it == tasks_.end() || IsTerminal(it->second.state)) continue;
    it->second.state = TaskState::kUnreachable;
    it->second.updated_at = loop_.Now();
    SendMasterUpdate(it->second, TaskState::kUnreachable, message, "agent_unreachable");
  }
  for (auto& [id, fw] : frameworks_) {
    if (fw.state != FrameworkState::kActive) continue;
    WireMessage msg;
    NewEnvelope(msg).initAgentLost().setAgentId(agent.id);
    transport_.Send(fw.peer, msg);
  }
  const AgentId id = agent.id;
  const absl::Duration left =
      std::max(absl::ZeroDuration(), options_.agent_gone_timeout - (loop_.Now() - since));
  agent.gone_timer = loop_.After(left, [this, id] { MarkAgentGone(id); });
}

void Master::MarkAgentGone(const AgentId& id) {
  auto it = agents_.find(id);
  if (it == agents_.end() || it->second.state != AgentState::kUnreachable) return;
  AgentRecord& agent = it->second;
  if (!MayDecide()) {
    agent.gone_timer = loop_.After(options_.heartbeat_interval, [this, id] { MarkAgentGone(id); });
    return;
  }
  agent.state = AgentState::kGone;
  ++gone_agents_;
  agent.gone_timer = 0;
  PersistAgent(agent);
  agent_heartbeats_.Forget(id);
  std::vector<TaskKey> keys(agent.tasks.begin(), agent.tasks.end());
  for (const TaskKey& key : keys) {
    auto t = tasks_.find(key);
    if (t == tasks_.end()) continue;
    if (!IsTerminal(t->second.state)) {
      t->second.state = TaskState::kGone;
      SendMasterUpdate(t->second, TaskState::kGone, "the agent was declared gone", "agent_gone");
    }
    ForgetTask(key);
  }
  agent.used = Resources();
  AGORA_LOG(WARNING, "master").With("agent", id) << "agent " << id << " is gone";
}

AgentRecord* Master::AgentFromPeer(const PeerId& peer, const AgentId& id) {
  auto it = agents_.find(id);
  if (it == agents_.end() || it->second.state == AgentState::kGone) return nullptr;
  return &it->second;
}

}  // namespace agora::master
