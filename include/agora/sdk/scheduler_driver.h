// SchedulerDriver connects a Scheduler to the master and owns the loop and
// the socket. It subscribes (again, with the framework id, after the master
// restarts or goes silent), heartbeats, reconciles after every subscription,
// acknowledges a turn's updates after Scheduler::Checkpoint(), declines offers nobody
// used, turns a rejected launch into TASK_ERROR updates for its tasks, and
// suppresses or revives offers as Scheduler::WantsOffers() says.
//
// Thread-safety: Run() blocks its thread; Stop() and Post() may be called
// from any thread; everything else only from callbacks and timers (the loop
// thread).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agora/sdk/scheduler.h"

namespace agora::sdk {

// A framework's CurveZMQ keys for a secured master, as Z85 text.
struct CurveKeys {
  std::string secret_key;         // the framework's
  std::string public_key;         // its public half
  std::string master_public_key;  // the master's
};
// Reads the files `agora keys generate` writes: the framework's NAME.key and
// the master's .pub. Errors name the file.
absl::StatusOr<CurveKeys> ReadCurveKeys(const std::string& secret_key_file,
                                        const std::string& master_public_key_file);

struct FrameworkInfo {
  std::string name;
  std::string role = "*";
  // How long the master keeps this framework's tasks while it is away.
  // Zero: they are killed as soon as it disconnects.
  absl::Duration failover_timeout = absl::Hours(24 * 7);
  std::string framework_id;  // set to resume an earlier subscription
  std::string endpoint;      // the framework's own API, announced to the master
  std::string endpoint_cert_sha256;  // its HTTPS certificate's fingerprint (secured)
  std::optional<CurveKeys> curve;    // keys for a secured master
};

class DriverCore;

// How long a declined offer's resources stay away from this framework, unless
// Decline() says otherwise (unanswered offers are declined with it too).
inline constexpr absl::Duration kDefaultRefusal = absl::Seconds(5);

class SchedulerDriver {
 public:
  using TimerId = uint64_t;

  // `master`: tcp://HOST:PORT, or zk://HOST:PORT,.../PATH to follow the
  // leader of several masters.
  SchedulerDriver(Scheduler& scheduler, FrameworkInfo info, std::string master);
  ~SchedulerDriver();
  SchedulerDriver(const SchedulerDriver&) = delete;
  SchedulerDriver& operator=(const SchedulerDriver&) = delete;

  // Runs until Stop(). Returns 0 after a clean stop, 1 after a fatal error.
  int Run();
  // Thread-safe. With failover=false the framework is torn down first (its
  // tasks are killed); with true it stays registered for failover.
  void Stop(bool failover = true);
  // Thread-safe: runs `fn` on the loop thread.
  void Post(std::function<void()> fn);

  // Timers, run on the loop thread: once after `delay`, or every `period`
  // until cancelled. Cancel() of a timer that ran or of 0 does nothing.
  TimerId After(absl::Duration delay, std::function<void()> fn);
  TimerId Every(absl::Duration period, std::function<void()> fn);
  void Cancel(TimerId id);
  // The loop's clock.
  absl::Time Now() const;

  // Launches `tasks` on the named offers (all of one agent). Resources of the
  // offers the tasks do not use return to the pool at once.
  void Launch(const std::vector<std::string>& offer_ids, const std::vector<TaskSpec>& tasks);
  void Decline(const std::vector<std::string>& offer_ids,
               absl::Duration refuse = kDefaultRefusal);
  void Kill(const std::string& task_id);
  // Empty: every task the master knows of this framework.
  void Reconcile(const std::vector<std::string>& task_ids = {});
  void Suppress();
  void Revive();
  // Re-reads Scheduler::WantsOffers() and suppresses or revives to match.
  // Callbacks do this for you; call it when work arrives from elsewhere (a
  // timer, an API request posted to the loop).
  void WantsOffersChanged();

  // The framework's own API endpoint, announced when it subscribes. Call
  // before Run().
  void SetEndpoint(std::string endpoint, std::string cert_sha256 = "");

  const std::string& framework_id() const;
  bool subscribed() const;

 private:
  friend DriverCore& CoreOf(SchedulerDriver& driver);
  std::unique_ptr<DriverCore> core_;
};

}  // namespace agora::sdk
