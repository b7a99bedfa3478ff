// Master: framework subscription, offers, accept/decline, suppress/revive.
#include <capnp/message.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ids.h"
#include "common/framing.h"
#include "common/log.h"
#include "common/wire_convert.h"
#include "master/master.h"

namespace agora::master {
namespace {

// A health check the executor can run: a command, or a port the task holds.
absl::Status CheckHealthCheck(const TaskSpec& spec) {
  const HealthCheck& c = spec.health_check;
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("task ", spec.task_id, ": health check ", why));
  };
  switch (c.kind) {
    case HealthCheck::Kind::kNone:
      return absl::OkStatus();
    case HealthCheck::Kind::kCommand:
      if (c.command.empty()) return bad("has no command");
      break;
    case HealthCheck::Kind::kHttp:
    case HealthCheck::Kind::kTcp:
      if (!spec.resources.ports().Contains(c.port)) {
        return bad(absl::StrCat("port ", c.port, " is not one of the task's ports ",
                                spec.resources.ports().ToString()));
      }
      break;
    default:
      return bad("has an unknown kind");
  }
  if (c.interval <= absl::ZeroDuration() || c.timeout <= absl::ZeroDuration() || c.max_failures < 1) {
    return bad("needs a positive interval, timeout and max_failures");
  }
  return absl::OkStatus();
}

}  // namespace


const FrameworkRecord* Master::SubscribedFrom(const PeerId& peer, const std::string& name,
                                              const std::string& role) const {
  auto it = framework_by_peer_.find({peer, name});
  if (it == framework_by_peer_.end()) return nullptr;
  auto fw = frameworks_.find(it->second);
  const std::string principal = sender_ != nullptr ? sender_->name : std::string();
  if (fw == frameworks_.end() || fw->second.peer != peer || fw->second.name != name || fw->second.role != role ||
      fw->second.principal != principal) {
    return nullptr;
  }
  return &fw->second;
}

void Master::ForgetConnection(const FrameworkRecord& fw) {
  auto it = framework_by_peer_.find({fw.peer, fw.name});
  if (it != framework_by_peer_.end() && it->second == fw.id) framework_by_peer_.erase(it);
}

