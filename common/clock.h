// Clock is the one source of time for Agora's event loops and core logic, so
// that tests drive time by hand (FakeClock) and never sleep.
// SystemClock is thread-safe; FakeClock is meant for one test thread.
#pragma once

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace agora {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// Time stands still until Advance() moves it.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000))
      : now_(start) {}
  absl::Time Now() const override { return now_; }
  void Advance(absl::Duration d) { now_ += d; }

 private:
  absl::Time now_;
};

}  // namespace agora
