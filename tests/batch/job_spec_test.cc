#include "frameworks/batch/job_spec.h"

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace agora::batch {
namespace {

using ::testing::HasSubstr;

// The workflow issue 4 promises to accept as written.
constexpr char kPromisedWorkflow[] = R"(
jobs:
  - name: extract
    command: echo extract >> out.txt
    resources: {cpus: 0.1, mem: 32}
    queue: default
    priority: 5
    estimated_duration: 2s
    retries: 2
    backoff: 1s
    timeout: 1m
  - name: transform
    command: echo transform >> out.txt
    depends_on: [extract]
  - name: report
    command: echo report >> out.txt
    depends_on: [{job: transform, on: any}]
  - name: shards
    command: echo shard $AGORA_ARRAY_INDEX
    array: 10
)";

constexpr char kPromisedCron[] = R"(
name: nightly
command: echo nightly
resources: {cpus: 0.1, mem: 32}
schedule: "0 3 * * *"
concurrency: forbid
)";

std::string Error(absl::string_view yaml) {
  auto wf = ParseWorkflow(yaml);
  EXPECT_FALSE(wf.ok()) << yaml;
  return wf.ok() ? "" : std::string(wf.status().message());
}

TEST(JobSpecTest, AcceptsThePromisedWorkflow) {
  auto wf = ParseWorkflow(kPromisedWorkflow);
  ASSERT_TRUE(wf.ok()) << wf.status();
  ASSERT_EQ(wf->jobs.size(), 4u);
  const JobSpec& extract = wf->jobs[0];
  EXPECT_EQ(extract.priority, 5);
  EXPECT_EQ(extract.estimated_duration, absl::Seconds(2));
  EXPECT_EQ(extract.retries, 2);
  EXPECT_EQ(extract.timeout, absl::Minutes(1));
  EXPECT_EQ(extract.resources, Resources::Scalars(0.1, 32, 0));
  EXPECT_EQ(wf->jobs[1].depends_on[0].job, "extract");
  EXPECT_EQ(wf->jobs[1].depends_on[0].on, DependencyCondition::kSuccess);
  EXPECT_EQ(wf->jobs[2].depends_on[0].on, DependencyCondition::kAny);
  EXPECT_EQ(wf->jobs[3].array, 10);
  EXPECT_EQ(wf->jobs[3].resources, Resources::Scalars(0.1, 32, 0));  // the default
  EXPECT_FALSE(wf->schedule.has_value());
}

TEST(JobSpecTest, AcceptsThePromisedRecurringJob) {
  auto wf = ParseWorkflow(kPromisedCron);
  ASSERT_TRUE(wf.ok()) << wf.status();
  EXPECT_EQ(wf->name, "nightly");
  ASSERT_TRUE(wf->schedule.has_value());
  EXPECT_EQ(wf->schedule->cron, "0 3 * * *");
  EXPECT_EQ(wf->schedule->concurrency, Concurrency::kForbid);
  EXPECT_EQ(wf->schedule->time_zone, "UTC");
}

TEST(JobSpecTest, TheExamplesParse) {
  for (const char* name : {"etl.yaml", "nightly.yaml"}) {
    std::ifstream in(std::string(AGORA_SOURCE_DIR) + "/examples/batch/" + name);
    std::stringstream text;
    text << in.rdbuf();
    auto wf = ParseWorkflow(text.str());
    EXPECT_TRUE(wf.ok()) << name << ": " << wf.status();
  }
}

TEST(JobSpecTest, ErrorsNameTheField) {
  EXPECT_THAT(Error("name: a\ncommand: x\ncpus: 1\n"), HasSubstr("cpus: unknown field"));
  EXPECT_THAT(Error("name: a\n"), HasSubstr("command: required"));
  EXPECT_THAT(Error("jobs:\n  - name: a\n    command: x\n    resoures: {cpus: 1}\n"),
              HasSubstr("jobs[0].resoures: unknown field"));
  EXPECT_THAT(Error("name: a\ncommand: x\nresources: {cpus: lots}\n"),
              HasSubstr("resources.cpus: 'lots' has the wrong type"));
  EXPECT_THAT(Error("name: a\ncommand: x\ntimeout: soon\n"), HasSubstr("timeout: 'soon' is not a duration"));
  EXPECT_THAT(Error("name: a\ncommand: x\nretries: -1\n"), HasSubstr("retries: must be between"));
  EXPECT_THAT(Error("name: a b\ncommand: x\n"), HasSubstr("name:"));
  EXPECT_THAT(Error("name: a\ncommand: x\nschedule: '61 * * * *'\n"),
              HasSubstr("schedule: minute: 61 is outside 0-59"));
  EXPECT_THAT(Error("name: a\ncommand: x\nschedule: '0 3 * *'\n"), HasSubstr("has 4 fields"));
  EXPECT_THAT(Error("name: a\ncommand: x\nschedule: '@daily'\ntime_zone: Mars/Olympus\n"),
              HasSubstr("time_zone: unknown time zone"));
  EXPECT_THAT(Error("name: a\ncommand: x\nconcurrency: forbid\n"),
              HasSubstr("concurrency: only meaningful with `schedule`"));
  EXPECT_THAT(Error("jobs: [{name: a, command: x, depends_on: [{job: a, on: maybe}]}]"),
              HasSubstr("jobs[0].depends_on[0].on: 'maybe' is not one of"));
  EXPECT_THAT(Error("jobs: [{name: a, command: x, schedule: '@daily'}]"),
              HasSubstr("jobs[0].schedule: a workflow's schedule goes at the top"));
  EXPECT_THAT(Error("jobs: [{name: a, command: [x]"), HasSubstr("not valid YAML"));
  EXPECT_THAT(Error("- a\n- b\n"), HasSubstr("a job file holds a map"));
}

