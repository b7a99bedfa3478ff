#include "bench/loadgen/emulated_frameworks.h"

#include "common/zookeeper.h"

#include <algorithm>
#include <cmath>

#include <capnp/message.h>

#include "absl/strings/str_cat.h"
#include "common/framing.h"
#include "common/log.h"
#include "agora/task.h"
#include "common/wire_convert.h"

namespace agora::loadgen {

EmulatedFrameworks::EmulatedFrameworks(zmq::context_t& context, EventLoop& loop,
                                       const LoadOptions& options, LoadCounts& counts,
                                       EmulatedAgents& agents)
    : loop_(loop), options_(options), counts_(counts), agents_(agents) {
  for (int i = 0; i < options.frameworks; ++i) {
    auto fw = std::make_unique<Framework>();
    fw->index = i;
    Framework* raw = fw.get();
    fw->socket = std::make_unique<DealerSocket>(
        context, IsZkUrl(options.master) ? "" : options.master, loop, [this, raw](wire::Envelope::Reader env) { OnMessage(*raw, env); });
    Subscribe(*fw);
    frameworks_.push_back(std::move(fw));
  }
  heartbeat_timer_ = loop.Every(absl::Seconds(1), [this] { Heartbeat(); });
  if (options.rate > 0) {
    last_refill_ = loop.Now();
    pace_timer_ = loop.Every(absl::Milliseconds(1), [this] { LaunchHeld(); });
  }
}

EmulatedFrameworks::~EmulatedFrameworks() {
  loop_.Cancel(heartbeat_timer_);
  loop_.Cancel(pace_timer_);
}

void EmulatedFrameworks::Retarget(const std::string& endpoint) {
  for (auto& fw : frameworks_) {
    fw->socket->Retarget(endpoint);
    fw->subscribing = false;  // what was in flight went to the old master
    Subscribe(*fw);
  }
}

int EmulatedFrameworks::subscribed() const {
  return static_cast<int>(std::count_if(frameworks_.begin(), frameworks_.end(),
                                        [](const auto& fw) { return !fw->id.empty(); }));
}

size_t EmulatedFrameworks::outstanding() const {
  size_t n = 0;
  for (const auto& fw : frameworks_) n += fw->launched.size();
  return n;
}

void EmulatedFrameworks::StartLaunching(absl::Time window_end) {
  launching_ = true;
  window_end_ = window_end;
  // Offers declined while idle come back now.
  for (auto& fw : frameworks_) {
    if (fw->id.empty()) continue;
    WireMessage msg;
    NewEnvelope(msg).initRevive().setFrameworkId(fw->id);
    fw->socket->Send(msg);
  }
}

void EmulatedFrameworks::Subscribe(Framework& fw) {
  if (fw.subscribing) return;  // one subscription in flight (retried by Heartbeat)
  fw.subscribing = true;
  fw.subscribe_sent = loop_.Now();
  WireMessage msg;
  auto s = NewEnvelope(msg, 1).initSubscribe();
  s.setFrameworkId(fw.id);
  s.setName(absl::StrCat("loadgen-", fw.index));
  s.setRole("loadgen");
  s.setFailoverTimeoutMs(10'000);
  fw.socket->Send(msg);
}

void EmulatedFrameworks::Heartbeat() {
  for (auto& fw : frameworks_) {
    if (fw->subscribing && loop_.Now() - fw->subscribe_sent > absl::Seconds(5)) {
      fw->subscribing = false;
      Subscribe(*fw);
    }
    if (fw->id.empty()) continue;
    Reconcile(*fw);
    WireMessage msg;
    NewEnvelope(msg).initFrameworkHeartbeat().setFrameworkId(fw->id);
    fw->socket->Send(msg);
  }
}

void EmulatedFrameworks::Teardown() {
  torn_down_ = true;
  for (auto& fw : frameworks_) {
    if (fw->id.empty()) continue;
    WireMessage msg;
    NewEnvelope(msg).initTeardown().setFrameworkId(fw->id);
    fw->socket->Send(msg);
  }
}

void EmulatedFrameworks::OnMessage(Framework& fw, wire::Envelope::Reader env) {
  switch (env.which()) {
    case wire::Envelope::SUBSCRIBED:
      fw.subscribing = false;
      if (!fw.id.empty()) {
        ++counts_.frameworks_resubscribed;
        counts_.last_resubscribed = loop_.Now();
        fw.resubscribed_at = loop_.Now();  // reconcile what we launched before
      }
      fw.id = env.getSubscribed().getFrameworkId();
      return;
    case wire::Envelope::OFFERS:
      return OnOffers(fw, env.getOffers());
    case wire::Envelope::STATUS_UPDATE:
      return OnStatus(fw, env.getStatusUpdate().getStatus());
    case wire::Envelope::RESCIND_OFFER:
      ++counts_.offers_rescinded;
      return;
    case wire::Envelope::AGENT_LOST: {
      ++counts_.agents_lost_seen;
      if (auto due = agents_.TakeExpiryDue(env.getAgentLost().getAgentId())) {
        counts_.expiry.Add(loop_.Now() - *due);
      }
      return;
    }
    case wire::Envelope::OK:
      fw.accepts.erase(env.getRequestId());
      return;
    case wire::Envelope::ERROR: {
      if (torn_down_) return;  // answers to acks still in flight
      // A rejected accept launched nothing.
      if (auto it = fw.accepts.find(env.getRequestId()); it != fw.accepts.end()) {
        for (const std::string& task_id : it->second) fw.launched.erase(task_id);
        counts_.tasks_rejected += it->second.size();
        fw.accepts.erase(it);
      }
      // An offer rescinded (its agent went silent) while we answered it.
      if (env.getError().getCode() == wire::ErrorCode::STALE_OFFER) {
        ++counts_.stale_offer_answers;
        return;
      }
      ++counts_.errors;
      AGORA_LOG(WARNING, "loadgen") << "the master answered framework " << fw.index << ": "
                                    << env.getError().getMessage().cStr();
      // Unknown after a master restart: subscribe again with the same id.
      if (env.getError().getCode() == wire::ErrorCode::UNKNOWN_FRAMEWORK) Subscribe(fw);
      // A master not elected yet (heard of before it had): again shortly.
      if (env.getError().getCode() == wire::ErrorCode::NOT_LEADER && fw.subscribing) {
        fw.subscribing = false;
        loop_.After(absl::Milliseconds(200), [this, &fw] { Subscribe(fw); });
      }
      return;
    }
    default:
      return;
  }
}

void EmulatedFrameworks::OnOffers(Framework& fw, wire::Offers::Reader offers) {
  const absl::Time now = loop_.Now();
  std::vector<std::string> declined;
  for (auto offer : offers.getOffers()) {
    ++counts_.offers;
    if (counts_.leader_changed != absl::InfinitePast() &&
        counts_.first_offer_after_leader_change == absl::InfinitePast()) {
      counts_.first_offer_after_leader_change = loop_.Now();
    }
    const std::string agent_id = offer.getAgentId();
    if (auto freed = agents_.TakeFreedAt(agent_id)) counts_.offer.Add(now - *freed);
    auto res = offer.getResources();
    const int fit = static_cast<int>(std::min(std::floor(res.getCpus() / options_.task_cpus + 1e-9),
                                              std::floor(res.getMem() / options_.task_mem + 1e-9)));
    if (!launching_ || fit <= 0) {
      declined.push_back(offer.getOfferId());
      continue;
    }
    if (options_.rate > 0) {
      held_.push_back({&fw, offer.getOfferId(), fit});  // launched at the paced rate
    } else {
      Launch(fw, offer.getOfferId(), fit);
    }
  }
  if (declined.empty()) return;
  WireMessage msg;
  auto decline = NewEnvelope(msg).initDecline();
  decline.setFrameworkId(fw.id);
  auto ids = decline.initOfferIds(declined.size());
  for (size_t i = 0; i < declined.size(); ++i) ids.set(i, declined[i]);
  // Idle frameworks (before the start, after the end) refuse for a long time;
  // busy ones until more is free (refusal filters end early then).
  decline.setRefuseSeconds(launching_ ? 5 : 3600);
  fw.socket->Send(msg);
}

void EmulatedFrameworks::Reconcile(Framework& fw) {
  // As the SDK does after a re-subscription: ask about every task not heard
  // of since, until each is (the master calls unknown ones lost once its
  // agents had time to re-register).
  if (fw.resubscribed_at == absl::InfinitePast()) return;
  std::vector<const std::string*> unheard;
  for (const auto& [id, task] : fw.launched) {
    if (task.heard < fw.resubscribed_at) unheard.push_back(&id);
  }
  if (unheard.empty()) {
    fw.resubscribed_at = absl::InfinitePast();
    return;
  }
  WireMessage msg;
  auto r = NewEnvelope(msg).initReconcile();
  r.setFrameworkId(fw.id);
  auto ids = r.initTaskIds(unheard.size());
  for (size_t i = 0; i < unheard.size(); ++i) ids.set(i, *unheard[i]);
  fw.socket->Send(msg);
}

void EmulatedFrameworks::Launch(Framework& fw, const std::string& offer_id, int count) {
  const absl::Time now = loop_.Now();
  WireMessage msg;
  // Answered (ok or error) like the SDK's accepts, so a rejection is seen.
  const uint64_t request_id = fw.next_request++;
  auto accept = NewEnvelope(msg, request_id).initAccept();
  accept.setFrameworkId(fw.id);
  accept.initOfferIds(1).set(0, offer_id);
  accept.setRefuseSeconds(0);
  auto tasks = accept.initTasks(count);
  std::vector<std::string>& ids = fw.accepts[request_id];
  for (int i = 0; i < count; ++i) {
    std::string id = absl::StrCat("t", fw.index, "-", fw.next_task++);
    ids.push_back(id);
    tasks[i].setTaskId(id);
    tasks[i].setCommand("emulated");
    auto r = tasks[i].initResources();
    r.setCpus(options_.task_cpus);
    r.setMem(options_.task_mem);
    fw.launched.emplace(std::move(id), Launched{now, now});
  }
  counts_.tasks_launched += count;
  if (!fw.socket->Send(msg)) ++counts_.send_dropped;
}

void EmulatedFrameworks::LaunchHeld() {
  const absl::Time now = loop_.Now();
  // A token bucket of --rate tasks per second, at most 10 ms of burst.
  tokens_ = std::min(tokens_ + options_.rate * absl::ToDoubleSeconds(now - last_refill_),
                     std::max(1.0, options_.rate / 100));
  last_refill_ = now;
  while (!held_.empty() && tokens_ >= 1) {
    Held& h = held_.front();
    if (!launching_) {
      held_.pop_front();
      continue;
    }
    const int count = std::min(h.fit, static_cast<int>(tokens_));
    Launch(*h.framework, h.offer_id, count);  // the rest of the offer returns to the pool
    tokens_ -= count;
    held_.pop_front();
  }
}

void EmulatedFrameworks::OnStatus(Framework& fw, wire::TaskStatus::Reader status) {
  const TaskState state = FromWire(status.getState());
  auto it = fw.launched.find(std::string(status.getTaskId()));
  if (it != fw.launched.end()) {
    Launched& task = it->second;
    task.heard = loop_.Now();
    if (state == TaskState::kRunning && !task.running) {
      task.running = true;
      ++counts_.tasks_running;
      if (loop_.Now() <= window_end_) ++counts_.tasks_running_in_window;
      counts_.launch.Add(loop_.Now() - task.accepted);
    }
    if (IsTerminal(state)) {
      ++(state == TaskState::kFinished ? counts_.tasks_finished
         : state == TaskState::kLost   ? counts_.tasks_lost
                                       : counts_.tasks_other_terminal);
      fw.launched.erase(it);
    } else if (state == TaskState::kUnreachable) {
      ++counts_.tasks_unreachable;  // its agent fell silent: it settles there
      fw.launched.erase(it);
    }
  }
  if (status.getUuid().size() == 0) return;  // from the master: no ack
  WireMessage msg;
  auto ack = NewEnvelope(msg).initAcknowledge();
  ack.setFrameworkId(fw.id);
  ack.setAgentId(status.getAgentId());
  ack.setTaskId(status.getTaskId());
  ack.setUuid(status.getUuid());
  fw.socket->Send(msg);
}

}  // namespace agora::loadgen
