// agora-master: the cluster's master daemon. See master/master.h.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/cli.h"
#include "absl/strings/str_cat.h"
#include "common/bind_policy.h"
#include "common/http_endpoint.h"
#include "common/systemd_notify.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/sockets.h"
#include "common/zap_authenticator.h"
#include "master/master.h"
#include "common/leader_detector.h"
#include "common/version.h"
#include "master/master_election.h"
#include "master/master_keys.h"
#include "master/standby.h"

int main(int argc, char** argv) {
  using namespace agora;
  BlockSignals({SIGINT, SIGTERM, SIGHUP});
  signal(SIGPIPE, SIG_IGN);
  ::umask(077);  // its registry, store and logs hold tenants' commands and environments

  CLI::App app{"agora-master: tracks agents, offers their resources to frameworks by DRF.\n"
               "Example: agora-master --work-dir /var/lib/agora/master (secured: docs/security.md)"};
  std::string listen;  // default: loopback when open, every interface when secured
  std::string work_dir = "/var/lib/agora/master";
  master::MasterOptions options;
  int http_port = 5051;
  std::string http_host;
  app.add_option("--listen", listen,
                 "ZeroMQ endpoint to bind (default: tcp://127.0.0.1:5050 on an open cluster, "
                 "tcp://0.0.0.0:5050 with --curve-secret-key)");
  bool insecure = false;
  app.add_flag("--insecure", insecure,
               "open cluster: let --listen and --http-host reach beyond this machine without "
               "CurveZMQ keys, although anyone who connects may then do anything");
  app.add_option("--http-host,--http_host", http_host,
                 "address for /health, /state and /metrics (default: 127.0.0.1 on an open cluster, "
                 "else the --listen host, over HTTPS with operators' tokens)");
  app.add_option("--work-dir,--work_dir", work_dir, "directory for the master's state")->capture_default_str();
  app.add_option("--http-port,--http_port", http_port,
                 "port for /health, /state and /metrics (on the --listen host); 0: any free port")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  AddDurationFlag(app, "--heartbeat-interval,--heartbeat_interval", &options.heartbeat_interval,
                  "how often agents and frameworks send heartbeats");
  AddDurationFlag(app, "--heartbeat-timeout,--heartbeat_timeout", &options.heartbeat_timeout,
                  "silence after which an agent is unreachable");
  AddDurationFlag(app, "--agent-gone-timeout,--agent_gone_timeout", &options.agent_gone_timeout,
                  "how long an agent may stay unreachable before it is gone");
  AddDurationFlag(app, "--allocation-interval,--allocation_interval", &options.allocation_interval,
                  "period of the batch allocation pass");
  AddDurationFlag(app, "--offer-timeout,--offer_timeout", &options.offer_timeout,
                  "an unanswered offer is rescinded after this");
  AddDurationFlag(app, "--agent-reregister-timeout,--agent_reregister_timeout", &options.agent_reregister_timeout,
                  "after a start, how long agents have to re-register");
  AddDurationFlag(app, "--framework-resubscribe-timeout,--framework_resubscribe_timeout", &options.framework_resubscribe_timeout,
                  "after a start, how long frameworks have to subscribe again before their own "
                  "failover timeouts start");
  app.add_option("--max-unreachable-share,--max_unreachable_share", options.max_unreachable_share,
                 "mass-expiry guard: share of agents that may turn unreachable per timeout window")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  std::string weights;
  std::vector<std::string> quotas;
  app.add_option("--weights", weights,
                 "DRF weights of roles, ROLE=WEIGHT,... (others weigh 1): a role of weight 2 is "
                 "entitled to twice the share of one of weight 1");
  app.add_option("--quota", quotas,
                 "caps what a role's frameworks may hold, ROLE=RESOURCES, e.g. "
                 "services=cpus:8;mem:16384 (scalars not named are not capped); once per role");
  std::string curve_secret_key, trusted_keys, operator_keys;
  app.add_option("--curve-secret-key,--curve_secret_key", curve_secret_key,
                 "CurveZMQ: this master's secret key (agora keys generate); every connection is "
                 "then encrypted and authenticated")
      ->check(CLI::ExistingFile);
  app.add_option("--trusted-keys,--trusted_keys", trusted_keys,
                 "CurveZMQ: directory whose .pub files are the agents' and frameworks' keys it admits")
      ->check(CLI::ExistingDirectory);
  app.add_option("--operator-keys,--operator_keys", operator_keys,
                 "CurveZMQ: directory whose .pub files are operators' keys (kill, drain, teardown)")
      ->check(CLI::ExistingDirectory);
  std::string zk, advertise;
  absl::Duration zk_session_timeout = absl::Seconds(10);
  app.add_option("--zk", zk,
                 "several masters: elect a leader through ZooKeeper, zk://HOST:PORT[,HOST:PORT...]/PATH; "
                 "the registry then lives there too, and the masters of a secured cluster share "
                 "one key pair");
  AddDurationFlag(app, "--zk-session-timeout,--zk_session_timeout", &zk_session_timeout,
                  "with --zk: how long ZooKeeper waits for a silent master before another leads");
  app.add_option("--advertise", advertise,
                 "with --zk: the ZeroMQ endpoint clients are sent to, tcp://HOST:PORT (default: the "
                 "one bound, a wildcard host replaced by this machine's name)");
  bool http_open_metrics = false;
  app.add_flag("--http-open-metrics,--http_open_metrics", http_open_metrics,
               "secured: serve /metrics without a token (for Prometheus)");
  LogFlags log;
  AddLogFlags(app, &log);
  AddConfigFileFlag(app);
  if (int rc = ParseCommandLine(app, argc, argv); rc >= 0) return rc;
  if (options.heartbeat_timeout <= options.heartbeat_interval) {
    std::cerr << "--heartbeat-timeout must be longer than --heartbeat-interval\n";
    return 2;
  }
  absl::Status roles = ParseRoleWeights(weights, &options.roles);
  for (const std::string& quota : quotas) {
    if (roles.ok()) roles = ParseRoleQuota(quota, &options.roles);
  }
  if (!roles.ok()) {
    std::cerr << roles.message() << "\n";
    return 2;
  }
  if (curve_secret_key.empty() != trusted_keys.empty()) {
    std::cerr << "--curve-secret-key and --trusted-keys go together (--operator-keys is optional)\n";
    return 2;
  }
  if (curve_secret_key.empty() && !operator_keys.empty()) {
    std::cerr << "--operator-keys needs --curve-secret-key and --trusted-keys\n";
    return 2;
  }
  std::optional<ZkUrl> zk_url;
  if (!zk.empty()) {
    auto parsed = ParseZkUrl(zk);
    if (!parsed.ok()) {
      std::cerr << "--zk: " << parsed.status().message() << "\n";
      return 2;
    }
    zk_url = *std::move(parsed);
  }
  std::optional<CurveKeyPair> server_keys;
  if (!curve_secret_key.empty()) {
    auto keys = master::LoadMasterKeys(curve_secret_key, trusted_keys, operator_keys);
    if (!keys.ok()) {
      std::cerr << keys.status().message() << "\n";
      return 2;
    }
    server_keys = keys->own;
    options.own_keys = keys->own;
    options.secured = true;
    options.principals = std::move(keys->principals);
  }
  if (listen.empty()) listen = options.secured ? "tcp://0.0.0.0:5050" : "tcp://127.0.0.1:5050";
  for (const auto& [flag, address] : {std::pair{"--listen", &listen}, std::pair{"--http-host", &http_host}}) {
    if (address->empty()) continue;
    if (absl::Status s = CheckOpenBind(flag, *address, options.secured, insecure); !s.ok()) {
      std::cerr << s.message() << "\n";
      return 2;
    }
  }

  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  if (ec) {
    std::cerr << "cannot create --work-dir " << work_dir << ": " << ec.message() << "\n";
    return 1;
  }
  std::filesystem::permissions(work_dir, std::filesystem::perms::owner_all, ec);  // an older one may be 0755
  if (!StartLogging(log, (std::filesystem::path(work_dir) / "agora-master.log").string())) return 1;

  SystemClock clock;
  EventLoop loop(clock);
  SystemdNotifier systemd(loop);
  zmq::context_t context;
  // The authenticator must answer before the secured socket takes its first peer.
  std::unique_ptr<ZapAuthenticator> zap;
  if (options.secured) {
    auto started = ZapAuthenticator::Start(context, loop, options.principals);
    if (!started.ok()) {
      std::cerr << started.status().message() << "\n";
      return 2;
    }
    zap = std::move(*started);
  }
  std::unique_ptr<master::MasterElection> election;  // with --zk
  std::unique_ptr<master::Registry> registry;
  std::unique_ptr<master::Master> master;  // once it leads
  RouterSocket* router_ptr = nullptr;
  auto router = RouterSocket::Bind(
      context, listen, loop,
      [&](const PeerId& peer, wire::Envelope::Reader env) {
        if (master) return master->Handle(peer, env, router_ptr->current_principal());
        master::AnswerNotLeader(*router_ptr, peer, env, election->leader());
      },
      server_keys ? std::optional<std::string>(server_keys->secret_key) : std::nullopt);
  if (!router.ok()) {
    std::cerr << router.status().message() << "\n";
    return 1;
  }
  router_ptr = router->get();
  // An open cluster keeps its HTTP on this machine unless told otherwise; a
  // secured one binds the host its ZeroMQ socket listens on.
  if (http_host.empty() && !options.secured) http_host = "127.0.0.1";
  if (http_host.empty()) {
    http_host = listen.substr(listen.find("://") + 3);
    http_host = http_host.substr(0, http_host.rfind(':'));
  }
  if (http_host == "*") http_host = "0.0.0.0";
  const SocketStats& transport_stats = (*router)->stats();
  std::optional<HttpSecurity> http_security;
  if (server_keys) {
    // The master verifies the tokens it issued for itself.
    auto made = MakeHttpSecurity("agora-master", CurveClient{*server_keys, server_keys->public_key},
                                 http_open_metrics);
    if (!made.ok()) {
      std::cerr << made.status().message() << "\n";
      return 1;
    }
    http_security = *std::move(made);
  }
  auto http = HttpEndpoint::Start(
      http_host, http_port, loop,
      [&](const std::string& path) {
        if (!master) return master::StandbyMetrics();  // (/state goes through the gate)
        return path == "/state" ? master->StateJson() : master->MetricsText(&transport_stats);
      },
      nullptr, std::move(http_security));
  if (!http.ok()) {
    std::cerr << http.status().message() << "\n";
    return 1;
  }
  (*http)->set_gate([&](const HttpRequest& request) -> std::optional<HttpReply> {
    if (master) return std::nullopt;
    return master::StandbyRedirect(request, election->leader());
  });
  const std::string http_url =
      absl::StrCat((*http)->tls() ? "https://" : "http://", http_host, ":", (*http)->port());

  // Builds the master on `store` and recovers it: at once when alone, once
  // elected with --zk.
  auto lead = [&](std::unique_ptr<master::Registry> store, master::Master::Leadership leadership) {
    registry = std::move(store);
    master = std::make_unique<master::Master>(options, loop, **router,
                                              master::NewDrfAllocator(options.allocator_seed),
                                              registry.get());
    master->set_transport_stats(&transport_stats);
    master->set_http_endpoint(http_url, (*http)->certificate_sha256());
    master->set_leadership(std::move(leadership));
    return master->Start();
  };
  if (zk.empty()) {
    auto sqlite = master::OpenSqliteRegistry(
        (std::filesystem::path(work_dir) / "registry.sqlite").string(), &loop);
    if (!sqlite.ok()) {
      std::cerr << sqlite.status().message() << "\n";
      return 1;
    }
    if (absl::Status s = lead(*std::move(sqlite), {}); !s.ok()) {
      std::cerr << "cannot recover the registry: " << s.message() << "\n";
      return 1;
    }
  } else {
    LeaderInfo self{"", advertise.empty() ? AdvertisedEndpoint((*router)->endpoint()) : advertise,
                    AdvertisedUrl(http_host, (*http)->port(), (*http)->tls()), HostName(),
                    std::string(kVersion)};
    master::MasterElection::Callbacks callbacks;
    // Before a leader that cannot go on exits: its session closed, its node
    // goes now and another master may lead at once. Only while connected: a
    // close cannot reach the ensemble otherwise (the session expires by
    // itself), and the C client was seen to crash closing a handle whose
    // connection had just timed out.
    auto close_session = [&] {
      if (election->session().connected_now()) zookeeper_close(election->session().handle());
    };
    callbacks.on_elected = [&, close_session] {  // a copy: this block ends before the loop runs
      auto store = master::OpenZkRegistry(election->session().handle(), zk_url->root + "/registry",
                                          election->node_path(), &loop);
      absl::Status s = store.ok() ? lead(*std::move(store), {zk, election->node_path(), loop.Now()})
                                  : store.status();
      if (!s.ok()) {
        AGORA_LOG(ERROR, "master") << "elected, but cannot recover the registry from ZooKeeper, "
                                      "exiting: " << s.message();
        close_session();
        std::_Exit(1);
      }
      master->set_before_exit(close_session);
      systemd.Status("leading");
    };
    callbacks.on_paused = [&](bool paused) {
      if (!master) return;
      paused ? (*router)->Pause() : (*router)->Resume();
      master->SetPaused(paused);
    };
    callbacks.on_deposed = [](const std::string& why) {
      // Never act on leadership that may be stale: stop now, and let the
      // supervisor start this master again as a candidate.
      AGORA_LOG(ERROR, "master") << "no longer leading: " << why << "; exiting";
      std::_Exit(1);
    };
    callbacks.on_leader = [](const std::optional<LeaderInfo>& leader) {
      AGORA_LOG(INFO, "master") << (leader ? absl::StrCat("the leader is ", leader->endpoint)
                                           : std::string("no master leads"));
    };
    election = std::make_unique<master::MasterElection>(loop, *zk_url, zk_session_timeout, self,
                                                        std::move(callbacks));
    if (absl::Status s = election->Start(); !s.ok()) {
      std::cerr << s.message() << "\n";
      return 2;
    }
  }
  std::ofstream(std::filesystem::path(work_dir) / "endpoint") << (*router)->endpoint() << "\n";
  std::ofstream(std::filesystem::path(work_dir) / "http_endpoint") << http_url << "\n";
  SignalWatcher signals(loop, {SIGINT, SIGTERM, SIGHUP}, [&](int sig) {
    if (sig == SIGHUP) return ReopenLogOnHangup("master");
    if (election != nullptr && election->paused()) {
      // Its commits cannot land and nothing it holds was confirmed to
      // anyone: waiting for ZooKeeper would only delay the stop.
      AGORA_LOG(WARNING, "master") << "signal " << sig << ": exiting at once, ZooKeeper being out of reach";
      std::_Exit(0);
    }
    AGORA_LOG(INFO, "master") << "signal " << sig << ": shutting down";
    systemd.Stopping();
    loop.Stop();
  });
  AGORA_LOG(INFO, "master") << "listening on " << (*router)->endpoint() << ", HTTP on port "
                            << (*http)->port()
                            << (zk.empty() ? std::string() : absl::StrCat("; contending through ", zk));
  if (options.secured) {
    AGORA_LOG(INFO, "master") << "secured with CurveZMQ: " << options.principals.size()
                              << " trusted keys (public key " << server_keys->public_key << ")";
  } else {
    AGORA_LOG(WARNING, "master")
        << "running OPEN: no --curve-secret-key, so connections are neither encrypted nor "
           "authenticated and anyone who reaches this port may launch, kill and drain. For "
           "development only; see `agora keys generate`.";
  }
  systemd.Ready(zk.empty() || master ? "leading" : "a standby, contending through ZooKeeper");
  loop.Run();
  return 0;
}
