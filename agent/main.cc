// agora-agent: runs on every machine; see agent/agent.h.
#include <arpa/inet.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "agent/agent.h"
#include "agent/agent_config.h"
#include "agent/cgroups.h"
#include "agent/isolation.h"
#include "common/cli.h"
#include "common/bind_policy.h"
#include "common/http_endpoint.h"
#include "common/systemd_notify.h"
#include "common/log.h"
#include "common/signals.h"

int main(int argc, char** argv) {
  using namespace agora;
  BlockSignals({SIGCHLD, SIGTERM, SIGINT, SIGHUP});
  signal(SIGPIPE, SIG_IGN);
  ::umask(077);  // what the agent writes is its own; tasks get 022 back

  CLI::App app{"agora-agent: offers this machine's resources and runs tasks.\n"
               "Example: agora-agent --master tcp://10.0.0.1:5050 --work-dir /var/lib/agora/agent "
               "--attributes 'zone:a;rack:r1'"};
  agent::AgentOptions options;
  std::string resources, attributes, cgroups = "auto";
  bool kill_tasks_on_exit = false;
  std::string http_host;
  int http_port = 5052;
  char host[HOST_NAME_MAX + 1] = {};
  ::gethostname(host, sizeof(host) - 1);
  options.hostname = host;
  options.work_dir = "/var/lib/agora/agent";
  app.add_option("--master", options.master,
                 "the master's endpoint, tcp://HOST:PORT, or zk://HOST:PORT,.../PATH to follow "
                 "the masters' elected leader")
      ->required();
  app.add_option("--work-dir,--work_dir", options.work_dir, "where sandboxes and state live")
      ->capture_default_str();
  app.add_option("--resources", resources,
                 "override detected resources: 'cpus:4;mem:8192;disk:20000;ports:[31000-32000]'");
  app.add_option("--attributes", attributes, "placement attributes: 'zone:a;rack:r1'");
  app.add_option("--hostname", options.hostname, "the name offers and endpoints carry")
      ->capture_default_str();
  app.add_option("--advertise-ip,--advertise_ip", options.advertise_ip,
                 "the IP address its tasks' ports are reached at (default: this machine's address on "
                 "the route to the master)");
  app.add_option("--cgroups", cgroups, "auto: enforce limits when root and cgroups exist; none")
      ->check(CLI::IsMember({"auto", "none"}))
      ->capture_default_str();
  app.add_option("--executor-path,--executor_path", options.executor_path,
                 "agora-executor binary (default: beside this one)");
  app.add_option("--http-host,--http_host", http_host,
                 "address for /health, /state, /metrics and task files (default: 127.0.0.1 on an "
                 "open cluster, else 0.0.0.0, over HTTPS with operators' tokens)");
  app.add_option("--http-port,--http_port", http_port, "port for /health, /state and /metrics; 0: any free")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  AddDurationFlag(app, "--kill-grace-period,--kill_grace_period", &options.kill_grace_period,
                  "SIGTERM to SIGKILL delay when a task is killed");
  AddDurationFlag(app, "--executor-idle-timeout,--executor_idle_timeout", &options.executor_idle_timeout,
                  "an executor with no tasks exits after this");
  AddDurationFlag(app, "--recovery-timeout,--recovery_timeout", &options.recovery_timeout,
                  "executors kill their tasks when the agent is gone this long");
  AddDurationFlag(app, "--gc-delay,--gc_delay", &options.gc_delay,
                  "finished sandboxes are removed this long after their last write (sooner as the "
                  "disk fills)");
  app.add_option("--gc-disk-headroom,--gc_disk_headroom", options.gc_disk_headroom,
                 "share of the work dir's disk kept free: past it, sandboxes age faster")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  AddDurationFlag(app, "--usage-interval,--usage_interval", &options.usage_interval,
                  "how often tasks' cpu and memory use is measured and reported (0: never)");
  std::string task_user, task_uids = "200000-299999", isolation = "auto";
  bool allow_root_tasks = false;
  app.add_option("--isolation", isolation,
                 "auto: each task in its own pid, mount, ipc and uts namespaces when the agent is "
                 "root and the kernel allows it; required: refuse to start otherwise; none")
      ->check(CLI::IsMember({"auto", "required", "none"}))
      ->capture_default_str();
  app.add_option("--task-uids,--task_uids", task_uids,
                 "uids set aside for tasks, one per framework, when the agent is root and no "
                 "--task-user is given (none of them may be a user of this machine)")
      ->capture_default_str();
  app.add_option("--task-uid-file,--task_uid_file", options.task_uid_file,
                 "where this machine's agents record which framework has which task uid")
      ->capture_default_str();
  app.add_option("--task-pids-max,--task_pids_max", options.task_pids_max,
                 "processes and threads a task may have when it names no limit (cgroups)")
      ->check(CLI::Range(1u, 4194304u))
      ->capture_default_str();
  app.add_option("--task-disk-default,--task_disk_default", options.task_disk_default_mib,
                 "the disk limit (MiB) of a task that asks for no disk; its sandbox is measured and "
                 "the task killed past it (or past the disk it asked for)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->capture_default_str();
  app.add_option("--task-log-max-size,--task_log_max_size", options.task_log_max_mib,
                 "a task's stdout and stderr rotate at this size (MiB): stdout, stdout.1, ...")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20))
      ->capture_default_str();
  app.add_option("--task-log-max-files,--task_log_max_files", options.task_log_max_files,
                 "how many files of each stream a task keeps (the oldest is dropped)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--task-pids-max-allowed,--task_pids_max_allowed", options.task_pids_max_allowed,
                 "the highest pids limit a task may name")
      ->check(CLI::Range(1u, 4194304u))
      ->capture_default_str();
  app.add_option("--task-user,--task_user", task_user,
                 "one user every task runs as, whatever its framework (default: a uid per "
                 "framework from --task-uids when the agent is root, else the agent's own user)");
  app.add_flag("--allow-root-tasks,--allow_root_tasks", allow_root_tasks,
               "tasks may ask to run as root (TaskSpec.user = root); refused otherwise");
  app.add_flag("--kill-tasks-on-exit,--kill_tasks_on_exit", kill_tasks_on_exit,
               "on SIGTERM, kill every task before exiting (default: tasks keep running)");
  CurveClientFlags curve;
  AddCurveClientFlags(app, &curve);
  bool http_open_metrics = false;
  app.add_flag("--http-open-metrics,--http_open_metrics", http_open_metrics,
               "secured: serve /metrics without a token (for Prometheus)");
  bool insecure = false;
  app.add_flag("--insecure", insecure,
               "open cluster: let --http-host reach beyond this machine without CurveZMQ keys, "
               "although anyone who connects may then read tasks' files");
  LogFlags log;
  AddLogFlags(app, &log);
  AddConfigFileFlag(app);
  if (int rc = ParseCommandLine(app, argc, argv); rc >= 0) return rc;

  // Validate every flag before touching the disk.
  auto curve_client = LoadCurveClient(curve.secret_key, curve.master_public_key);
  if (!curve_client.ok()) {
    std::cerr << curve_client.status().message() << "\n";
    return 2;
  }
  options.curve = *curve_client;
  if (http_host.empty()) http_host = options.curve ? "0.0.0.0" : "127.0.0.1";
  if (absl::Status s = CheckOpenBind("--http-host", http_host, options.curve.has_value(), insecure); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 2;
  }
  auto uid_range = agent::ParseUidRange(task_uids);
  if (!uid_range.ok()) {
    std::cerr << "--task-uids: " << uid_range.status().message() << "\n";
    return 2;
  }
  options.task_uids = *uid_range;
  auto task_users = agent::MakeTaskUserPolicy(task_user, allow_root_tasks, uid_range->first);
  if (!task_users.ok()) {
    std::cerr << task_users.status().message() << "\n";
    return 2;
  }
  options.task_users = *std::move(task_users);
  if (absl::Status s = Resources::Parse(resources).status(); !s.ok()) {
    std::cerr << "--resources: " << s.message() << "\n";
    return 2;
  }
  auto attrs = agent::ParseAttributes(attributes);
  if (!attrs.ok()) {
    std::cerr << "--attributes: " << attrs.status().message() << "\n";
    return 2;
  }
  options.attributes = *attrs;
  if (options.advertise_ip.empty()) {
    options.advertise_ip = agent::DetectAdvertiseAddress(options.master, options.hostname);
  } else if (in_addr a{}; ::inet_pton(AF_INET, options.advertise_ip.c_str(), &a) != 1) {
    std::cerr << "--advertise-ip: '" << options.advertise_ip << "' is not an IPv4 address\n";
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(options.work_dir, ec);
  if (ec) {
    std::cerr << "cannot create --work-dir " << options.work_dir << ": " << ec.message() << "\n";
    return 1;
  }
  options.work_dir = std::filesystem::canonical(options.work_dir, ec).string();  // sandboxes by absolute path
  ::chmod(options.work_dir.c_str(), 0711);  // tasks pass through to their sandboxes
  if (absl::Status s = agent::CheckReachable(options.task_users.default_user, options.work_dir); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 2;
  }
  const std::string log_path = (std::filesystem::path(options.work_dir) / "agora-agent.log").string();
  if (!StartLogging(log, log_path)) return 1;
  ::chmod(log_path.c_str(), 0600);  // it names tasks' commands; an older one may be 0644
  options.resources =
      *agent::ApplyResourceOverrides(agent::DetectResources(options.work_dir), resources);
  if (options.executor_path.empty()) {
    options.executor_path =
        (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "agora-executor").string();
  }
  if (::access(options.executor_path.c_str(), X_OK) != 0) {
    std::cerr << "executor binary " << options.executor_path << " is missing or not executable\n";
    return 1;
  }
  options.cgroup_version = cgroups == "auto" ? agent::DetectCgroupVersion() : 0;
  options.pids_limits = options.cgroup_version != 0 && agent::HasPidsController(options.cgroup_version);
  if (options.cgroup_version != 0 && !options.pids_limits) {
    AGORA_LOG(WARNING, "agent") << "no pids cgroup controller here: tasks' process counts are NOT limited";
  }
  if (isolation != "none") {
    const absl::Status probe = agent::ProbeIsolation();
    const std::string init =
        (std::filesystem::path(options.executor_path).parent_path() / "agora-init").string();
    if (probe.ok() && ::access(init.c_str(), X_OK) == 0) {
      options.isolate = true;
    } else {
      const std::string why = probe.ok() ? init + " is missing" : std::string(probe.message());
      if (isolation == "required") {
        std::cerr << "--isolation required: tasks cannot be isolated here: " << why << "\n";
        return 1;
      }
      AGORA_LOG(WARNING, "agent") << "tasks are NOT isolated (" << why
                                  << "): they share this machine's pid, mount, ipc and uts namespaces";
    }
  }
  AGORA_LOG(INFO, "agent") << "offering " << options.resources.ToString() << " as "
                           << options.hostname << "; limits "
                           << (options.cgroup_version ? "enforced with cgroup v" : "not enforced")
                           << (options.cgroup_version ? std::to_string(options.cgroup_version) : "")
                           << "; tasks run as " << options.task_users.default_user.name
                           << (options.task_users.allow_root ? " (or root when they ask)" : "")
                           << (options.isolate ? ", isolated" : ", not isolated");

  SystemClock clock;
  EventLoop loop(clock);
  zmq::context_t context;
  // HTTP first, so the agent can announce where it is; requests wait for the loop.
  std::unique_ptr<agent::Agent> agent_ptr;
  std::optional<HttpSecurity> http_security;
  if (options.curve) {
    auto made = MakeHttpSecurity(options.hostname, *options.curve, http_open_metrics);
    if (!made.ok()) {
      std::cerr << made.status().message() << "\n";
      return 1;
    }
    http_security = *std::move(made);
  }
  auto http = HttpEndpoint::Start(
      http_host, http_port, loop,
      [&](const std::string& path) {
        return path == "/state" ? agent_ptr->StateJson() : agent_ptr->MetricsText();
      },
      [&](const HttpRequest& request) { return agent_ptr->ServeFiles(request); },
      std::move(http_security), [&] { return agent_ptr->CheckpointProblem(); });
  if (!http.ok()) {
    std::cerr << http.status().message() << "\n";
    return 1;
  }
  // A wildcard address is not reachable as such: announce the advertised IP.
  options.http_cert_sha256 = (*http)->certificate_sha256();
  options.http_endpoint = absl::StrCat(
      (*http)->tls() ? "https://" : "http://", http_host == "0.0.0.0" || http_host == "::" ? options.advertise_ip : http_host, ":",
      (*http)->port());
  std::ofstream(std::filesystem::path(options.work_dir) / "http_endpoint")
      << options.http_endpoint << "\n";
  agent_ptr = std::make_unique<agent::Agent>(options, loop, context);
  agent::Agent& agent = *agent_ptr;
  bool stopping = false;
  SystemdNotifier systemd(loop);
  SignalWatcher signals(loop, {SIGCHLD, SIGTERM, SIGINT, SIGHUP}, [&](int sig) {
    if (sig == SIGHUP) return ReopenLogOnHangup("agent");
    if (sig == SIGCHLD) {
      agent.ReapChildren();
      if (stopping && agent.executor_count() == 0) loop.Stop();
      return;
    }
    AGORA_LOG(INFO, "agent") << "signal " << sig << ": shutting down";
    systemd.Stopping();
    if (!kill_tasks_on_exit || agent.executor_count() == 0 || stopping) return loop.Stop();
    stopping = true;
    agent.ShutdownExecutors();
    // Executors exit after their tasks' grace periods; do not wait forever.
    loop.After(options.kill_grace_period + absl::Seconds(2), [&] { loop.Stop(); });
  });
  if (absl::Status s = agent.Start(); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  systemd.Ready("serving; registering with the master");
  loop.Run();
  return 0;
}
