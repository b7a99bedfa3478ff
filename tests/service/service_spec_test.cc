#include "frameworks/service/service_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace agora::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The group issue 3 promises to accept as written.
constexpr char kPromised[] = R"(
services:
  - name: db
    command: sleep 3600
    resources: {cpus: 0.1, mem: 32}
    health_check: {type: command, command: "test -f ready", interval: 1s, timeout: 1s, grace_period: 30s, max_failures: 3}
  - name: web
    command: python3 -m http.server $PORT_HTTP
    instances: 3
    resources: {cpus: 0.1, mem: 64}
    ports: [http]
    env: {GREETING: hello}
    health_check: {type: http, port: http, path: /, interval: 1s, timeout: 1s, grace_period: 10s, max_failures: 2}
    constraints: [[hostname, UNIQUE]]
    depends_on: [db]
    upgrade: {min_health_capacity: 0.5, max_over_capacity: 0.5, deadline: 2m, auto_rollback: true}
    load_balancer: {port: 10080, policy: roundrobin}
    config: {LOG_LEVEL: info}
    weight: 1
    autoscale: {min: 2, max: 6, target_cpu: 0.6}
)";

std::string Error(absl::string_view yaml, const std::vector<std::string>& deployed = {}) {
  auto g = ParseServices(yaml, deployed);
  EXPECT_FALSE(g.ok()) << yaml;
  return g.ok() ? "" : std::string(g.status().message());
}

TEST(ServiceSpecTest, AcceptsThePromisedGroup) {
  auto g = ParseServices(kPromised);
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->services.size(), 2u);
  const ServiceSpec& db = g->services[0];
  EXPECT_EQ(db.instances, 1);
  ASSERT_TRUE(db.health_check);
  EXPECT_EQ(db.health_check->kind, HealthCheck::Kind::kCommand);
  EXPECT_EQ(db.health_check->max_failures, 3);
  const ServiceSpec& web = g->services[1];
  EXPECT_EQ(web.instances, 3);
  EXPECT_THAT(web.ports, ElementsAre("http"));
  EXPECT_EQ(web.health_check->port, "http");
  EXPECT_EQ(web.health_check->grace_period, absl::Seconds(10));
  ASSERT_EQ(web.constraints.size(), 1u);
  EXPECT_EQ(web.constraints[0].op, Constraint::Op::kUnique);
  EXPECT_THAT(web.depends_on, ElementsAre("db"));
  EXPECT_EQ(web.upgrade.min_health_capacity, 0.5);
  EXPECT_EQ(web.upgrade.deadline, absl::Minutes(2));
  EXPECT_TRUE(web.upgrade.auto_rollback);
  EXPECT_EQ(web.load_balancer->port, 10080);
  EXPECT_EQ(web.config.at("LOG_LEVEL"), "info");
  EXPECT_EQ(web.autoscale->max, 6);
  EXPECT_EQ(web.autoscale->window, absl::Minutes(5));  // the default scale-down stabilisation
  EXPECT_THAT(DeployOrder(*g), ElementsAre(0, 1));
}

TEST(ServiceSpecTest, ASingleServiceStandsAlone) {
  auto g = ParseServices("name: solo\ncommand: sleep 60\n");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->services[0].name, "solo");
  EXPECT_EQ(g->services[0].resources, Resources::Scalars(0.1, 32, 0));
}

TEST(ServiceSpecTest, ALoadBalancerMayLeaveItsPortToBeChosen) {
  auto g = ParseServices("name: web\ncommand: x\nports: [http]\nload_balancer: {policy: leastconn}\n");
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_TRUE(g->services[0].load_balancer.has_value());
  EXPECT_EQ(g->services[0].load_balancer->port, 0);  // agora-services chooses at deploy time
  EXPECT_EQ(g->services[0].load_balancer->policy, "leastconn");
  EXPECT_FALSE(ParseServices("name: web\ncommand: x\nports: [http]\nload_balancer: {port: 0}\n").ok());
}

