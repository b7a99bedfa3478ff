// The framework author's side of Agora: implement Scheduler, hand it to a
// SchedulerDriver, call Run(). Callbacks run on the driver's loop thread,
// one at a time; from them, call the driver's methods directly.
//
// Example (a framework that runs one command once):
//   class Once : public agora::sdk::Scheduler {
//     void Offers(SchedulerDriver& d, const std::vector<Offer>& offers) override {
//       if (launched_) return;  // unused offers are declined for you
//       TaskSpec t{.task_id = "hello", .command = "echo hello",
//                  .resources = Resources::Scalars(0.1, 32, 0)};
//       d.Launch({offers[0].id}, {t});
//       launched_ = true;
//     }
//     void Update(SchedulerDriver& d, const TaskStatus& s) override {
//       if (IsTerminal(s.state)) d.Stop(/*failover=*/false);
//     }
//     bool WantsOffers() const override { return !launched_; }
//     bool launched_ = false;
//   };
#pragma once

#include <string>
#include <vector>

#include "agora/resources.h"
#include "agora/task.h"

namespace agora::sdk {

using agora::Resources;
using agora::TaskSpec;
using agora::TaskState;
using agora::TaskStatus;

struct Offer {
  std::string id;
  std::string agent_id;
  std::string hostname;
  Env attributes;
  Resources resources;
  std::string address;  // the agent's IP address: where its tasks' ports are reached
};

class SchedulerDriver;

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  // After every (re)subscription; the driver reconciles all tasks right after.
  virtual void Subscribed(SchedulerDriver& driver, const std::string& framework_id) {}
  // That reconciliation has answered: every task the master knows of this
  // framework has been through Update() with its latest state. Offers come
  // only after this, so a framework places work knowing what runs.
  virtual void Reconciled(SchedulerDriver& driver) {}
  // The master was lost (it restarted, another was elected, it went silent):
  // routine, not an error. The driver subscribes again by itself; until
  // Reconnected(), launches and kills are not heard. A launch in flight when
  // the master was lost is reported by the reconciliation that follows, or
  // as TASK_LOST (reason master_lost) just before Reconciled().
  virtual void Disconnected(SchedulerDriver& driver, const std::string& reason) {}
  // Subscribed again after Disconnected() (Subscribed() came just before;
  // Reconciled() follows).
  virtual void Reconnected(SchedulerDriver& driver) {}
  // Offers the callback neither launches on nor declines are declined for it.
  virtual void Offers(SchedulerDriver& driver, const std::vector<Offer>& offers) = 0;
  virtual void OfferRescinded(SchedulerDriver& driver, const std::string& offer_id) {}
  // A task's state changed. The driver acknowledges at the end of the loop
  // turn, after Checkpoint(), so a crash before then means the update is
  // delivered again.
  virtual void Update(SchedulerDriver& driver, const TaskStatus& status) = 0;
  virtual void AgentLost(SchedulerDriver& driver, const std::string& agent_id) {}
  // An operator drains the agent: move the tasks off it before `deadline`
  // (InfiniteFuture: none), when the master kills what is left. It makes no
  // more offers from that agent.
  virtual void AgentDraining(SchedulerDriver& driver, const std::string& agent_id, absl::Time deadline) {}
  // Measured cpu and memory use of some of its running tasks (every agent's
  // --usage_interval); samples, not acknowledged, and may be skipped.
  virtual void Usage(SchedulerDriver& driver, const std::vector<TaskUsage>& usages) {}
  // What the framework must act on: the master refused its subscription
  // (then Run() returns 1) or a request of its own (a kill of a task it does
  // not know...). Rejected launches come as TASK_ERROR updates instead, and
  // a lost master as Disconnected().
  virtual void Error(SchedulerDriver& driver, const std::string& message) {}
  // While false, the driver suppresses offers; it revives when true again.
  virtual bool WantsOffers() const { return true; }
  // Once per loop turn, after the turn's callbacks and before the driver
  // acknowledges the updates they saw: make durable what they changed. A
  // framework that persists state does one group commit here instead of one
  // per update; a crash before it returns means the updates come again.
  virtual void Checkpoint(SchedulerDriver& driver) {}
};

}  // namespace agora::sdk
