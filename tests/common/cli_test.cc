#include "common/cli.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace agora {
namespace {

// A daemon's command line: kebab-case flags with their snake_case aliases.
struct Daemon {
  CLI::App app{"test daemon"};
  std::string work_dir;
  absl::Duration timeout = absl::Seconds(1);

  Daemon() {
    app.add_option("--work-dir,--work_dir", work_dir, "where");
    AddDurationFlag(app, "--heartbeat-timeout,--heartbeat_timeout", &timeout, "how long");
    AddConfigFileFlag(app);
  }

  int Parse(std::vector<std::string> args) {
    args.insert(args.begin(), "agora-test");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    return ParseCommandLine(app, static_cast<int>(argv.size()), argv.data(),
                            [this](const std::string& message, const std::string& hint) {
                              error = message;
                              this->hint = hint;
                            });
  }

  std::string error, hint;
};

TEST(CliTest, FlagsTakeEitherSpelling) {
  Daemon kebab;
  EXPECT_EQ(kebab.Parse({"--work-dir", "/a", "--heartbeat-timeout=3s"}), -1);
  EXPECT_EQ(kebab.work_dir, "/a");
  EXPECT_EQ(kebab.timeout, absl::Seconds(3));
  Daemon snake;
  EXPECT_EQ(snake.Parse({"--work_dir=/b", "--heartbeat_timeout", "2m"}), -1);
  EXPECT_EQ(snake.work_dir, "/b");
  EXPECT_EQ(snake.timeout, absl::Minutes(2));
}

TEST(CliTest, ConfigFileKeysTakeEitherSpelling) {
  const std::string path = ::testing::TempDir() + "/cli_test.toml";
  std::ofstream(path) << "work-dir = \"/c\"\nheartbeat_timeout = \"5s\"\n";
  Daemon d;
  EXPECT_EQ(d.Parse({"--config", path}), -1) << d.error;
  EXPECT_EQ(d.work_dir, "/c");
  EXPECT_EQ(d.timeout, absl::Seconds(5));
  std::ofstream(path) << "work_dri = \"/c\"\n";
  Daemon typo;
  EXPECT_EQ(typo.Parse({"--config", path}), 2);  // unknown keys are errors
  EXPECT_EQ(typo.error, "--config: 'work_dri' is not a flag of agora-test");
  EXPECT_EQ(typo.hint, "did you mean 'work-dir'?");  // named as the flag's first name
  std::filesystem::remove(path);
}

TEST(CliTest, ABadDurationNamesTheFlagOnce) {
  Daemon d;
  EXPECT_EQ(d.Parse({"--heartbeat_timeout", "soon"}), 2);
  EXPECT_EQ(d.error, "--heartbeat-timeout: 'soon' is not a duration (examples: 500ms, 1s, 2m, 1h, 7d)");
}

TEST(CliTest, AMistypedFlagGetsTheOneMeant) {
  Daemon d;
  EXPECT_EQ(d.Parse({"--wrok-dir", "/a"}), 2);
  EXPECT_EQ(d.hint, "'--wrok-dir' is not a flag; did you mean '--work-dir'?");
  Daemon snake;  // the kebab-case name, whichever spelling was nearer
  EXPECT_EQ(snake.Parse({"--wrok_dir", "/a"}), 2);
  EXPECT_EQ(snake.hint, "'--wrok_dir' is not a flag; did you mean '--work-dir'?");
  Daemon far;
  EXPECT_EQ(far.Parse({"--colour=red"}), 2);
  EXPECT_EQ(far.hint, "");  // nothing near enough
}

TEST(CliTest, DurationsTakeDays) {
  EXPECT_EQ(*ParseDurationFlag("7d"), absl::Hours(168));
  EXPECT_EQ(*ParseDurationFlag("500ms"), absl::Milliseconds(500));
  EXPECT_FALSE(ParseDurationFlag("-1s").ok());
  EXPECT_FALSE(ParseDurationFlag("1 fortnight").ok());
}

}  // namespace
}  // namespace agora