TEST(ServiceSpecTest, ErrorsSayTheLineAndColumnOfTheField) {
  // The field's own place; a missing one at the field that should hold it.
  EXPECT_EQ(Error("services:\n  - name: a\n    command: x\n  - name: b\n    command: y\n    instances: many\n"),
            "6:16: services[1].instances: 'many' has the wrong type");
  EXPECT_THAT(Error("services:\n  - name: a\n    command: x\n    ports: [p]\n    load_balancer:\n      port: 99999\n"),
              StartsWith("6:13: services[0].load_balancer.port: must be between 1 and 65535"));
  EXPECT_THAT(Error("name: a\ncommand: x\nhealth_check: {type: http}\n"), StartsWith("3:15: health_check.port:"));
  // Not YAML at all: where the parser stopped.
  EXPECT_THAT(Error("name: a\ncommand: [x\n"), StartsWith("3:1: not valid YAML: "));
  // An unknown field, with the known one it was likely meant to be.
  EXPECT_EQ(Error("name: a\ncommand: x\ninstnaces: 3\n"),
            "3:12: instnaces: unknown field; did you mean 'instances'? (known: name, command, instances, resources, "
            "ports, env, health_check, constraints, depends_on, upgrade, load_balancer, config, weight, autoscale)");
}

TEST(ServiceSpecTest, ErrorsNameTheField) {
  EXPECT_THAT(Error("name: a\ncommand: x\nreplicas: 3\n"), HasSubstr("replicas: unknown field"));
  EXPECT_THAT(Error("services: [{name: a, command: x, instances: many}]"),
              HasSubstr("services[0].instances: 'many' has the wrong type"));
  EXPECT_THAT(Error("name: a\ncommand: x\nhealth_check: {type: http}\n"),
              HasSubstr("health_check.port: '' is not one of the service's ports"));
  EXPECT_THAT(Error("name: a\ncommand: x\nports: [web]\nhealth_check: {type: http, port: api}\n"),
              HasSubstr("health_check.port: 'api' is not one of the service's ports"));
  EXPECT_THAT(Error("name: a\ncommand: x\nhealth_check: {type: ping}\n"),
              HasSubstr("health_check.type: 'ping' is not one of http, tcp, command"));
  EXPECT_THAT(Error("name: a\ncommand: x\nconstraints: [[hostname, UNIQUE, yes]]\n"),
              HasSubstr("constraints[0]: UNIQUE takes no value"));
  EXPECT_THAT(Error("name: a\ncommand: x\nconstraints: [[zone, CLUSTER]]\n"),
              HasSubstr("CLUSTER needs the value"));
  EXPECT_THAT(Error("name: a\ncommand: x\nconstraints: [[zone, LIKE, '(']]\n"),
              HasSubstr("is not a regular expression"));
  EXPECT_THAT(Error("name: a\ncommand: x\nconstraints: [[zone, MAX_PER, 0]]\n"),
              HasSubstr("MAX_PER needs a positive number"));
  EXPECT_THAT(Error("name: a\ncommand: x\nconstraints: [[zone, NEAR]]\n"), HasSubstr("'NEAR' is not one of"));
  EXPECT_THAT(Error("name: a\ncommand: x\nupgrade: {min_health_capacity: 2}\n"),
              HasSubstr("upgrade.min_health_capacity: must be between 0 and 1"));
  EXPECT_THAT(Error("name: a\ncommand: x\nports: [p]\nload_balancer: {port: 80, policy: fastest}\n"),
              HasSubstr("load_balancer.policy: 'fastest' is not one of"));
  EXPECT_THAT(Error("name: a\ncommand: x\nload_balancer: {port: 80}\n"),
              HasSubstr("load_balancer: the service names no port"));
  EXPECT_THAT(Error("name: a\ncommand: x\ninstances: 9\nautoscale: {min: 1, max: 4}\n"),
              HasSubstr("instances: 9 is outside autoscale's 1..4"));
  auto windowed = ParseServices("name: a\ncommand: x\nautoscale: {min: 1, max: 4, window: 30s}\n");
  ASSERT_TRUE(windowed.ok()) << windowed.status();
  EXPECT_EQ(windowed->services[0].autoscale->window, absl::Seconds(30));
  EXPECT_THAT(Error("name: a\ncommand: x\nautoscale: {min: 1, max: 4, window: soon}\n"),
              HasSubstr("autoscale.window"));
  EXPECT_THAT(Error("name: a\ncommand: x\nports: [p, p]\n"), HasSubstr("ports[1]: 'p' named twice"));
}