void Master::OnSubscribe(const PeerId& peer, uint64_t rid, wire::Subscribe::Reader msg) {
  const std::string name = msg.getName();
  std::string role = msg.getRole();
  if (role.empty()) role = "*";
  if (absl::Status s = ValidateName("framework name", name); !s.ok()) {
    return SendError(peer, rid, wire::ErrorCode::INVALID_ARGUMENT, absl::StrCat("subscribe: ", s.message()));
  }
  FrameworkId id = msg.getFrameworkId();
  if (!id.empty()) {
    if (absl::Status s = ValidatePathSafeId("framework id", id); !s.ok()) {
      return SendError(peer, rid, wire::ErrorCode::INVALID_ARGUMENT, s.message());
    }
    if (removed_frameworks_.contains(id)) {
      return SendError(peer, rid, wire::ErrorCode::UNKNOWN_FRAMEWORK,
                       absl::StrCat("framework ", id,
                                    " was removed (torn down or failover timeout expired); "
                                    "subscribe without an id"));
    }
  } else if (const FrameworkRecord* again = SubscribedFrom(peer, name, role)) {
    // The same driver asking again before it heard its id.
    id = again->id;
  } else {
    id = NewId("f");
  }
  // Operators reach a framework's API by its name (HttpAccess): on a secured
  // master a name belongs to the key of the framework that holds it, while
  // that framework is known (active, or disconnected within its failover).
  if (sender_ != nullptr) {
    for (const auto& [other_id, other] : frameworks_) {
      if (other_id != id && other.name == name && !other.principal.empty() && other.principal != sender_->name) {
        ++stats_.permission_denied;
        return SendError(peer, rid, wire::ErrorCode::PERMISSION_DENIED,
                         absl::StrCat("subscribe: the name '", name, "' belongs to framework ", other_id,
                                      " of key '", other.principal, "'"));
      }
    }
  }
  auto [it, inserted] = frameworks_.try_emplace(id);
  FrameworkRecord& fw = it->second;
  if (!inserted) {
    if (fw.role != role) {
      return SendError(peer, rid, wire::ErrorCode::INVALID_ARGUMENT,
                       absl::StrCat("subscribe: framework ", id, " has role '", fw.role,
                                    "'; it cannot change to '", role, "' on failover"));
    }
    // Failover: offers made to the old connection are void.
    std::vector<OfferId> offers(fw.offers.begin(), fw.offers.end());
    for (const OfferId& o : offers) RemoveOffer(o, /*notify=*/false);
    if (fw.failover_timer != 0) loop_.Cancel(fw.failover_timer);
    fw.failover_timer = 0;
  } else {
    fw.id = id;
    fw.role = role;
    // An id we do not know (its registry entry was lost): agents may have
    // re-reported its tasks already. A new id has none: no scan.
    if (msg.getFrameworkId().size() > 0) {
      for (const auto& [key, task] : tasks_) {
        if (key.framework_id == id) fw.tasks.insert(key.task_id);
      }
    }
  }
  ForgetConnection(fw);  // by the connection and name it had
  fw.name = name;
  fw.endpoint = msg.getEndpoint();
  fw.endpoint_cert_sha256 = msg.getEndpointCertSha256();
  fw.peer = peer;
  framework_by_peer_[{peer, name}] = id;  // once every check passed
  if (sender_ != nullptr) fw.principal = sender_->name;
  fw.state = FrameworkState::kActive;
  fw.failover_timeout = absl::Milliseconds(msg.getFailoverTimeoutMs());
  fw.subscribed_at = loop_.Now();
  fw.suppressed = false;
  PersistFramework(fw, /*removed=*/false);
  allocator_->AddFramework(id, role);
  allocator_->ActivateFramework(id);
  allocator_->Revive(id);
  framework_heartbeats_.Beat(id, loop_.Now());
  ++stats_.frameworks_subscribed;

  WireMessage reply;
  auto subscribed = NewEnvelope(reply, rid).initSubscribed();
  subscribed.setFrameworkId(id);
  subscribed.setHeartbeatIntervalMs(
      static_cast<uint32_t>(absl::ToInt64Milliseconds(options_.heartbeat_interval)));
  transport_.Send(peer, reply);
  AGORA_LOG(INFO, "master").With("framework", id)
      << (inserted ? "subscribed" : "re-subscribed") << " framework " << id << " (" << name << ", role "
      << role << ")";
  RequestAllocation();
}

void Master::OnFrameworkHeartbeat(const PeerId& peer, uint64_t rid,
                                  wire::FrameworkHeartbeat::Reader msg) {
  FrameworkRecord* fw = AuthorizedFramework(peer, rid, msg.getFrameworkId());
  if (fw == nullptr) return;
  if (fw->state == FrameworkState::kDisconnected) {
    // Its connection came back before the failover timeout.
    fw->state = FrameworkState::kActive;
    if (fw->failover_timer != 0) loop_.Cancel(fw->failover_timer);
    fw->failover_timer = 0;
    allocator_->ActivateFramework(fw->id);
    RequestAllocation();
  }
  framework_heartbeats_.Beat(fw->id, loop_.Now());
  SendOk(peer, rid);
}

FrameworkRecord* Master::AuthorizedFramework(const PeerId& peer, uint64_t rid,
                                             const FrameworkId& id) {
  auto it = frameworks_.find(id);
  if (it == frameworks_.end()) {
    SendError(peer, rid, wire::ErrorCode::UNKNOWN_FRAMEWORK,
              absl::StrCat("unknown framework '", id, "'; subscribe first"));
    return nullptr;
  }
  if (it->second.peer.empty()) {
    // Recovered from the registry after a master restart.
    SendError(peer, rid, wire::ErrorCode::UNKNOWN_FRAMEWORK,
              absl::StrCat("framework ", id, " must subscribe again after a master restart"));
    return nullptr;
  }
  if (it->second.peer != peer) {
    SendError(peer, rid, wire::ErrorCode::FAILED_PRECONDITION,
              absl::StrCat("framework ", id, " is subscribed over another connection"));
    return nullptr;
  }
  return &it->second;
}

