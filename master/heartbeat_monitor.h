// HeartbeatMonitor finds peers (agents, frameworks) whose heartbeats stopped.
// Deadline buckets on a ring: Beat() is O(1) (an append and a map update),
// Expire() visits only the buckets whose time has come, never every peer.
// Pure logic with time passed in; not thread-safe; master loop only.
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
    int64_t deadline_tick;
  };
  int64_t TickOf(absl::Time t) const;

  absl::Duration timeout_;
  absl::Duration granularity_;
  std::vector<std::vector<Entry>> ring_;
  absl::flat_hash_map<std::string, int64_t> deadlines_;  // key -> deadline tick
  int64_t last_expired_tick_ = INT64_MIN;
};

}  // namespace agora::master