TEST(ServiceSpecTest, DependenciesMustExistAndNotCycle) {
  EXPECT_THAT(Error("services: [{name: web, command: x, depends_on: [db]}]"),
              HasSubstr("services[0].depends_on[0]: unknown service 'db'"));
  // Already deployed: fine.
  EXPECT_TRUE(ParseServices("services: [{name: web, command: x, depends_on: [db]}]", {"db"}).ok());
  EXPECT_THAT(Error(R"(services:
  - {name: a, command: x, depends_on: [b]}
  - {name: b, command: x, depends_on: [a]}
)"),
              HasSubstr("dependency cycle a -> b -> a"));
  EXPECT_THAT(Error("services: [{name: a, command: x}, {name: a, command: y}]"),
              HasSubstr("'a' is used by two services"));
}

TEST(ServiceSpecTest, ResourcesNoAgentCouldHoldAreRejected) {
  auto g = ParseServices("name: big\ncommand: x\nresources: {cpus: 32}\n");
  ASSERT_TRUE(g.ok());
  absl::Status s = CheckFits(*g, {Resources::Scalars(4, 4096, 0)});
  EXPECT_THAT(std::string(s.message()), HasSubstr("services[0].resources: no agent could ever hold it"));
}

TEST(ServiceSpecTest, WithConfigReplacesOnlyTheConfigAndKeysMustBeVariableNames) {
  auto g = ParseServices("name: web\ncommand: run\ninstances: 2\nconfig: {A: '1', B: two}\n");
  ASSERT_TRUE(g.ok()) << g.status();
  auto yaml = WithConfig(g->services[0].source, {{"A", "3"}, {"C", "x y"}});
  ASSERT_TRUE(yaml.ok()) << yaml.status();
  auto changed = ParseServices(*yaml);
  ASSERT_TRUE(changed.ok()) << changed.status();
  const ServiceSpec& web = changed->services[0];
  EXPECT_EQ(web.config, (std::map<std::string, std::string>{{"A", "3"}, {"C", "x y"}}));
  EXPECT_EQ(web.instances, 2);
  EXPECT_EQ(web.command, "run");
  auto cleared = ParseServices(*WithConfig(web.source, {}));
  ASSERT_TRUE(cleared.ok());
  EXPECT_TRUE(cleared->services[0].config.empty());
  EXPECT_TRUE(CheckConfigKey("LOG_LEVEL_2").ok());
  for (const char* bad : {"", "2X", "A-B", "A B", "A.B"}) EXPECT_FALSE(CheckConfigKey(bad).ok()) << bad;
  EXPECT_THAT(Error("name: web\ncommand: x\nconfig: {log-level: info}\n"),
              HasSubstr("config: config key 'log-level' must be a name"));
}

}  // namespace
}  // namespace agora::service

namespace agora::service {
namespace {

TEST(ServiceSpecTest, HostileTimingsPatternsAndNumbersAreRefused) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"name: a\ncommand: true\nhealth_check: {type: command, command: true, interval: 1ns}\n",
       "interval must be at least 100ms"},
      {"name: a\ncommand: true\nresources: {cpus: .nan}\n", "is not a finite number"},
      {"name: a\ncommand: true\nconstraints: [[hostname, LIKE, \"(\"]]\n", "is not a regular expression"},
      {"name: a\ncommand: true\nconstraints: [[hostname, LIKE, \"" + std::string(2000, 'a') + "\"]]\n",
       "at most 1024 characters"},
  };
  for (const auto& [yaml, message] : cases) {
    auto group = ParseServices(yaml);
    ASSERT_FALSE(group.ok()) << yaml.substr(0, 80);
    EXPECT_THAT(std::string(group.status().message()), HasSubstr(message));
  }
}

}  // namespace
}  // namespace agora::service
