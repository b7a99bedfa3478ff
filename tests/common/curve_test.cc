#include "common/curve.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/framing.h"
#include "common/sockets.h"
#include "common/zap_authenticator.h"

namespace agora {
namespace {
namespace fs = std::filesystem;

class CurveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "agora-curve-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(fs::path(dir_) / name) << text;
  }
  std::string dir_;
};

TEST_F(CurveTest, KeyFilesRoundTripAndTheSecretStaysPrivate) {
  CurveKeyPair pair = GenerateCurveKeyPair();
  CurvePrincipal spec;
  spec.kind = CurvePrincipal::Kind::kFramework;
  spec.roles = {"batch", "etl"};
  ASSERT_TRUE(WriteCurveKeyFiles(dir_, "batch", pair, spec).ok());
  auto secret = ReadCurveSecretKey(dir_ + "/batch.key");
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(secret->secret_key, pair.secret_key);
  EXPECT_EQ(secret->public_key, pair.public_key);  // derived from the secret
  auto pub = ReadCurvePublicKey(dir_ + "/batch.pub");
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_EQ(pub->name, "batch");
  EXPECT_EQ(pub->public_key, pair.public_key);
  EXPECT_EQ(pub->kind, CurvePrincipal::Kind::kFramework);
  EXPECT_TRUE(pub->MayUseRole("etl"));
  EXPECT_FALSE(pub->MayUseRole("services"));
  EXPECT_FALSE(pub->MayActAsAgent());
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/batch.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Never overwritten.
  EXPECT_TRUE(absl::IsAlreadyExists(WriteCurveKeyFiles(dir_, "batch", GenerateCurveKeyPair(), spec)));
}

TEST_F(CurveTest, BadKeyFilesAreRefusedWithTheReason) {
  Write("nokey.pub", "# nothing\nkind: agent\n");
  Write("short.pub", "key: abc\n");
  Write("odd.pub", absl::StrCat("key: ", GenerateCurveKeyPair().public_key, "\ncolour: blue\n"));
  Write("kind.pub", absl::StrCat("key: ", GenerateCurveKeyPair().public_key, "\nkind: admin\n"));
  Write("line.pub", "just some words\n");
  Write("bad.key", "secret: not-a-key\n");
  EXPECT_NE(ReadCurvePublicKey(dir_ + "/nokey.pub").status().message().find("no valid `key:`"),
            std::string::npos);
  EXPECT_FALSE(ReadCurvePublicKey(dir_ + "/short.pub").ok());
  EXPECT_NE(ReadCurvePublicKey(dir_ + "/odd.pub").status().message().find("unknown field 'colour'"),
            std::string::npos);
  EXPECT_NE(ReadCurvePublicKey(dir_ + "/kind.pub").status().message().find("kind 'admin'"),
            std::string::npos);
  EXPECT_NE(ReadCurvePublicKey(dir_ + "/line.pub").status().message().find(":1:"),
            std::string::npos);
  EXPECT_FALSE(ReadCurveSecretKey(dir_ + "/bad.key").ok());
  EXPECT_FALSE(ReadCurveSecretKey(dir_ + "/missing.key").ok());
  // A directory with one bad file names it.
  auto all = ReadCurvePublicKeys(dir_);
  ASSERT_FALSE(all.ok());
  EXPECT_NE(all.status().message().find(".pub"), std::string::npos);
  EXPECT_FALSE(LoadCurveClient(dir_ + "/bad.key", "").ok());  // both or neither
}

// A CURVE server with an authenticator, and clients with and without a
// trusted key, over real TCP on loopback.
TEST_F(CurveTest, OnlyTrustedKeysGetThroughAndTheirMessagesNameThem) {
  SystemClock clock;
  EventLoop loop(clock);
  zmq::context_t context;
  CurveKeyPair server = GenerateCurveKeyPair(), trusted = GenerateCurveKeyPair();
  CurvePrincipal principal;
  principal.name = "agent7";
  principal.public_key = trusted.public_key;
  auto zap = ZapAuthenticator::Start(context, loop, {principal});
  ASSERT_TRUE(zap.ok()) << zap.status();
  std::vector<std::string> senders;
  RouterSocket* router_ptr = nullptr;
  auto router = RouterSocket::Bind(
      context, "tcp://127.0.0.1:0", loop,
      [&](const PeerId&, wire::Envelope::Reader) { senders.push_back(router_ptr->current_principal()); },
      server.secret_key);
  ASSERT_TRUE(router.ok()) << router.status();
  router_ptr = router->get();
  const std::string endpoint = (*router)->endpoint();
  auto noop = [](wire::Envelope::Reader) {};
  DealerSocket good(context, endpoint, loop, noop, "", CurveClient{trusted, server.public_key});
  DealerSocket stranger(context, endpoint, loop, noop, "",
                        CurveClient{GenerateCurveKeyPair(), server.public_key});
  DealerSocket plain(context, endpoint, loop, noop);
  for (DealerSocket* d : {&good, &stranger, &plain}) {
    WireMessage msg;
    NewEnvelope(msg).initAgentHeartbeat().setAgentId("a-1");
    d->Send(msg);
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline &&
         (senders.empty() || stranger.stats().handshakes_refused == 0 ||
          (*router)->stats().handshakes_failed == 0)) {
    loop.RunOnce(absl::Milliseconds(20));
  }
  EXPECT_EQ(senders, std::vector<std::string>{"agent7"});
  EXPECT_GE(stranger.stats().handshakes_refused, 1u);
  EXPECT_GE((*zap)->refused(), 1u);
  EXPECT_GE((*router)->stats().handshakes_failed, 1u);  // the plain one
  EXPECT_EQ((*zap)->Find("agent7")->public_key, trusted.public_key);
}

TEST_F(CurveTest, DuplicateTrustedNamesOrKeysAreRefused) {
  SystemClock clock;
  EventLoop loop(clock);
  zmq::context_t context;
  CurvePrincipal a, b;
  a.name = b.name = "twin";
  a.public_key = GenerateCurveKeyPair().public_key;
  b.public_key = GenerateCurveKeyPair().public_key;
  EXPECT_FALSE(ZapAuthenticator::Start(context, loop, {a, b}).ok());
  b.name = "other";
  b.public_key = a.public_key;
  EXPECT_FALSE(ZapAuthenticator::Start(context, loop, {a, b}).ok());
}

}  // namespace
}  // namespace agora