void Master::MarkFrameworkDisconnected(FrameworkRecord& fw) {
  AGORA_LOG(WARNING, "master").With("framework", fw.id)
      << "framework " << fw.id << " (" << fw.name << ") disconnected; failover timeout "
      << absl::FormatDuration(fw.failover_timeout);
  fw.state = FrameworkState::kDisconnected;
  fw.disconnected_at = loop_.Now();
  std::vector<OfferId> offers(fw.offers.begin(), fw.offers.end());
  for (const OfferId& o : offers) RemoveOffer(o, /*notify=*/false);
  allocator_->DeactivateFramework(fw.id);
  StartFailoverTimeout(fw.id);
}

void Master::StartFailoverTimeout(const FrameworkId& id) {
  auto it = frameworks_.find(id);
  if (it == frameworks_.end()) return;
  FrameworkRecord& fw = it->second;
  fw.failover_timer = 0;
  if (fw.state == FrameworkState::kActive) return;  // it came back meanwhile
  if (!MayDecide()) {
    fw.failover_timer = loop_.After(options_.heartbeat_interval, [this, id] { StartFailoverTimeout(id); });
    return;
  }
  if (fw.failover_timeout <= absl::ZeroDuration()) {
    RemoveFramework(id, "disconnected with no failover timeout");
    return;
  }
  fw.failover_timer = loop_.After(fw.failover_timeout, [this, id] { OnFailoverTimeout(id); });
}

void Master::OnFailoverTimeout(const FrameworkId& id) {
  auto it = frameworks_.find(id);
  if (it == frameworks_.end()) return;
  if (!MayDecide()) {
    it->second.failover_timer = loop_.After(options_.heartbeat_interval, [this, id] { OnFailoverTimeout(id); });
    return;
  }
  it->second.failover_timer = 0;
  RemoveFramework(id, "its failover timeout expired");
}

void Master::RemoveFramework(const FrameworkId& id, absl::string_view why) {
  auto it = frameworks_.find(id);
  if (it == frameworks_.end()) return;
  FrameworkRecord& fw = it->second;
  AGORA_LOG(INFO, "master").With("framework", id)
      << "removing framework " << id << " (" << fw.name << "): " << why;
  std::vector<OfferId> offers(fw.offers.begin(), fw.offers.end());
  for (const OfferId& o : offers) RemoveOffer(o, /*notify=*/false);
  if (fw.failover_timer != 0) loop_.Cancel(fw.failover_timer);
  for (const TaskId& task_id : fw.tasks) {
    auto t = tasks_.find(TaskKey{id, task_id});
    if (t == tasks_.end() || IsTerminal(t->second.state)) continue;
    t->second.kill_requested = true;
    SendKillToAgent(t->second);
  }
  allocator_->RemoveFramework(id);
  framework_heartbeats_.Forget(id);
  removed_frameworks_.insert(id);
  PersistFramework(fw, /*removed=*/true);
  ForgetConnection(fw);
  frameworks_.erase(it);
}

void Master::OnTeardown(const PeerId& peer, uint64_t rid, const FrameworkId& id) {
  if (AuthorizedFramework(peer, rid, id) == nullptr) return;
  RemoveFramework(id, "torn down");
  SendOk(peer, rid);
}

void Master::OnSuppress(const PeerId& peer, uint64_t rid, const FrameworkId& id) {
  FrameworkRecord* fw = AuthorizedFramework(peer, rid, id);
  if (fw == nullptr) return;
  fw->suppressed = true;
  allocator_->Suppress(id);
  SendOk(peer, rid);
}

void Master::OnRevive(const PeerId& peer, uint64_t rid, const FrameworkId& id) {
  FrameworkRecord* fw = AuthorizedFramework(peer, rid, id);
  if (fw == nullptr) return;
  fw->suppressed = false;
  allocator_->Revive(id);
  SendOk(peer, rid);
  RequestAllocation();
}

