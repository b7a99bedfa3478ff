// HeartbeatMonitor finds peers (agents, frameworks) whose heartbeats stopped.
// Deadline buckets on a ring, each key in one bucket at a time: Beat() is one
// map update (the key's deadline moves, its bucket entry stays), and Expire()
// visits only the buckets whose time has come, moving a key that beat since
// to the bucket of its new deadline (once per timeout, not once per beat).
// It never visits every peer. Pure logic with time passed in; not
// thread-safe; master loop only.
//
// Example:
//   HeartbeatMonitor monitor(absl::Seconds(5), absl::Milliseconds(50));
//   monitor.Beat("a-1", now);
//   for (const std::string& key : monitor.Expire(now + absl::Seconds(6))) ...
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace agora::master {

class HeartbeatMonitor {
 public:
  HeartbeatMonitor(absl::Duration timeout, absl::Duration granularity);

  absl::Duration timeout() const { return timeout_; }
  // The key expires when no Beat() comes within `timeout` of this one.
  void Beat(const std::string& key, absl::Time now);
  // Stops watching the key (idempotent).
  void Forget(const std::string& key) { deadlines_.erase(key); }
  bool Watching(const std::string& key) const { return deadlines_.contains(key); }
  // Keys whose deadline passed by `now`, each reported once; they are no
  // longer watched until their next Beat().
  std::vector<std::string> Expire(absl::Time now);
  size_t size() const { return deadlines_.size(); }

 private:
  struct Entry {
    std::string key;
    int64_t tick;  // the tick of the bucket it is in
  };
  struct Deadline {
    int64_t deadline_tick;
    int64_t armed_tick;  // where its one ring entry is; others are stale
  };
  int64_t TickOf(absl::Time t) const;
  void Arm(const std::string& key, Deadline& d, int64_t tick);

  absl::Duration timeout_;
  absl::Duration granularity_;
  std::vector<std::vector<Entry>> ring_;
  absl::flat_hash_map<std::string, Deadline> deadlines_;
  int64_t last_expired_tick_ = INT64_MIN;
};

}  // namespace agora::master