TEST(JobSpecTest, RejectsUnknownDependenciesDuplicatesAndCycles) {
  EXPECT_THAT(Error("jobs: [{name: a, command: x, depends_on: [b]}]"),
              HasSubstr("jobs[0].depends_on[0]: unknown job 'b'"));
  EXPECT_THAT(Error("jobs: [{name: a, command: x}, {name: a, command: y}]"),
              HasSubstr("jobs[1].name: 'a' is used by two jobs"));
  EXPECT_THAT(Error("jobs: [{name: a, command: x, depends_on: [a]}]"),
              HasSubstr("cannot depend on itself"));
  EXPECT_THAT(Error(R"(jobs:
  - {name: a, command: x, depends_on: [c]}
  - {name: b, command: x, depends_on: [a]}
  - {name: c, command: x, depends_on: [b]}
)"),
              HasSubstr("dependency cycle a -> c -> b -> a"));
}

TEST(JobSpecTest, TopologicalOrderPutsDependenciesFirst) {
  auto wf = ParseWorkflow(R"(jobs:
  - {name: d, command: x, depends_on: [b, c]}
  - {name: b, command: x, depends_on: [a]}
  - {name: c, command: x, depends_on: [a]}
  - {name: a, command: x}
  - {name: e, command: x}
)");
  ASSERT_TRUE(wf.ok()) << wf.status();
  std::vector<std::string> names;
  for (int i : TopologicalOrder(*wf)) names.push_back(wf->jobs[i].name);
  EXPECT_THAT(names, ::testing::ElementsAre("a", "b", "c", "d", "e"));
}

TEST(JobSpecTest, CheckFitsAgainstTheLargestAgent) {
  auto wf = ParseWorkflow("jobs: [{name: a, command: x}, {name: b, command: x, resources: {cpus: 16}}]");
  ASSERT_TRUE(wf.ok());
  std::vector<Resources> agents = {Resources::Scalars(4, 4096, 0), Resources::Scalars(8, 1024, 0)};
  absl::Status s = CheckFits(*wf, agents);
  EXPECT_THAT(std::string(s.message()), HasSubstr("jobs[1].resources: no agent could ever hold it"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("cpus"));
  EXPECT_TRUE(CheckFits(*wf, {}).ok());  // no agents yet: nothing to judge by
  agents.push_back(Resources::Scalars(16, 1024, 0));
  EXPECT_TRUE(CheckFits(*wf, agents).ok());
}

}  // namespace
}  // namespace agora::batch

namespace agora::batch {
namespace {

// Each of these was once accepted; each is refused with the field named.
TEST(JobSpecTest, HostileNumbersSizesAndCountsAreRefused) {
  const std::string big_command(kMaxCommandBytes + 1, 'x');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"name: a\ncommand: true\nresources: {cpus: .nan}\n", "resources.cpus: '.nan' is not a finite number"},
      {"name: a\ncommand: true\nresources: {mem: .inf}\n", "resources.mem: '.inf' is not a finite number"},
      {"name: a\ncommand: true\nresources: {cpus: 1e300}\n", "resources.cpus: must be at most"},
      {"name: a\ncommand: true\npriority: .nan\n", "priority: '.nan' is not a finite number"},
      {"name: a\ncommand: true\nretries: 3\nbackoff: inf\n", "backoff: 'inf' is not a finite duration"},
      {"name: a\ncommand: true\narray: 100000\n", "an array may have at most 1001"},
      {"name: a\ncommand: " + big_command + "\n", "a command may have at most 65536"},
  };
  for (const auto& [yaml, message] : cases) {
    auto wf = ParseWorkflow(yaml);
    ASSERT_FALSE(wf.ok()) << yaml.substr(0, 80);
    EXPECT_THAT(std::string(wf.status().message()), HasSubstr(message));
  }
  // Ten arrays of 1,000 within the array limit are still too many for one run.
  std::string ten = "jobs:\n";
  for (int i = 0; i < 11; ++i) absl::StrAppend(&ten, "  - {name: j", i, ", command: true, array: 1000}\n");
  auto wf = ParseWorkflow(ten);
  ASSERT_FALSE(wf.ok());
  EXPECT_THAT(std::string(wf.status().message()), HasSubstr("11000 tasks in one run; at most 10000"));
  EXPECT_TRUE(ParseWorkflow(ten, SpecLimits{1001, 20000}).ok());
}

}  // namespace
}  // namespace agora::batch
