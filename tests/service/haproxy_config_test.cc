#include "frameworks/service/haproxy_config.h"

#include <gtest/gtest.h>

namespace agora::service {
namespace {

TEST(HaproxyConfigTest, OneListenSectionPerServiceWithItsPolicyAndWeightedServers) {
  std::vector<LbFrontend> frontends = {
      {"web", 10080, "leastconn", {{"web.v1.b", "10.0.0.2", 31001, 2}, {"web.v1.a", "10.0.0.1", 31000, 1}}},
      {"api", 10081, "random", {}},
  };
  const std::string cfg = RenderHaproxyConfig(frontends, {"127.0.0.1", "/run/lb.sock"});
  EXPECT_NE(cfg.find("stats socket /run/lb.sock mode 600 level admin expose-fd listeners\n"), std::string::npos);
  EXPECT_NE(cfg.find("mode tcp\n"), std::string::npos);
  EXPECT_NE(cfg.find("  noreuseport\n"), std::string::npos);  // a port held by another is an error, not shared
  const std::string web =
      "listen web\n  bind 127.0.0.1:10080\n  balance leastconn\n"
      "  server web.v1.a 10.0.0.1:31000 weight 16\n  server web.v1.b 10.0.0.2:31001 weight 32\n";
  EXPECT_NE(cfg.find(web), std::string::npos) << cfg;
  // Services in name order, an empty one still listens (HAProxy refuses its connections).
  EXPECT_LT(cfg.find("listen api\n  bind 127.0.0.1:10081\n  balance random\n"), cfg.find("listen web"));
}

TEST(HaproxyConfigTest, TheSameInputInAnyOrderRendersTheSameText) {
  LbFrontend a{"a", 1, "roundrobin", {{"x", "h", 1, 1}, {"y", "h", 2, 1}}};
  LbFrontend b{"b", 2, "roundrobin", {{"z", "h", 3, 1}}};
  LbFrontend a_reversed = a;
  std::swap(a_reversed.servers[0], a_reversed.servers[1]);
  EXPECT_EQ(RenderHaproxyConfig({a, b}, {}), RenderHaproxyConfig({b, a_reversed}, {}));
}

TEST(HaproxyConfigTest, WeightsKeepTheirRatiosWithinHaproxysRange) {
  EXPECT_EQ(HaproxyWeight(1), 16);
  EXPECT_EQ(HaproxyWeight(0.5), 8);
  EXPECT_EQ(HaproxyWeight(16), 256);
  EXPECT_EQ(HaproxyWeight(100), 256);   // clamped
  EXPECT_EQ(HaproxyWeight(0.001), 1);   // never 0: that would drain it
}

}  // namespace
}  // namespace agora::service