void Master::OnDecline(const PeerId& peer, uint64_t rid, wire::Decline::Reader msg) {
  FrameworkRecord* fw = AuthorizedFramework(peer, rid, msg.getFrameworkId());
  if (fw == nullptr) return;
  const double seconds = msg.getRefuseSeconds();
  const absl::Duration refuse =
      seconds >= 0 && seconds < 1e9 ? absl::Seconds(seconds) : options_.default_refuse;
  std::vector<std::string> unknown;
  for (auto id_text : msg.getOfferIds()) {
    OfferId id = id_text;
    auto it = offers_.find(id);
    if (it == offers_.end() || it->second.framework_id != fw->id) {
      unknown.push_back(std::move(id));
      continue;
    }
    ++stats_.offers_declined;
    RemoveOffer(id, /*notify=*/false, loop_.Now() + refuse);
  }
  if (!unknown.empty()) {
    return SendError(peer, rid, wire::ErrorCode::STALE_OFFER,
                     absl::StrCat("decline: unknown or foreign offers: ",
                                  absl::StrJoin(unknown, ", ")));
  }
  SendOk(peer, rid);
}

void Master::OnAccept(const PeerId& peer, uint64_t rid, wire::Accept::Reader msg) {
  FrameworkRecord* fw = AuthorizedFramework(peer, rid, msg.getFrameworkId());
  if (fw == nullptr) return;
  absl::Status status = Launch(*fw, msg);
  if (status.ok()) return SendOk(peer, rid);
  wire::ErrorCode code = wire::ErrorCode::INVALID_ARGUMENT;
  if (absl::IsNotFound(status)) code = wire::ErrorCode::STALE_OFFER;
  if (absl::IsResourceExhausted(status)) code = wire::ErrorCode::INSUFFICIENT_RESOURCES;
  SendError(peer, rid, code, absl::StrCat("accept: ", status.message()));
}

