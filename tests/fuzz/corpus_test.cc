// Replays the fuzzers' seed corpus (tests/fuzz/corpus) through the same
// harnesses in the ordinary build, and under the sanitizers in CI: the seeds
// stay meaningful and the harnesses cannot rot. The conversations must also
// still do what they were written to do (a seed that stopped reaching the
// handlers would fuzz nothing).
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/fuzz/harness.h"
#include "tests/fuzz/http_harness.h"

namespace agora::fuzz {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> Seeds(const std::string& kind) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(fs::path(AGORA_SOURCE_DIR) / "tests/fuzz/corpus" / kind)) {
    std::ifstream in(e.path(), std::ios::binary);
    out.emplace_back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  return out;
}

std::string ReadSeed(const std::string& kind, const std::string& name) {
  std::ifstream in(fs::path(AGORA_SOURCE_DIR) / "tests/fuzz/corpus" / kind / name, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<Step> Parse(const std::string& bytes) {
  return ParseSteps(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

TEST(FuzzCorpusTest, EveryMasterSeedRunsCleanly) {
  auto seeds = Seeds("master");
  ASSERT_GT(seeds.size(), 10u);
  for (const std::string& seed : seeds) {
    MasterHarness h;
    for (const Step& s : Parse(seed)) h.Apply(s);
  }
}

TEST(FuzzCorpusTest, TheMasterConversationLaunchesTasksAndGetsTheirUpdates) {
  MasterHarness h;
  h.sent().keep = true;
  size_t run_tasks = 0, updates = 0, acks = 0;
  for (const Step& s : Parse(ReadSeed("master", "conversation"))) {
    h.Apply(s);
    for (const auto& [peer, frame] : h.sent().Take()) {
      zmq::message_t m(frame.data(), frame.size());
      FrameStats stats;
      (void)Decode(m, stats, [&](wire::Envelope::Reader env) {
        run_tasks += env.isRunTask();
        updates += env.isStatusUpdate();
        acks += env.isAcknowledge();
      });
    }
  }
  EXPECT_EQ(run_tasks, 2u);
  EXPECT_GE(updates, 3u);
  EXPECT_GE(acks, 3u);
}

TEST(FuzzCorpusTest, TheAgentConversationRunsItsTasksThroughAnExecutor) {
  AgentHarness h(/*capture=*/true);
  for (const Step& s : Parse(ReadSeed("agent", "conversation"))) h.Apply(s);
  EXPECT_EQ(h.executors().size(), 1u);
  size_t updates = 0;
  for (const std::string& frame : h.TakeSent()) {
    zmq::message_t m(frame.data(), frame.size());
    FrameStats stats;
    (void)Decode(m, stats, [&](wire::Envelope::Reader env) { updates += env.isStatusUpdate(); });
  }
  EXPECT_GE(updates, 4u);  // running, running, killed, failed, and the refused root task
}

TEST(FuzzCorpusTest, EveryDecodeSeedDecodes) {
  auto seeds = Seeds("decode");
  ASSERT_GT(seeds.size(), 10u);
  FrameStats stats;
  for (const std::string& seed : seeds) {
    zmq::message_t m(seed.data(), seed.size());
    EXPECT_TRUE(Decode(m, stats, [](wire::Envelope::Reader env) { (void)env.totalSize(); }).ok());
  }
}

// The HTTP seeds reach the handlers: the good requests succeed, the hostile
// ones are answered 4xx, and nothing crashes.
TEST(FuzzCorpusTest, TheHttpSeedsReachTheApisAndHostileRequestsAreRefused) {
  auto statuses = [](const std::string& name) {
    HttpHarness h;
    std::vector<int> out;
    const std::string seed = ReadSeed("http", name);
    for (const HttpStep& step : ParseHttpSteps(reinterpret_cast<const uint8_t*>(seed.data()), seed.size())) {
      out.push_back(h.Apply(step));
    }
    return out;
  };
  const std::vector<int> submitted = statuses("batch-submit-and-read");
  ASSERT_EQ(submitted.size(), 7u);
  EXPECT_EQ(submitted[0], 201);  // the run is accepted
  EXPECT_EQ(submitted[1], 200);
  for (int status : statuses("batch-hostile")) EXPECT_TRUE(status >= 400 && status < 500) << status;
  const std::vector<int> deployed = statuses("services-deploy-and-read");
  ASSERT_FALSE(deployed.empty());
  EXPECT_EQ(deployed[0], 201);  // created
  for (int status : statuses("services-hostile")) EXPECT_TRUE(status >= 400 && status < 500) << status;
  for (int status : statuses("tokens")) EXPECT_EQ(status, 0);
  for (const std::string& seed : Seeds("http")) {
    HttpHarness h;
    for (const HttpStep& step : ParseHttpSteps(reinterpret_cast<const uint8_t*>(seed.data()), seed.size())) {
      h.Apply(step);
    }
  }
}

}  // namespace
}  // namespace agora::fuzz
