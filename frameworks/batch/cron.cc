#include "frameworks/batch/cron.h"

#include <array>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace agora::batch {
namespace {

struct FieldRange {
  const char* name;
  int min;
  int max;
  std::vector<absl::string_view> names;  // names[i] is value min + i
};

const FieldRange kFields[5] = {
    {"minute", 0, 59, {}},
    {"hour", 0, 23, {}},
    {"day of month", 1, 31, {}},
    {"month", 1, 12, {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
    {"day of week", 0, 7, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
};

absl::StatusOr<int> ParseValue(const FieldRange& f, absl::string_view text) {
  std::string lower = absl::AsciiStrToLower(text);
  for (size_t i = 0; i < f.names.size(); ++i) {
    if (lower == f.names[i]) return f.min + static_cast<int>(i);
  }
  int v = 0;
  if (!absl::SimpleAtoi(text, &v)) {
    return absl::InvalidArgumentError(absl::StrCat(f.name, ": '", text, "' is not a number"));
  }
  if (v < f.min || v > f.max) {
    return absl::InvalidArgumentError(
        absl::StrCat(f.name, ": ", v, " is outside ", f.min, "-", f.max));
  }
  return v;
}

// Sets bit v for every value `field` selects; `*restricted` is false for "*".
absl::Status ParseField(const FieldRange& f, absl::string_view field, std::vector<bool>* bits,
                        bool* restricted) {
  bits->assign(f.max + 1, false);
  *restricted = !(field == "*" || absl::StartsWith(field, "*/"));
  for (absl::string_view item : absl::StrSplit(field, ',')) {
    absl::string_view range = item;
    int step = 1;
    if (size_t slash = item.find('/'); slash != absl::string_view::npos) {
      range = item.substr(0, slash);
      if (!absl::SimpleAtoi(item.substr(slash + 1), &step) || step <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(f.name, ": bad step in '", item, "'"));
      }
    }
    int lo = f.min, hi = f.max;
    if (range != "*") {
      std::vector<absl::string_view> ends = absl::StrSplit(range, '-');
      if (ends.size() > 2 || ends[0].empty()) {
        return absl::InvalidArgumentError(absl::StrCat(f.name, ": bad range '", item, "'"));
      }
      auto a = ParseValue(f, ends[0]);
      if (!a.ok()) return a.status();
      lo = hi = *a;
      if (ends.size() == 2) {
        auto b = ParseValue(f, ends[1]);
        if (!b.ok()) return b.status();
        hi = *b;
      } else if (step > 1) {
        hi = f.max;  // "5/15" means 5-max/15
      }
      if (lo > hi) {
        return absl::InvalidArgumentError(
            absl::StrCat(f.name, ": range '", item, "' runs backwards"));
      }
    }
    for (int v = lo; v <= hi; v += step) (*bits)[v] = true;
  }
  return absl::OkStatus();
}

absl::string_view Expand(absl::string_view text) {
  if (text == "@yearly" || text == "@annually") return "0 0 1 1 *";
  if (text == "@monthly") return "0 0 1 * *";
  if (text == "@weekly") return "0 0 * * 0";
  if (text == "@daily" || text == "@midnight") return "0 0 * * *";
  if (text == "@hourly") return "0 * * * *";
  return text;
}

}  // namespace

absl::StatusOr<CronSchedule> CronSchedule::Parse(absl::string_view text) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(Expand(absl::StripAsciiWhitespace(text)), ' ', absl::SkipEmpty());
  if (fields.size() != 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' has ", fields.size(),
        " fields; a schedule has 5: minute hour day-of-month month day-of-week"));
  }
  CronSchedule c;
  c.text_ = std::string(absl::StripAsciiWhitespace(text));
  std::vector<bool> bits;
  bool restricted = false;
  for (int i = 0; i < 5; ++i) {
    if (absl::Status s = ParseField(kFields[i], fields[i], &bits, &restricted); !s.ok()) return s;
    for (size_t v = 0; v < bits.size(); ++v) {
      if (!bits[v]) continue;
      switch (i) {
        case 0: c.minutes_.set(v); break;
        case 1: c.hours_.set(v); break;
        case 2: c.days_.set(v); break;
        case 3: c.months_.set(v); break;
        case 4: c.weekdays_.set(v % 7); break;
      }
    }
    if (i == 2) c.days_restricted_ = restricted;
    if (i == 4) c.weekdays_restricted_ = restricted;
  }
  return c;
}

bool CronSchedule::DayMatches(int day_of_month, int day_of_week) const {
  bool dom = days_.test(day_of_month), dow = weekdays_.test(day_of_week);
  if (days_restricted_ && weekdays_restricted_) return dom || dow;
  return dom && dow;
}

absl::Time CronSchedule::Next(absl::Time after, absl::TimeZone tz) const {
  absl::CivilMinute start = absl::ToCivilMinute(after, tz) + 1;
  const absl::CivilDay last_day = absl::CivilDay(start) + 5 * 366;
  // Day by day, then hour by hour, then minute by minute: at most ~1,800 days
  // plus 24 + 60 steps, so a schedule that never fires still costs microseconds.
  for (absl::CivilDay day = absl::CivilDay(start); day <= last_day; ++day) {
    if (!months_.test(day.month())) {
      day = absl::CivilDay(absl::CivilMonth(day) + 1) - 1;  // jump to the month's end
      continue;
    }
    // absl counts Monday as 0; cron counts Sunday as 0.
    if (!DayMatches(day.day(), (static_cast<int>(absl::GetWeekday(day)) + 1) % 7)) continue;
    absl::CivilHour first_hour = day == absl::CivilDay(start) ? absl::CivilHour(start)
                                                              : absl::CivilHour(day);
    for (absl::CivilHour h = first_hour; absl::CivilDay(h) == day; ++h) {
      if (!hours_.test(h.hour())) continue;
      absl::CivilMinute m = h == absl::CivilHour(start) ? start : absl::CivilMinute(h);
      for (; absl::CivilHour(m) == h; ++m) {
        if (!minutes_.test(m.minute())) continue;
        absl::TimeZone::TimeInfo info = tz.At(m);
        absl::Time t = info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
        if (t > after) return t;
      }
    }
  }
  return absl::InfiniteFuture();
}

absl::StatusOr<absl::TimeZone> LoadZone(absl::string_view name) {
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(std::string(name), &tz)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown time zone '", name, "'"));
  }
  return tz;
}

}  // namespace agora::batch
