#include "common/framing.h"

#include <cstring>

#include <capnp/message.h>
#include <gtest/gtest.h>

namespace agora {
namespace {

zmq::message_t Heartbeat(const std::string& agent_id) {
  WireMessage msg;
  NewEnvelope(msg, 7).initAgentHeartbeat().setAgentId(agent_id);
  return Encode(msg);
}

TEST(FramingTest, DecodesAnAlignedFrame) {
  zmq::message_t frame = Heartbeat("a-1");
  FrameStats stats;
  std::string seen;
  uint64_t rid = 0;
  ASSERT_TRUE(Decode(frame, stats, [&](wire::Envelope::Reader env) {
                seen = env.getAgentHeartbeat().getAgentId();
                rid = env.getRequestId();
              }).ok());
  EXPECT_EQ(seen, "a-1");
  EXPECT_EQ(rid, 7u);
  EXPECT_EQ(stats.dropped(), 0u);
}

TEST(FramingTest, CopiesAMisalignedFrame) {
  zmq::message_t good = Heartbeat("a-2");
  // Place the bytes at an odd address inside a larger buffer.
  std::vector<char> buffer(good.size() + 1);
  std::memcpy(buffer.data() + 1, good.data(), good.size());
  // Zero-copy construction keeps our (odd) address.
  zmq::message_t misaligned(buffer.data() + 1, good.size(), [](void*, void*) {}, nullptr);
  ASSERT_NE(reinterpret_cast<uintptr_t>(misaligned.data()) % 8, 0u);
  FrameStats stats;
  std::string seen;
  ASSERT_TRUE(Decode(misaligned, stats, [&](wire::Envelope::Reader env) {
                seen = env.getAgentHeartbeat().getAgentId();
              }).ok());
  EXPECT_EQ(seen, "a-2");
  EXPECT_EQ(stats.misaligned_copies, 1u);
}

TEST(FramingTest, RejectsSizesNotAMultipleOfEight) {
  zmq::message_t good = Heartbeat("a-3");
  zmq::message_t truncated(good.data(), good.size() - 3);
  FrameStats stats;
  bool called = false;
  absl::Status s = Decode(truncated, stats, [&](wire::Envelope::Reader) { called = true; });
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(called);
  EXPECT_EQ(stats.bad_size, 1u);
}

TEST(FramingTest, RejectsATruncatedFrameOfWholeWords) {
  zmq::message_t good = Heartbeat("a-much-longer-agent-id-to-span-words");
  zmq::message_t truncated(good.data(), good.size() - 16);
  FrameStats stats;
  absl::Status s = Decode(truncated, stats, [&](wire::Envelope::Reader env) {
    (void)env.getAgentHeartbeat().getAgentId();
  });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(stats.bad_content, 1u);
}

TEST(FramingTest, RejectsGarbage) {
  std::vector<char> garbage(64);
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 37 + 11);
  zmq::message_t frame(garbage.data(), garbage.size());
  FrameStats stats;
  absl::Status s = Decode(frame, stats, [&](wire::Envelope::Reader env) {
    (void)env.getAgentHeartbeat().getAgentId();
  });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(stats.dropped(), 1u);
}

TEST(FramingTest, RejectsEmptyAndOversizedFrames) {
  FrameStats stats;
  zmq::message_t empty;
  EXPECT_FALSE(Decode(empty, stats, [](wire::Envelope::Reader) {}).ok());
  zmq::message_t big = Heartbeat("a-4");
  DecodeLimits limits;
  limits.max_frame_bytes = 8;
  EXPECT_FALSE(Decode(big, stats, [](wire::Envelope::Reader) {}, limits).ok());
  EXPECT_EQ(stats.bad_size, 2u);
}

TEST(FramingTest, RejectsAnotherProtocolVersion) {
  WireMessage msg;
  auto env = NewEnvelope(msg);
  env.setVersion(99);
  env.initAgentHeartbeat().setAgentId("a");
  zmq::message_t frame = Encode(msg);
  FrameStats stats;
  EXPECT_FALSE(Decode(frame, stats, [](wire::Envelope::Reader) {}).ok());
  EXPECT_EQ(stats.bad_version, 1u);
}

TEST(FramingTest, CatchesExceptionsThrownWhileHandling) {
  zmq::message_t frame = Heartbeat("a-5");
  FrameStats stats;
  absl::Status s = Decode(frame, stats, [](wire::Envelope::Reader env) {
    KJ_FAIL_REQUIRE("a handler found the message invalid");
  });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(stats.bad_content, 1u);
}

}  // namespace
}  // namespace agora
