// CronSchedule: a 5-field cron expression ("minute hour day-of-month month
// day-of-week") and the next time it fires in a time zone. Fields take `*`,
// numbers, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, and month and
// day names (`jan`, `mon`); day-of-week 0 and 7 are Sunday. As in Vixie cron,
// when both day fields are restricted a day matches if either does. Also
// `@yearly`, `@monthly`, `@weekly`, `@daily`, `@hourly`. Value type.
//
// Example:
//   auto nightly = CronSchedule::Parse("0 3 * * *");
//   absl::Time next = nightly->Next(absl::Now(), absl::UTCTimeZone());
#pragma once

#include <bitset>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace agora::batch {

class CronSchedule {
 public:
  // InvalidArgument naming the bad field, e.g. "hour: 24 is outside 0-23".
  static absl::StatusOr<CronSchedule> Parse(absl::string_view text);

  // The first whole minute strictly after `after` that matches, in `tz`.
  // Local times skipped by a DST jump fire at the first valid instant after;
  // repeated local times fire once. InfiniteFuture() if none within 5 years
  // (e.g. "0 0 31 2 *").
  absl::Time Next(absl::Time after, absl::TimeZone tz) const;

  const std::string& text() const { return text_; }

 private:
  bool DayMatches(int day_of_month, int day_of_week) const;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;    // 1..31
  std::bitset<13> months_;  // 1..12
  std::bitset<7> weekdays_; // 0..6, Sunday 0
  bool days_restricted_ = false;
  bool weekdays_restricted_ = false;
};

// Loads a named time zone ("UTC", "Europe/Paris"); InvalidArgument if unknown.
absl::StatusOr<absl::TimeZone> LoadZone(absl::string_view name);

}  // namespace agora::batch
