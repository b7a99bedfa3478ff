#include "master/heartbeat_monitor.h"

#include <algorithm>

namespace agora::master {

HeartbeatMonitor::HeartbeatMonitor(absl::Duration timeout, absl::Duration granularity)
    : timeout_(timeout),
      granularity_(std::max(granularity, absl::Milliseconds(1))),
      // One lap must be longer than a timeout so a live deadline never
      // shares a bucket with one a lap later, except after a stall.
      ring_(static_cast<size_t>(absl::Ceil(timeout, granularity_) / granularity_) + 2) {}

int64_t HeartbeatMonitor::TickOf(absl::Time t) const {
  return absl::ToInt64Milliseconds(t - absl::UnixEpoch()) /
         absl::ToInt64Milliseconds(granularity_);
}

void HeartbeatMonitor::Arm(const std::string& key, Deadline& d, int64_t tick) {
  d.armed_tick = tick;
  ring_[static_cast<size_t>(tick) % ring_.size()].push_back({key, tick});
}

void HeartbeatMonitor::Beat(const std::string& key, absl::Time now) {
  // Round the deadline up to the next tick: we never expire early.
  const int64_t tick = TickOf(now + timeout_) + 1;
  auto [it, inserted] = deadlines_.try_emplace(key, Deadline{tick, tick});
  if (inserted) {
    Arm(key, it->second, tick);
  } else {
    it->second.deadline_tick = tick;  // its entry moves when its bucket comes due
  }
}

std::vector<std::string> HeartbeatMonitor::Expire(absl::Time now) {
  std::vector<std::string> expired;
  const int64_t now_tick = TickOf(now);
  if (last_expired_tick_ == INT64_MIN) last_expired_tick_ = now_tick - static_cast<int64_t>(ring_.size());
  const int64_t n = static_cast<int64_t>(ring_.size());
  const int64_t first = std::max(last_expired_tick_ + 1, now_tick - n + 1);
  for (int64_t tick = first; tick <= now_tick; ++tick) {
    std::vector<Entry> bucket;
    bucket.swap(ring_[static_cast<size_t>(tick) % ring_.size()]);
    for (Entry& e : bucket) {
      auto it = deadlines_.find(e.key);
      if (it == deadlines_.end() || it->second.armed_tick != e.tick) continue;  // stale
      Deadline& d = it->second;
      if (e.tick > now_tick) {
        Arm(e.key, d, e.tick);  // a later lap (only after a stall)
      } else if (d.deadline_tick <= now_tick) {
        deadlines_.erase(it);
        expired.push_back(std::move(e.key));
      } else {
        Arm(e.key, d, d.deadline_tick);  // beat since: wait for the new deadline
      }
    }
  }
  last_expired_tick_ = std::max(last_expired_tick_, now_tick);
  return expired;
}

}  // namespace agora::master