absl::Status Master::Launch(FrameworkRecord& fw, wire::Accept::Reader msg) {
  const double seconds = msg.getRefuseSeconds();
  const absl::Time refuse_until =
      loop_.Now() + (seconds >= 0 && seconds < 1e9 ? absl::Seconds(seconds) : options_.default_refuse);

  // 1. The offers: all known, all ours, all on one agent.
  std::vector<OfferId> own;
  absl::Status problem;
  AgentId agent_id;
  for (auto id_text : msg.getOfferIds()) {
    OfferId id = id_text;
    auto it = offers_.find(id);
    if (it == offers_.end()) {
      problem = absl::NotFoundError(absl::StrCat(
          "offer ", id, " is unknown or no longer valid (rescinded, expired or already used)"));
      continue;
    }
    if (it->second.framework_id != fw.id) {
      problem = absl::NotFoundError(absl::StrCat("offer ", id, " was made to another framework"));
      continue;
    }
    if (std::find(own.begin(), own.end(), id) != own.end()) {
      problem = absl::InvalidArgumentError(absl::StrCat("offer ", id, " is named twice"));
      continue;
    }
    if (!agent_id.empty() && it->second.agent_id != agent_id) {
      problem = absl::InvalidArgumentError(absl::StrCat(
          "offers span agents ", agent_id, " and ", it->second.agent_id,
          "; one accept may use the offers of one agent only"));
    }
    agent_id = it->second.agent_id;
    own.push_back(std::move(id));
  }
  if (own.empty() && problem.ok()) problem = absl::InvalidArgumentError("no offers named");

  // 2. The tasks: well-formed, unique, and within the offers.
  Resources offered;
  for (const OfferId& id : own) offered += offers_.at(id).resources;
  std::vector<TaskSpec> specs;
  Resources asked;
  absl::flat_hash_set<TaskId> ids;
  for (auto t : msg.getTasks()) {
    if (!problem.ok()) break;
    TaskSpec spec = FromWire(t);
    if (absl::Status s = ValidatePathSafeId("task id", spec.task_id); !s.ok()) {
      problem = s;
    } else if (absl::Status r = CheckWireResources(t.getResources(), absl::StrCat("task ", spec.task_id));
               !r.ok()) {
      problem = r;
    } else if (absl::Status b = ValidateTaskBounds(spec); !b.ok()) {
      problem = b;
    } else if (spec.command.empty()) {
      problem = absl::InvalidArgumentError(absl::StrCat("task ", spec.task_id, " has no command"));
    } else if (!spec.resources.HasScalars()) {
      problem = absl::InvalidArgumentError(
          absl::StrCat("task ", spec.task_id, " asks for no cpus, mem or disk"));
    } else if (spec.port_names.size() > spec.resources.ports().size()) {
      problem = absl::InvalidArgumentError(absl::StrCat(
          "task ", spec.task_id, " names ", spec.port_names.size(), " ports but asks for ",
          spec.resources.ports().size()));
    } else if (absl::Status h = CheckHealthCheck(spec); !h.ok()) {
      problem = h;
    } else if (absl::Status f = ValidateTaskFiles(spec); !f.ok()) {
      problem = f;
    } else if (absl::Status u = ValidateTaskUser(spec); !u.ok()) {
      problem = u;
    } else if (tasks_.contains(TaskKey{fw.id, spec.task_id}) || !ids.insert(spec.task_id).second) {
      problem = absl::InvalidArgumentError(
          absl::StrCat("task id ", spec.task_id, " is already in use by this framework"));
    }
    if (problem.ok()) {
      // Port sets merge on +=: a port two tasks claim must be caught here.
      PortSet unclaimed = spec.resources.ports();
      unclaimed -= asked.ports();
      if (unclaimed.size() != spec.resources.ports().size()) {
        PortSet twice = spec.resources.ports();
        twice -= unclaimed;
        problem = absl::InvalidArgumentError(absl::StrCat(
            "task ", spec.task_id, " asks for ports ", twice.ToString(),
            " that another task of this accept asks for too"));
      }
    }
    if (spec.name.empty()) spec.name = spec.task_id;
    asked += spec.resources;
    specs.push_back(std::move(spec));
  }
  if (problem.ok() && !offered.Contains(asked)) {
    problem = absl::ResourceExhaustedError(absl::StrCat(
        "the tasks ask for more than the offers hold (", offered.Shortfall(asked), ")"));
  }
  AgentRecord* agent = nullptr;
  if (problem.ok()) {
    auto a = agents_.find(agent_id);
    if (a == agents_.end() || a->second.state != AgentState::kActive) {
      problem = absl::FailedPreconditionError(absl::StrCat("agent ", agent_id, " is not active"));
    } else {
      agent = &a->second;
    }
  }
  if (!problem.ok()) {
    // As in Mesos, the offers named in a rejected accept are used up.
    for (const OfferId& id : own) RemoveOffer(id, /*notify=*/false);
    RequestAllocation();
    return problem;
  }

  // 3. Launch: the offers are consumed, the unused part returns at once.
  // RemoveOffer returns each whole offer to the pool; the tasks' part is then
  // taken again, and the remainder is refused until `refuse_until`.
  for (const OfferId& id : own) {
    latencies_.offer_to_launch.Observe(loop_.Now() - offers_.at(id).created);
    RemoveOffer(id, /*notify=*/false);
  }
  allocator_->AddAllocation(fw.id, agent_id, asked);
  allocator_->Filter(fw.id, agent_id, offered - asked, refuse_until);
  for (TaskSpec& spec : specs) {
    TaskKey key{fw.id, spec.task_id};
    TaskRecord& task = tasks_[key];
    task.framework_id = fw.id;
    task.agent_id = agent_id;
    task.state = TaskState::kStaging;
    task.launched_at = task.updated_at = loop_.Now();
    task.spec = std::move(spec);
    fw.tasks.insert(key.task_id);
    agent->tasks.insert(key);
    agent->used += task.spec.resources;
    ++stats_.tasks_launched;

    WireMessage run;
    auto r = NewEnvelope(run).initRunTask();
    r.setFrameworkId(fw.id);
    r.setFrameworkName(fw.name);
    r.setAgentId(agent_id);
    ToWire(task.spec, r.initTask());
    transport_.Send(agent->peer, run);
  }
  RequestAllocation();
  return absl::OkStatus();
}

void Master::RequestAllocation() {
  if (allocation_scheduled_) return;
  allocation_scheduled_ = true;
  loop_.After(absl::ZeroDuration(), [this] { AllocateNow(); });
}

