#include "frameworks/sdk/framework_daemon.h"
#include "frameworks/sdk/driver_core.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/bind_policy.h"
#include "common/cli.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/systemd_notify.h"

namespace agora::sdk {

void AddDaemonFlags(CLI::App& app, DaemonFlags* f) {
  app.add_option("--master", f->master,
                 "the master's endpoint, tcp://HOST:PORT, or zk://HOST:PORT,.../PATH to follow the "
                 "elected leader of several")->capture_default_str();
  app.add_option("--work-dir,--work_dir", f->work_dir, "directory for the framework's store")->capture_default_str();
  app.add_option("--role", f->role, "the role to subscribe under")->capture_default_str();
  app.add_option("--name", f->name, "the framework's name (the CLI finds it by this)")
      ->check([](const std::string& name) {
        absl::Status s = ValidateName("--name", name);
        return s.ok() ? std::string() : std::string(s.message());
      })
      ->capture_default_str();
  app.add_option("--http-host,--http_host", f->http_host, "host for the API and /metrics")->capture_default_str();
  app.add_option("--http-port,--http_port", f->http_port, "port for the API; 0: any free port")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  AddCurveClientFlags(app, &f->curve_flags);
  app.add_flag("--http-open-metrics,--http_open_metrics", f->http_open_metrics,
               "secured: serve /metrics without a token (for Prometheus)");
  app.add_flag("--insecure", f->insecure,
               "open cluster: let --http-host reach beyond this machine without CurveZMQ keys, "
               "although anyone who connects may then submit work");
  AddLogFlags(app, &f->log);
  AddConfigFileFlag(app);
}

std::unique_ptr<SqliteKv> OpenStore(DaemonFlags* flags, const std::string& file) {
  DaemonFlags& f = *flags;
  auto curve = LoadCurveClient(f.curve_flags.secret_key, f.curve_flags.master_public_key);
  if (!curve.ok()) {
    std::cerr << f.name << ": " << curve.status().message() << "\n";
    return nullptr;
  }
  f.curve = *curve;
  if (absl::Status s = CheckOpenBind("--http-host", f.http_host, f.curve.has_value(), f.insecure); !s.ok()) {
    std::cerr << f.name << ": " << s.message() << "\n";
    return nullptr;
  }
  std::error_code ec;
  std::filesystem::create_directories(f.work_dir, ec);
  if (ec) {
    std::cerr << "cannot create --work-dir " << f.work_dir << ": " << ec.message() << "\n";
    return nullptr;
  }
  // Its store holds its tenants' specs and environments: its own alone.
  std::filesystem::permissions(f.work_dir, std::filesystem::perms::owner_all, ec);
  if (!StartLogging(f.log, (std::filesystem::path(f.work_dir) / (f.name + ".log")).string())) return nullptr;
  auto store = SqliteKv::Open((std::filesystem::path(f.work_dir) / file).string(), /*fsync=*/false);
  if (!store.ok()) {
    std::cerr << f.name << ": " << store.status().message() << "\n";
    return nullptr;
  }
  return *std::move(store);
}

int ServeAndRun(SchedulerDriver& driver, const DaemonFlags& f, HttpEndpoint::Render render,
                HttpEndpoint::Api api) {
  std::optional<HttpSecurity> security;
  if (f.curve) {
    auto made = MakeHttpSecurity(f.name, *f.curve, f.http_open_metrics);
    if (!made.ok()) {
      std::cerr << f.name << ": " << made.status().message() << "\n";
      return 1;
    }
    security = *std::move(made);
  }
  auto http = HttpEndpoint::Start(f.http_host, f.http_port, sdk::LoopOf(driver), std::move(render),
                                  std::move(api), std::move(security));
  if (!http.ok()) {
    std::cerr << f.name << ": " << http.status().message() << "\n";
    return 1;
  }
  const std::string endpoint = AdvertisedUrl(f.http_host, (*http)->port(), (*http)->tls());
  driver.SetEndpoint(endpoint, (*http)->certificate_sha256());
  std::ofstream(std::filesystem::path(f.work_dir) / "endpoint") << endpoint << "\n";
  AGORA_LOG(INFO, f.name) << "API on " << endpoint << ", master " << f.master;
  SystemdNotifier systemd(sdk::LoopOf(driver));
  SignalWatcher signals(sdk::LoopOf(driver), {SIGINT, SIGTERM, SIGHUP}, [&](int sig) {
    if (sig == SIGHUP) return ReopenLogOnHangup(f.name);
    AGORA_LOG(INFO, f.name) << "signal " << sig << ": stopping (tasks keep running for failover)";
    systemd.Stopping();
    driver.Stop(/*failover=*/true);
  });
  systemd.Ready(absl::StrCat("API on ", endpoint));
  return driver.Run();
}

}  // namespace agora::sdk
