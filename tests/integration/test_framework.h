// TestFramework runs a real framework (SDK driver on its own thread) inside
// a test: it launches queued tasks on offers that fit (optionally on a given
// host), records every update, and lets the test wait for a task state.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "agora/sdk/scheduler_driver.h"
#include "tests/integration/cluster.h"

namespace agora::testing {

class TestFramework final : public sdk::Scheduler {
 public:
  using OffersHook = std::function<void(sdk::SchedulerDriver&, const std::vector<sdk::Offer>&)>;

  explicit TestFramework(const std::string& master, sdk::FrameworkInfo info = Info())
      : driver_(*this, std::move(info), master), thread_([this] { driver_.Run(); }) {}
  ~TestFramework() override {
    driver_.Stop(/*failover=*/false);
    thread_.join();
  }
  static sdk::FrameworkInfo Info() {
    sdk::FrameworkInfo info;
    info.name = "test-framework";
    return info;
  }

  // Thread-safe. `host` empty: any agent.
  void Launch(TaskSpec spec, std::string host = "") {
    driver_.Post([this, spec = std::move(spec), host = std::move(host)]() mutable {
      queue_.push_back({std::move(spec), std::move(host)});
      driver_.Revive();
    });
  }
  void Kill(const std::string& task_id) {
    driver_.Post([this, task_id] { driver_.Kill(task_id); });
  }
  void SetOffersHook(OffersHook hook) {
    driver_.Post([this, hook = std::move(hook)] { hook_ = hook; });
  }
  // Stops the driver without tearing down (the framework may fail over).
  void Crash() {
    driver_.Stop(/*failover=*/true);
    thread_.join();
    thread_ = std::thread([] {});
  }

  std::vector<TaskStatus> Updates(const std::string& task_id) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<TaskStatus> out;
    for (const TaskStatus& s : updates_) {
      if (s.task_id == task_id) out.push_back(s);
    }
    return out;
  }
  // Waits until `task_id` reported `state`; returns that update.
  std::optional<TaskStatus> WaitForState(const std::string& task_id, TaskState state,
                                         absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<TaskStatus> found;
    cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [&] {
      for (const TaskStatus& s : updates_) {
        if (s.task_id == task_id && s.state == state) {
          found = s;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  std::string framework_id() {
    std::lock_guard<std::mutex> lock(mu_);
    return framework_id_;
  }
  int subscriptions() {
    std::lock_guard<std::mutex> lock(mu_);
    return subscriptions_;
  }
  // Every callback, in order: "subscribed", "reconciled", "disconnected",
  // "reconnected", "offers", "update TASK STATE", "error MESSAGE".
  std::vector<std::string> Events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

  // Scheduler callbacks (driver thread).
  void Subscribed(sdk::SchedulerDriver&, const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    framework_id_ = id;
    ++subscriptions_;
    events_.push_back("subscribed");
  }
  void Reconciled(sdk::SchedulerDriver&) override { Record("reconciled"); }
  void Disconnected(sdk::SchedulerDriver&, const std::string&) override { Record("disconnected"); }
  void Reconnected(sdk::SchedulerDriver&) override { Record("reconnected"); }
  void Error(sdk::SchedulerDriver&, const std::string& message) override { Record("error " + message); }
  void Offers(sdk::SchedulerDriver& driver, const std::vector<sdk::Offer>& offers) override {
    Record("offers");
    if (hook_) return hook_(driver, offers);
    for (const sdk::Offer& offer : offers) {
      Resources left = offer.resources;
      std::vector<TaskSpec> batch;
      for (auto it = queue_.begin(); it != queue_.end();) {
        bool host_ok = it->second.empty() || it->second == offer.hostname;
        if (host_ok && left.Contains(it->first.resources)) {
          left -= it->first.resources;
          batch.push_back(std::move(it->first));
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
      if (!batch.empty()) driver.Launch({offer.id}, batch);
    }
  }
  void Update(sdk::SchedulerDriver&, const TaskStatus& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    updates_.push_back(status);
    events_.push_back(absl::StrCat("update ", status.task_id, " ", TaskStateName(status.state)));
    cv_.notify_all();
  }
  bool WantsOffers() const override { return !queue_.empty() || hook_ != nullptr; }

 private:
  void Record(std::string event) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(event));
  }

  std::deque<std::pair<TaskSpec, std::string>> queue_;  // driver thread only
  OffersHook hook_;                                     // driver thread only
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<TaskStatus> updates_;
  std::vector<std::string> events_;
  std::string framework_id_;
  int subscriptions_ = 0;
  sdk::SchedulerDriver driver_;
  std::thread thread_;
};

inline TaskSpec Command(const std::string& id, const std::string& command, double cpus = 0.1,
                        double mem = 32) {
  TaskSpec t;
  t.task_id = id;
  t.name = id;
  t.command = command;
  t.resources = Resources::Scalars(cpus, mem, 0);
  return t;
}

}  // namespace agora::testing