void Master::AllocateNow() {
  allocation_scheduled_ = false;
  const absl::Time start = absl::Now();
  std::vector<Allocation> allocations = allocator_->Allocate(loop_.Now());
  stats_.last_allocation_time = absl::Now() - start;
  latencies_.allocation_pass.Observe(stats_.last_allocation_time);
  ++stats_.allocation_passes;
  if (!allocations.empty()) SendOffers(allocations);
}

void Master::SendOffers(const std::vector<Allocation>& allocations) {
  // Offer ids, not pointers: emplacing into offers_ may rehash it.
  absl::flat_hash_map<FrameworkId, std::vector<OfferId>> by_framework;
  for (const Allocation& a : allocations) {
    auto fw = frameworks_.find(a.framework_id);
    auto agent = agents_.find(a.agent_id);
    if (fw == frameworks_.end() || agent == agents_.end()) {
      allocator_->Recover(a.framework_id, a.agent_id, a.resources);
      continue;
    }
    OfferRecord offer{NewId("o"), a.framework_id, a.agent_id, a.resources, loop_.Now()};
    const OfferId id = offer.id;
    offer_expiries_.emplace_back(loop_.Now() + options_.offer_timeout, id);
    fw->second.offers.insert(id);
    agent->second.offers.insert(id);
    offers_.emplace(id, std::move(offer));
    by_framework[a.framework_id].push_back(id);
  }
  for (const auto& [fw_id, list] : by_framework) {
    WireMessage msg;
    auto offers = NewEnvelope(msg).initOffers().initOffers(list.size());
    for (size_t i = 0; i < list.size(); ++i) {
      const OfferRecord& o = offers_.at(list[i]);
      const AgentRecord& agent = agents_.at(o.agent_id);
      offers[i].setOfferId(o.id);
      offers[i].setAgentId(o.agent_id);
      offers[i].setHostname(agent.hostname);
      offers[i].setAddress(agent.address);
      ToWire(agent.attributes, offers[i].initAttributes(agent.attributes.size()));
      ToWire(o.resources, offers[i].initResources());
    }
    stats_.offers_sent += list.size();
    transport_.Send(frameworks_.at(fw_id).peer, msg);
  }
  ScheduleOfferExpiry();
}

void Master::ScheduleOfferExpiry() {
  // Offers answered early leave stale entries: drop them once they dominate.
  if (offer_expiries_.size() > 2 * offers_.size() + 1024) {
    std::erase_if(offer_expiries_, [&](const auto& e) { return !offers_.contains(e.second); });
  }
  if (offer_expiry_timer_ != 0 || offer_expiries_.empty()) return;
  offer_expiry_timer_ = loop_.After(offer_expiries_.front().first - loop_.Now(), [this] {
    offer_expiry_timer_ = 0;
    while (!offer_expiries_.empty() && offer_expiries_.front().first <= loop_.Now()) {
      const OfferId id = std::move(offer_expiries_.front().second);
      offer_expiries_.pop_front();
      RemoveOffer(id, /*notify=*/true);  // a no-op for an offer answered already
    }
    ScheduleOfferExpiry();
  });
}

void Master::RemoveOffer(const OfferId& id, bool notify, absl::Time refuse_until) {
  auto it = offers_.find(id);
  if (it == offers_.end()) return;
  OfferRecord offer = std::move(it->second);
  offers_.erase(it);
  auto fw = frameworks_.find(offer.framework_id);
  if (fw != frameworks_.end()) {
    fw->second.offers.erase(id);
    if (notify && fw->second.state == FrameworkState::kActive) {
      ++stats_.offers_rescinded;
      WireMessage msg;
      NewEnvelope(msg).initRescindOffer().setOfferId(id);
      transport_.Send(fw->second.peer, msg);
    }
  }
  auto agent = agents_.find(offer.agent_id);
  if (agent != agents_.end()) agent->second.offers.erase(id);
  allocator_->Recover(offer.framework_id, offer.agent_id, offer.resources, refuse_until);
}

}  // namespace agora::master
