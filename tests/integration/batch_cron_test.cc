// agora-batch's schedules on the real clock: a cron job fires on a minute
// boundary, and `concurrency: forbid` skips a firing while the last run is
// active. Slow (up to two minutes) by nature, so it is its own binary that
// ctest starts first.
#include "absl/strings/numbers.h"
#include "tests/integration/framework_fixture.h"

namespace agora::testing {
namespace {

TEST_F(BatchTest, CronFiresOnScheduleAndForbidSkipsWhileTheLastRunIsActive) {
  Start();
  // Every minute; each run outlives the next firing, so `forbid` skips it.
  CliResult r = Cli({"job", "submit", Write("cron.yaml", absl::StrCat(
      "name: minutely\ncommand: date +%s >> ", dir(), "/fired; sleep 70\n",
      "schedule: '* * * * *'\nconcurrency: forbid\n"))});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  nlohmann::json crons = CliJson({"cron", "list"});
  ASSERT_EQ(crons.size(), 1u);
  EXPECT_EQ(crons[0]["concurrency"], "forbid");
  ASSERT_TRUE(WaitFor([&] { return Lines("fired").size() == 1; }, absl::Seconds(70)));
  int fired_at = 0;
  ASSERT_TRUE(absl::SimpleAtoi(Lines("fired")[0], &fired_at));
  EXPECT_LE(fired_at % 60, 5) << "fired on a minute boundary";
  ASSERT_TRUE(WaitFor([&] { return CliJson({"cron", "list"})[0].value("skipped", 0) == 1; },
                      absl::Seconds(70)));
  EXPECT_EQ(Lines("fired").size(), 1u);  // the second firing did not start a run
  EXPECT_EQ(Cli({"cron", "pause", "minutely"}).exit_code, 0);
  EXPECT_EQ(CliJson({"cron", "list"})[0]["paused"], true);
  EXPECT_EQ(CliJson({"cron", "list"})[0]["next_fire"], nullptr);
}

}  // namespace
}  // namespace agora::testing
