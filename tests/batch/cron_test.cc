#include "frameworks/batch/cron.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace agora::batch {
namespace {

absl::Time Utc(int y, int mo, int d, int h, int mi) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::UTCTimeZone());
}

absl::Time Next(absl::string_view cron, absl::Time after, absl::TimeZone tz = absl::UTCTimeZone()) {
  auto c = CronSchedule::Parse(cron);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? c->Next(after, tz) : absl::InfinitePast();
}

TEST(CronTest, NextFireTimes) {
  const absl::Time t = Utc(2026, 11, 23, 5, 14);  // a Monday
  EXPECT_EQ(Next("0 3 * * *", t), Utc(2026, 11, 24, 3, 0));
  EXPECT_EQ(Next("* * * * *", t), Utc(2026, 11, 23, 5, 15));
  EXPECT_EQ(Next("*/15 * * * *", t), Utc(2026, 11, 23, 5, 15));
  EXPECT_EQ(Next("*/15 * * * *", Utc(2026, 11, 23, 5, 15)), Utc(2026, 11, 23, 5, 30));
  EXPECT_EQ(Next("30 9-17/4 * * mon-fri", t), Utc(2026, 11, 23, 9, 30));
  EXPECT_EQ(Next("0 0 * * sun", t), Utc(2026, 11, 29, 0, 0));
  EXPECT_EQ(Next("0 0 * * 7", t), Utc(2026, 11, 29, 0, 0));  // 7 is Sunday too
  EXPECT_EQ(Next("0 0 1 jan *", t), Utc(2027, 1, 1, 0, 0));
  EXPECT_EQ(Next("0 12 29 2 *", t), Utc(2028, 2, 29, 12, 0));  // the next leap day
  EXPECT_EQ(Next("@hourly", t), Utc(2026, 11, 23, 6, 0));
  EXPECT_EQ(Next("0 0 31 2 *", t), absl::InfiniteFuture());
}

TEST(CronTest, BothDayFieldsRestrictedMatchEither) {
  // Vixie cron: the 1st of the month OR any Friday.
  EXPECT_EQ(Next("0 0 1 * fri", Utc(2026, 11, 23, 5, 14)), Utc(2026, 11, 27, 0, 0));
  EXPECT_EQ(Next("0 0 1 * fri", Utc(2026, 11, 28, 0, 0)), Utc(2026, 12, 1, 0, 0));
}

TEST(CronTest, NamedTimeZonesAndDaylightSaving) {
  auto paris = LoadZone("Europe/Paris");
  ASSERT_TRUE(paris.ok());
  // 03:00 in Paris in winter is 02:00 UTC.
  EXPECT_EQ(Next("0 3 * * *", Utc(2026, 11, 23, 5, 0), *paris), Utc(2026, 11, 24, 2, 0));
  // 2027-03-28 02:30 does not exist in Paris: it fires at the jump (01:00 UTC).
  EXPECT_EQ(Next("30 2 * * *", Utc(2027, 3, 27, 12, 0), *paris), Utc(2027, 3, 28, 1, 0));
  EXPECT_FALSE(LoadZone("Nowhere/Atlantis").ok());
}

TEST(CronTest, RejectsBadExpressionsWithTheField) {
  auto bad = [](absl::string_view text) {
    auto c = CronSchedule::Parse(text);
    return c.ok() ? std::string("accepted") : std::string(c.status().message());
  };
  using ::testing::HasSubstr;
  EXPECT_THAT(bad("60 * * * *"), HasSubstr("minute: 60 is outside 0-59"));
  EXPECT_THAT(bad("0 24 * * *"), HasSubstr("hour: 24 is outside 0-23"));
  EXPECT_THAT(bad("0 0 0 * *"), HasSubstr("day of month: 0 is outside 1-31"));
  EXPECT_THAT(bad("0 0 * foo *"), HasSubstr("month: 'foo' is not a number"));
  EXPECT_THAT(bad("0 0 * * 1-"), HasSubstr("day of week"));
  EXPECT_THAT(bad("*/0 * * * *"), HasSubstr("minute: bad step"));
  EXPECT_THAT(bad("5-1 * * * *"), HasSubstr("runs backwards"));
  EXPECT_THAT(bad("* * * *"), HasSubstr("has 4 fields"));
}

}  // namespace
}  // namespace agora::batch
