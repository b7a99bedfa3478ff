// JobQueues holds the jobs that are ready to run (their dependencies met, no
// backoff pending), one ordered queue per name, and picks which runs next:
//   fcfs      by submission time;
//   sjf       by estimated duration;
//   srtf      by remaining time, and a running job may be preempted for a
//             shorter one (PreemptionVictim);
//   priority  by the logistic score p = 1 / (1 + e^(-k (x - x0))) of the
//             priority x, plus `aging` per second waited.
// Between queues, weighted fair share: the queue with the least running cpus
// per unit of weight goes first.
//
// Every order is a static key, so a decision costs O(queues + log n) however
// many jobs wait: aging adds the same amount per second to every waiting job,
// so ordering by score(now) = p + aging (now - submitted) is ordering by
// p - aging * submitted. Pure logic, shared by the framework and the
// simulator; time is passed in. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agora/resources.h"

namespace agora::batch {

enum class Policy { kFcfs, kSjf, kSrtf, kPriority };
absl::string_view PolicyName(Policy p);
absl::StatusOr<Policy> ParsePolicy(absl::string_view name);

struct QueueConfig {
  std::string name;
  Policy policy = Policy::kFcfs;
  double weight = 1;
  double logistic_k = 1;     // steepness of the priority score
  double logistic_x0 = 0;    // the priority that scores 0.5
  double aging_per_s = 1.0 / 600;  // score gained per second waited: +1 in 10 min
};

// The logistic priority score, in (0, 1).
double PriorityScore(const QueueConfig& q, double priority);

struct QueuedJob {
  std::string id;
  std::string queue;
  Resources ask;
  double priority = 0;
  absl::Duration estimate = absl::ZeroDuration();  // sjf: whole; srtf: what remains
  absl::Time submitted = absl::UnixEpoch();
  bool preemptible = true;
};

class JobQueues {
 public:
  // Creates or changes a queue. Changing the policy re-sorts its waiting jobs.
  void Configure(const QueueConfig& config);
  // The queue's config; a queue named by a job but never configured is FCFS.
  const QueueConfig& Config(const std::string& queue);
  std::vector<QueueConfig> Configs() const;

  void Push(QueuedJob job);
  // False when `id` is not waiting.
  bool Remove(const std::string& id);
  bool Contains(const std::string& id) const { return where_.contains(id); }

  // The heads of all non-empty queues, in the order fair share serves them.
  std::vector<const QueuedJob*> Heads() const;
  // Removes and returns the head of `queue`. Precondition: non-empty.
  QueuedJob Pop(const std::string& queue);

  // Running jobs, for fair share and SRTF. `expected_end` is start + estimate.
  void OnStarted(const QueuedJob& job, absl::Time expected_end);
  void OnStopped(const std::string& id);

  // For an SRTF queue whose head cannot be placed: the running preemptible job
  // of that queue with the longest remaining time, if that is longer than the
  // head's and the job's resources would hold the head. Costs O(log n).
  std::optional<std::string> PreemptionVictim(const QueuedJob& head, absl::Time now) const;
  // What remains of a running job's estimate at `now` (never negative).
  absl::Duration Remaining(const std::string& id, absl::Time now) const;

  size_t waiting() const { return where_.size(); }
  size_t waiting(const std::string& queue) const;
  size_t running() const { return running_.size(); }
  int64_t running_cpus_milli(const std::string& queue) const;

 private:
  using Key = std::pair<double, uint64_t>;  // (policy order, arrival sequence)
  struct Queue {
    QueueConfig config;
    absl::btree_set<Key> order;
    absl::flat_hash_map<uint64_t, QueuedJob> jobs;
    int64_t running_cpus = 0;
    absl::btree_set<std::pair<absl::Time, std::string>> running_by_end;  // preemptible only
  };
  struct Running {
    std::string queue;
    int64_t cpus = 0;
    absl::Time expected_end;
    Resources ask;
    bool preemptible = true;
  };

  Queue& GetQueue(const std::string& name);
  double OrderKey(const QueueConfig& c, const QueuedJob& job) const;

  absl::flat_hash_map<std::string, Queue> queues_;
  struct Where {
    std::string queue;
    Key key;
  };
  absl::flat_hash_map<std::string, Where> where_;  // waiting job id -> its place
  absl::flat_hash_map<std::string, Running> running_;
  uint64_t next_seq_ = 0;
};

}  // namespace agora::batch
