#include "frameworks/sdk/driver_core.h"

#include <capnp/message.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/framing.h"
#include "common/leader_detector.h"
#include "common/log.h"
#include "common/wire_convert.h"

namespace agora::sdk {

DriverCore::DriverCore(SchedulerDriver& self, Scheduler& scheduler, FrameworkInfo info, std::string master)
    : self_(self), scheduler_(scheduler), info_(std::move(info)), master_address_(std::move(master)), loop_(clock_) {
  master_ = std::make_unique<DealerSocket>(
      context_, IsZkUrl(master_address_) ? "" : master_address_, loop_,
      [this](wire::Envelope::Reader env) { Handle(env); }, /*routing_id=*/"", ToCurveClient(info_.curve));
  master_->OnHandshakeFailed([this](const HandshakeFailure& f) {
    if (!f.refused || subscribed_) return;  // a master restarting: it retries
    // The master does not trust this framework's key: retrying cannot help.
    fatal_ = true;
    scheduler_.Error(self_, absl::StrCat("the master at ", master_->endpoint(),
                                         " refused this framework's key: is its .pub file in the "
                                         "master's trusted keys?"));
    loop_.Stop();
  });
  loop_.SetTurnEndHook([this] { EndTurn(); });
}

DriverCore::~DriverCore() {
  master_follower_.reset();
  master_.reset();  // before the context
}

int DriverCore::Run() {
  // With zk://, each newly elected master hears from this framework at once.
  auto follower = FollowMaster(loop_, master_address_, *master_,
                               [this] { Resubscribe("another master was elected"); });
  if (!follower.ok()) {
    scheduler_.Error(self_, std::string(follower.status().message()));
    return 1;
  }
  master_follower_ = *std::move(follower);
  last_master_contact_ = loop_.Now();
  Subscribe();
  loop_.Run();
  return fatal_ ? 1 : 0;
}

void DriverCore::Stop(bool failover) {
  loop_.Post([this, failover] {
    if (failover || !subscribed_) return loop_.Stop();
    WireMessage msg;
    teardown_request_ = NextRequestId();
    NewEnvelope(msg, teardown_request_).initTeardown().setFrameworkId(info_.framework_id);
    master_->Send(msg);
    loop_.After(absl::Seconds(2), [this] { loop_.Stop(); });  // the answer may not come
  });
}

void DriverCore::Subscribe() {
  WireMessage msg;
  subscribe_request_ = NextRequestId();
  subscribe_requests_.insert(subscribe_request_);
  auto sub = NewEnvelope(msg, subscribe_request_).initSubscribe();
  sub.setFrameworkId(info_.framework_id);
  sub.setName(info_.name);
  sub.setRole(info_.role);
  sub.setFailoverTimeoutMs(static_cast<uint64_t>(absl::ToInt64Milliseconds(info_.failover_timeout)));
  sub.setEndpoint(info_.endpoint);
  sub.setEndpointCertSha256(info_.endpoint_cert_sha256);
  master_->Send(msg);
  loop_.Cancel(subscribe_timer_);
  subscribe_timer_ = loop_.After(subscribe_backoff_, [this] {
    subscribe_timer_ = 0;
    subscribe_backoff_ = std::min(subscribe_backoff_ * 2, absl::Seconds(15));
    Subscribe();
  });
}

void DriverCore::Resubscribe(absl::string_view why) {
  AGORA_LOG(WARNING, "sdk") << "re-subscribing: " << why;
  const bool was_subscribed = subscribed_;
  subscribed_ = false;
  subscribe_requests_.clear();
  reconcile_request_ = 0;
  held_offers_.clear();  // the lost master's offers are void
  unanswered_offers_.clear();
  for (const auto& [rid, tasks] : pending_accepts_) {
    for (const TaskSpec& t : tasks) unconfirmed_launches_.insert(t.task_id);
  }
  pending_accepts_.clear();
  loop_.Cancel(heartbeat_timer_);
  heartbeat_timer_ = 0;
  subscribe_backoff_ = absl::Seconds(1);
  last_master_contact_ = loop_.Now();
  Subscribe();
  if (was_subscribed && !disconnected_) {
    disconnected_ = true;
    scheduler_.Disconnected(self_, std::string(why));
  }
}

void DriverCore::Handle(wire::Envelope::Reader env) {
  last_master_contact_ = loop_.Now();
  const uint64_t rid = env.getRequestId();
  switch (env.which()) {
    case wire::Envelope::SUBSCRIBED:
      if (subscribe_requests_.contains(rid)) OnSubscribed(env.getSubscribed());
      return;
    case wire::Envelope::OFFERS:
      return OnOffers(env.getOffers());
    case wire::Envelope::AGENT_DRAINING: {
      const int64_t ms = env.getAgentDraining().getDeadlineUnixMs();
      return scheduler_.AgentDraining(self_, env.getAgentDraining().getAgentId(),
                                      ms == 0 ? absl::InfiniteFuture() : absl::FromUnixMillis(ms));
    }
    case wire::Envelope::USAGE_REPORT: {
      std::vector<TaskUsage> usages;
      for (auto u : env.getUsageReport().getUsages()) {
        usages.push_back({u.getFrameworkId(), u.getTaskId(), u.getCpusUsed(), u.getMemBytes()});
      }
      return scheduler_.Usage(self_, usages);
    }
    case wire::Envelope::RESCIND_OFFER: {
      const std::string id = env.getRescindOffer().getOfferId();
      // One still held was never seen: it just goes.
      auto held = std::find_if(held_offers_.begin(), held_offers_.end(), [&](const Offer& o) { return o.id == id; });
      if (held != held_offers_.end()) return void(held_offers_.erase(held));
      scheduler_.OfferRescinded(self_, id);
      return AfterCallback();
    }
    case wire::Envelope::STATUS_UPDATE:
      return OnUpdate(env.getStatusUpdate().getStatus());
    case wire::Envelope::AGENT_LOST:
      scheduler_.AgentLost(self_, env.getAgentLost().getAgentId());
      return AfterCallback();
    case wire::Envelope::OK:
      pending_accepts_.erase(rid);
      if (rid != 0 && rid == teardown_request_) loop_.Stop();
      if (rid != 0 && rid == reconcile_request_) OnReconciled();
      return;
    case wire::Envelope::ERROR:
      return OnError(rid, env.getError());
    default:
      AGORA_LOG(WARNING, "sdk") << "unexpected message kind " << static_cast<int>(env.which());
  }
}

void DriverCore::OnSubscribed(wire::Subscribed::Reader msg) {
  subscribe_requests_.clear();  // answers to this round's other attempts are stale
  info_.framework_id = msg.getFrameworkId();
  subscribed_ = true;
  suppressed_ = false;  // a (re)subscription revives; AfterCallback re-suppresses
  loop_.Cancel(subscribe_timer_);
  subscribe_timer_ = 0;
  subscribe_backoff_ = absl::Seconds(1);
  heartbeat_interval_ = absl::Milliseconds(std::max<uint32_t>(msg.getHeartbeatIntervalMs(), 10));
  loop_.Cancel(heartbeat_timer_);
  heartbeat_timer_ = loop_.Every(heartbeat_interval_, [this] { Heartbeat(); });
  AGORA_LOG(INFO, "sdk") << "subscribed as " << info_.framework_id;
  // Every task; the master answers after the last one's state, in order.
  reconcile_request_ = SendReconcile({});
  scheduler_.Subscribed(self_, info_.framework_id);
  if (disconnected_) {
    disconnected_ = false;
    scheduler_.Reconnected(self_);
  }
  AfterCallback();
}

void DriverCore::OnReconciled() {
  reconcile_request_ = 0;
  // Launched as the master was lost, and unknown to the one that answered:
  // they never ran (a task that reached its agent is reported by it).
  for (const std::string& id : std::exchange(unconfirmed_launches_, {})) {
    TaskStatus status;
    status.task_id = id;
    status.framework_id = info_.framework_id;
    status.state = TaskState::kLost;
    status.message = "launched as the master was lost; the master knows no such task";
    status.reason = "master_lost";
    status.timestamp = loop_.Now();
    scheduler_.Update(self_, status);
  }
  scheduler_.Reconciled(self_);
  if (!held_offers_.empty()) return DeliverOffers(std::exchange(held_offers_, {}));
  AfterCallback();
}

void DriverCore::Heartbeat() {
  // A master that stopped answering is presumed dead or cut off: open a new
  // connection and subscribe again.
  if (loop_.Now() - last_master_contact_ > 5 * heartbeat_interval_) {
    master_->Reconnect();
    return Resubscribe("the master stopped answering");
  }
  WireMessage msg;
  NewEnvelope(msg, NextRequestId()).initFrameworkHeartbeat().setFrameworkId(info_.framework_id);
  master_->Send(msg);
}

void DriverCore::OnOffers(wire::Offers::Reader msg) {
  std::vector<Offer> offers;
  for (auto o : msg.getOffers()) {
    offers.push_back({o.getOfferId(), o.getAgentId(), o.getHostname(), FromWire(o.getAttributes()),
                      FromWire(o.getResources()), o.getAddress()});
  }
  if (!subscribed_) return;  // a lost master's: void
  if (reconcile_request_ != 0) {  // not before Reconciled()
    held_offers_.insert(held_offers_.end(), offers.begin(), offers.end());
    return;
  }
  DeliverOffers(std::move(offers));
}

void DriverCore::DeliverOffers(std::vector<Offer> offers) {
  for (const Offer& o : offers) unanswered_offers_.insert(o.id);
  scheduler_.Offers(self_, offers);
  if (!unanswered_offers_.empty()) {
    std::vector<std::string> left(unanswered_offers_.begin(), unanswered_offers_.end());
    Decline(left, kDefaultRefusal);
  }
  AfterCallback();
}

void DriverCore::OnUpdate(wire::TaskStatus::Reader wire_status) {
  TaskStatus status = FromWire(wire_status);
  unconfirmed_launches_.erase(status.task_id);
  scheduler_.Update(self_, status);
  if (!status.uuid.empty()) {
    pending_acks_.push_back({status.agent_id, status.task_id, status.uuid});
  }
  AfterCallback();
}

void DriverCore::EndTurn() {
  scheduler_.Checkpoint(self_);
  if (!subscribed_) {
    pending_acks_.clear();  // unacknowledged updates come again after resubscribing
    return;
  }
  for (const PendingAck& a : pending_acks_) {
    WireMessage msg;
    auto ack = NewEnvelope(msg, NextRequestId()).initAcknowledge();
    ack.setFrameworkId(info_.framework_id);
    ack.setAgentId(a.agent_id);
    ack.setTaskId(a.task_id);
    ack.setUuid(a.uuid);
    master_->Send(msg);
  }
  pending_acks_.clear();
}

void DriverCore::OnError(uint64_t rid, wire::Error::Reader error) {
  const std::string message = error.getMessage();
  const auto code = error.getCode();
  if (code == wire::ErrorCode::NOT_LEADER) {
    // A standby: following zk://, this master may have been elected since
    // (clients can hear of it first), so subscribing is retried shortly;
    // given one master's endpoint, it is retried there with backoff.
    AGORA_LOG(WARNING, "sdk") << master_->endpoint() << ": " << message;
    if (!subscribed_ && master_follower_) {
      loop_.Cancel(subscribe_timer_);
      subscribe_timer_ = loop_.After(absl::Milliseconds(200), [this] {
        subscribe_timer_ = 0;
        Subscribe();
      });
    }
    return;
  }
  if (code == wire::ErrorCode::UNKNOWN_FRAMEWORK && !subscribe_requests_.contains(rid)) {
    // A request of this subscription: the master restarted and lost us. One
    // of an earlier one (sent before a re-subscription): already handled.
    if (subscribed_ && rid > subscribe_request_) return Resubscribe(message);
    AGORA_LOG(INFO, "sdk") << "while re-subscribing: " << message;
    return;
  }
  if (rid != 0 && rid == reconcile_request_) {
    // No answer is coming: offers are not held hostage to it.
    AGORA_LOG(WARNING, "sdk") << "reconciliation refused: " << message;
    OnReconciled();
  }
  if (subscribe_requests_.contains(rid)) {
    // The master refused the subscription itself (any of this round's
    // attempts, the answer to the first may come after the second is sent):
    // retrying cannot help.
    AGORA_LOG(ERROR, "sdk") << "subscription refused: " << message;
    fatal_ = true;
    scheduler_.Error(self_, message);
    loop_.Stop();
    return;
  }
  auto accept = pending_accepts_.find(rid);
  if (accept != pending_accepts_.end()) {
    std::vector<TaskSpec> tasks = std::move(accept->second);
    pending_accepts_.erase(accept);
    for (const TaskSpec& t : tasks) {
      TaskStatus status;
      status.task_id = t.task_id;
      status.framework_id = info_.framework_id;
      status.state = TaskState::kError;
      status.message = message;
      status.reason = "accept_rejected";
      status.timestamp = loop_.Now();
      scheduler_.Update(self_, status);
    }
    return AfterCallback();
  }
  scheduler_.Error(self_, message);
  AfterCallback();
}

void DriverCore::AfterCallback() {
  if (!subscribed_) return;
  const bool wants = scheduler_.WantsOffers();
  if (!wants && !suppressed_) Suppress();
  if (wants && suppressed_) Revive();
}

void DriverCore::Launch(const std::vector<std::string>& offer_ids,
                             const std::vector<TaskSpec>& tasks) {
  WireMessage msg;
  const uint64_t rid = NextRequestId();
  auto accept = NewEnvelope(msg, rid).initAccept();
  accept.setFrameworkId(info_.framework_id);
  auto ids = accept.initOfferIds(offer_ids.size());
  for (size_t i = 0; i < offer_ids.size(); ++i) {
    ids.set(i, offer_ids[i]);
    unanswered_offers_.erase(offer_ids[i]);
  }
  auto list = accept.initTasks(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) ToWire(tasks[i], list[i]);
  accept.setRefuseSeconds(0);  // what is left may be offered again right away
  pending_accepts_[rid] = tasks;
  master_->Send(msg);
}

void DriverCore::Decline(const std::vector<std::string>& offer_ids, absl::Duration refuse) {
  if (offer_ids.empty() || !subscribed_) return;
  WireMessage msg;
  auto decline = NewEnvelope(msg, NextRequestId()).initDecline();
  decline.setFrameworkId(info_.framework_id);
  auto ids = decline.initOfferIds(offer_ids.size());
  for (size_t i = 0; i < offer_ids.size(); ++i) {
    ids.set(i, offer_ids[i]);
    unanswered_offers_.erase(offer_ids[i]);
  }
  decline.setRefuseSeconds(absl::ToDoubleSeconds(refuse));
  master_->Send(msg);
}

void DriverCore::Kill(const std::string& task_id) {
  if (!subscribed_) {
    AGORA_LOG(WARNING, "sdk") << "kill " << task_id << " dropped: not subscribed yet";
    return;
  }
  WireMessage msg;
  auto kill = NewEnvelope(msg, NextRequestId()).initKillTask();
  kill.setFrameworkId(info_.framework_id);
  kill.setTaskId(task_id);
  master_->Send(msg);
}

uint64_t DriverCore::SendReconcile(const std::vector<std::string>& task_ids) {
  if (!subscribed_) return 0;
  WireMessage msg;
  const uint64_t rid = NextRequestId();
  auto rec = NewEnvelope(msg, rid).initReconcile();
  rec.setFrameworkId(info_.framework_id);
  auto ids = rec.initTaskIds(task_ids.size());
  for (size_t i = 0; i < task_ids.size(); ++i) ids.set(i, task_ids[i]);
  master_->Send(msg);
  return rid;
}

void DriverCore::Suppress() {
  suppressed_ = true;
  if (!subscribed_) return;  // applied after subscription
  WireMessage msg;
  NewEnvelope(msg, NextRequestId()).initSuppress().setFrameworkId(info_.framework_id);
  master_->Send(msg);
}

void DriverCore::Revive() {
  suppressed_ = false;
  if (!subscribed_) return;  // applied after subscription
  WireMessage msg;
  NewEnvelope(msg, NextRequestId()).initRevive().setFrameworkId(info_.framework_id);
  master_->Send(msg);
}

}  // namespace agora::sdk
