#include "agent/executor/prober.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>

#include <httplib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/clock.h"

namespace agora::agent {
namespace {

using ::testing::HasSubstr;

class ProberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/ok", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
    server_.Get("/broken", [](const httplib::Request&, httplib::Response& res) { res.status = 500; });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the server loop runs would be lost: wait for it.
    for (int i = 0; i < 500 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_TRUE(server_.is_running());
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(ProberTest, HttpIsHealthyOnTwoOrThreeHundredOnly) {
  EXPECT_TRUE(ProbeHttp(port_, "/ok", absl::Seconds(2)).ok);
  ProbeResult broken = ProbeHttp(port_, "/broken", absl::Seconds(2));
  EXPECT_FALSE(broken.ok);
  EXPECT_THAT(broken.detail, HasSubstr("HTTP 500"));
  EXPECT_FALSE(ProbeHttp(port_, "/missing", absl::Seconds(2)).ok);  // 404
}

TEST_F(ProberTest, TcpConnectsOrSaysWhyNot) {
  EXPECT_TRUE(ProbeTcp(port_, absl::Seconds(1)).ok);
  server_.stop();
  thread_.join();
  thread_ = std::thread([] {});
  ProbeResult refused = ProbeTcp(port_, absl::Seconds(1));
  EXPECT_FALSE(refused.ok);
  EXPECT_THAT(refused.detail, HasSubstr("refused"));
  EXPECT_FALSE(ProbeHttp(port_, "/ok", absl::Seconds(1)).ok);
}

TEST_F(ProberTest, ANonHttpListenerIsUnhealthyForHttp) {
  // A listener that accepts and says nothing: the probe gives up at its timeout.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const absl::Time start = absl::Now();
  ProbeResult r = ProbeHttp(ntohs(addr.sin_port), "/", absl::Milliseconds(300));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.detail, HasSubstr("no HTTP answer"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  ::close(fd);
}

TEST_F(ProberTest, TheThreadRunsProbesAndHandsBackResults) {
  Prober prober;
  std::promise<ProbeResult> got;
  prober.Probe({true, static_cast<uint32_t>(port_), "/ok", absl::Seconds(2),
                [&](ProbeResult r) { got.set_value(r); }});
  auto future = got.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(future.get().ok);
}

}  // namespace
}  // namespace agora::agent
