#include "common/http_token.h"

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"

namespace agora {
namespace {

class HttpTokenTest : public ::testing::Test {
 protected:
  CurveKeyPair master_ = GenerateCurveKeyPair();
  CurveKeyPair agent_ = GenerateCurveKeyPair();
  CurveKeyPair other_ = GenerateCurveKeyPair();
  CurvePrincipal alice_{"alice", "", CurvePrincipal::Kind::kOperator};
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  HttpTokenIssuer issuer_{master_};

  std::string IssueForAgent(absl::Duration lifetime = absl::Minutes(5)) {
    return *issuer_.Issue(alice_, agent_.public_key, now_ + lifetime);
  }
  HttpTokenVerifier Verifier(const CurveKeyPair& own) { return *HttpTokenVerifier::Create(own, master_.public_key); }
};

TEST_F(HttpTokenTest, TheAudienceAcceptsAGenuineTokenUntilItExpires) {
  const std::string token = IssueForAgent();
  auto grant = Verifier(agent_).Verify(token, now_);
  ASSERT_TRUE(grant.ok()) << grant.status();
  EXPECT_EQ(grant->holder, "alice");
  EXPECT_EQ(grant->kind, CurvePrincipal::Kind::kOperator);
  EXPECT_EQ(grant->expires, now_ + absl::Minutes(5));
  auto late = Verifier(agent_).Verify(token, now_ + absl::Minutes(5));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(late.status().message().find("expired"), std::string::npos);
}

TEST_F(HttpTokenTest, AnotherDaemonRefusesIt) {
  auto grant = Verifier(other_).Verify(IssueForAgent(), now_);
  EXPECT_EQ(grant.status().code(), absl::StatusCode::kUnauthenticated);
  // Nor does the master's own HTTP take a token for an agent.
  EXPECT_FALSE(HttpTokenVerifier::Create(master_, master_.public_key)->Verify(IssueForAgent(), now_).ok());
}

TEST_F(HttpTokenTest, AnotherMastersTokenIsRefused) {
  HttpTokenIssuer stranger(GenerateCurveKeyPair());
  auto grant = Verifier(agent_).Verify(*stranger.Issue(alice_, agent_.public_key, now_ + absl::Hours(1)), now_);
  EXPECT_EQ(grant.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(HttpTokenTest, AnEditedPayloadIsRefused) {
  // Make the holder look like another operator and push the expiry out: the MAC no longer fits.
  std::vector<std::string> parts = absl::StrSplit(IssueForAgent(), '.');
  ASSERT_EQ(parts.size(), 3u);
  std::string payload;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(parts[1], &payload));
  payload.replace(0, 5, "mallo");
  const std::string edited = parts[0] + "." + absl::WebSafeBase64Escape(payload) + "." + parts[2];
  EXPECT_FALSE(Verifier(agent_).Verify(edited, now_).ok());
}

TEST_F(HttpTokenTest, GarbageIsRefusedWithAReason) {
  HttpTokenVerifier v = Verifier(agent_);
  for (const std::string& token : {std::string(""), std::string("Bearer"), std::string("agora1."),
                                   std::string("agora1.a.b.c"), std::string("agora1.!!!.???"),
                                   std::string(4096, 'a'), "agora1." + std::string(2000, 'A') + ".AA"}) {
    auto grant = v.Verify(token, now_);
    EXPECT_EQ(grant.status().code(), absl::StatusCode::kUnauthenticated) << token;
  }
}

TEST_F(HttpTokenTest, KeysThatAreNotCurveKeysAreRefused) {
  EXPECT_FALSE(issuer_.Issue(alice_, "not a key", now_).ok());
  EXPECT_FALSE(HttpTokenVerifier::Create(agent_, "short").ok());
}

}  // namespace
}  // namespace agora
