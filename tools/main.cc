// agora: the command line for operators and users.
#include <signal.h>

#include <functional>
#include <iostream>

#include "absl/strings/str_cat.h"

#include "common/cli.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/signals.h"
#include "tools/batch_commands.h"
#include "tools/completion.h"
#include "tools/config_commands.h"
#include "tools/dev_command.h"
#include "tools/keys_command.h"
#include "tools/listings.h"
#include "tools/live_candidates.h"
#include "tools/logs_command.h"
#include "tools/maintenance_commands.h"
#include "tools/output.h"
#include "frameworks/sdk/master_client.h"
#include "tools/run_command.h"
#include "tools/service_commands.h"

int main(int argc, char** argv) {
  using namespace agora;
  using namespace agora::tools;
  BlockSignals({SIGINT, SIGTERM});
  signal(SIGPIPE, SIG_IGN);
  SetLogLevel(LogLevel::kWarning);  // the SDK's progress lines are not for CLI users

  CLI::App app{"agora: inspect and use an Agora cluster.\n"
               "Examples:\n"
               "  agora --master tcp://10.0.0.1:5050 agents\n"
               "  agora run --instances 3 -- echo hello"};
  app.fallthrough();  // global flags work after the subcommand too
  app.require_subcommand(1);
  std::string master = "tcp://127.0.0.1:5050";
  bool json = false;
  absl::Duration timeout = absl::Seconds(5);
  app.add_option("--master", master,
                 "the master's endpoint, or zk://HOST:PORT,.../PATH for the elected leader of "
                 "several (or $AGORA_MASTER)")
      ->envname("AGORA_MASTER")
      ->capture_default_str();
  app.add_flag("--json", json, "print JSON instead of a table (-o json)");
  std::string output = "table";
  app.add_option("-o,--output", output,
                 "table (fit to the terminal, ids whole), wide (nothing cut), json or yaml; under json "
                 "and yaml errors are JSON or YAML too")
      ->check(CLI::IsMember({"table", "wide", "json", "yaml"}))
      ->capture_default_str();
  AddDurationFlag(app, "--request-timeout,--request_timeout", &timeout, "how long to wait for the master");
  CurveClientFlags curve_flags;
  AddCurveClientFlags(app, &curve_flags);

  WatchFlags watch;
  auto add_watch = [&](CLI::App* cmd) { AddWatchFlags(*cmd, &watch); };
  MaintenanceArgs maintenance;
  AddMaintenanceCommands(app, &maintenance);
  CLI::App* task_cmd = app.add_subcommand("task", "list, show and kill tasks");
  task_cmd->require_subcommand(1);
  app.add_subcommand("offer", "list the offers outstanding")->require_subcommand(1);
  ListingArgs listing;
  AddListingCommands(app, &listing, &watch);
  add_watch(app.add_subcommand("status", "summarize the cluster: agents, resources, frameworks, tasks\n"
                                         "Example: agora status --watch"));
  std::string kill_task_id, kill_framework_id;
  CLI::App* kill_cmd = task_cmd->add_subcommand(
      "kill", "kill a task of any framework (SIGTERM, then SIGKILL after its grace period)\n"
              "Example: agora task kill web-3 --framework f-3f09c1d2e4b5");
  kill_cmd->add_option("id", kill_task_id, "the task id")->required();
  kill_cmd->add_option("--framework", kill_framework_id,
                       "the task's framework, when several use the same task id");

  RunOptions run;
  std::vector<std::string> command;
  double cpus = 0.1, mem = 32, disk = 0;
  CLI::App* run_cmd = app.add_subcommand(
      "run",
      "run a command on the cluster and wait for it\n"
      "Example: agora run --instances 3 --cpus 0.5 --mem 64 -- sh -c 'echo $AGORA_TASK_ID'");
  run_cmd->add_option("--cpus", cpus, "cpus per copy")->check(CLI::PositiveNumber)->capture_default_str();
  run_cmd->add_option("--mem", mem, "MiB of memory per copy")->check(CLI::PositiveNumber)->capture_default_str();
  run_cmd->add_option("--disk", disk, "MiB of disk per copy")->check(CLI::NonNegativeNumber)->capture_default_str();
  run_cmd->add_option("--instances", run.instances, "how many copies")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  run_cmd->add_option("--name", run.name, "task name prefix")->capture_default_str();
  run_cmd->add_option("--role", run.role, "the role to run under")->capture_default_str();
  run_cmd->add_option("--user", run.user,
                      "the user to run as (default: the agent's --task-user; root only where the "
                      "agent has --allow-root-tasks)");
  AddDurationFlag(*run_cmd, "--timeout", &run.timeout, "kill everything after this (0: never)");
  run_cmd->add_option("command", command, "the command (after --)")->required();

  DevArgs dev;
  CLI::App* dev_cmd = app.add_subcommand(
      "dev", "a whole cluster on this machine, no configuration: master, agents, agora-batch, agora-services\n"
             "Example: agora dev up --agents 3 && agora status && agora dev down");
  dev_cmd->require_subcommand(1);
  dev_cmd->add_option("--dir", dev.dir, "where work dirs and logs go")->default_str(DefaultDevDir());
  CLI::App* dev_up = dev_cmd->add_subcommand(
      "up", "start the cluster and return once it is ready\nExample: agora dev up --agents 5 --json");
  dev_up->add_option("--agents", dev.agents, "how many agents")->check(CLI::Range(1, 64))->capture_default_str();
  dev_up->add_option("--port", dev.port, "the master's port (a free one if taken)")
      ->check(CLI::Range(1, 65534))
      ->capture_default_str();
  dev_up->add_option("--masters", dev.masters,
                     "masters electing a leader through a ZooKeeper that dev up starts too (1, 3 or 5)")
      ->check(CLI::IsMember({1, 3, 5}))
      ->capture_default_str();
  CLI::App* dev_kill = dev_cmd->add_subcommand(
      "kill", "SIGKILL one of the cluster's processes (a master, an agent, a framework)\n"
              "Example: agora dev kill master-0");
  dev_kill->add_option("name", dev.name, "as `agora dev status` lists it")->required();
  CLI::App* dev_start = dev_cmd->add_subcommand(
      "start", "start one of the cluster's processes again, as it was\nExample: agora dev start master-0");
  dev_start->add_option("name", dev.name, "as `agora dev status` lists it")->required();
  CLI::App* dev_restart = dev_cmd->add_subcommand(
      "restart", "stop one of the cluster's processes and start it again (an agent as after a crash:\n"
                 "its tasks keep running); `batch` and `services` name the frameworks\n"
                 "Example: agora dev restart agent-1");
  dev_restart->add_option("name", dev.name, "as `agora dev status` lists it")->required();
  dev_cmd->add_subcommand("status", "show the cluster's processes\nExample: agora dev status --json");
  dev_cmd->add_subcommand("down", "stop everything `up` started, tasks included\nExample: agora dev down");

  LogsArgs logs;
  CLI::App* logs_cmd = app.add_subcommand(
      "logs", "a task's stdout or stderr, read from its sandbox through its agent\n"
              "Example: agora logs web-3 --stderr --tail 20 --follow");
  logs_cmd->add_option("task", logs.task_id, "the task id")->required();
  logs_cmd->add_option("--framework", logs.framework_id, "the task's framework, when several use the id");
  logs_cmd->add_flag("--stderr", logs.stderr_file, "stderr instead of stdout");
  logs_cmd->add_flag("--follow,-f", logs.follow, "keep printing until the task ends");
  logs_cmd->add_option("--tail", logs.tail, "only the last N lines")->check(CLI::NonNegativeNumber);

  KeysArgs keys;
  CLI::App* keys_cmd = AddKeysCommands(app, &keys);

  BatchArgs batch;
  AddBatchCommands(app, &batch);
  ServiceArgs services;
  AddServiceCommands(app, &services);
  for (const char* noun : {"job", "queue", "cron", "service"}) {  // every listing takes --watch
    add_watch(app.get_subcommand(noun)->get_subcommand("list"));
  }
  AddConfigCommands(app, &services);

  CLI::App* version_cmd = app.add_subcommand(
      "version", "print this CLI's version and commit, and the master's\nExample: agora version --json");
  CLI::App* completion = app.add_subcommand(
      "completion", "print the shell completion script\nExample: source <(agora completion bash)");
  std::string shell;
  completion->add_option("shell", shell, "bash, zsh or fish")->check(CLI::IsMember({"bash", "zsh", "fish"}))->required();
  CLI::App* complete = app.add_subcommand("__complete", "")->prefix_command();  // for the script; hidden
  complete->group("");
  for (int i = 1; i < argc; ++i) {  // after any global flags
    if (std::string(argv[i]) != "__complete") continue;
    // (The whole command line names the master: --master may come first.)
    PrintCompletions(app, std::vector<std::string>(argv + i + 1, argv + argc),
                     ClusterCandidates(std::vector<std::string>(argv + 1, argv + argc)));
    return 0;
  }

  // Usage errors come in the format asked for, before -o itself is parsed.
  SetOutputFormat(OutputFormatInArgs(argc, argv));
  const UsageErrorPrinter structured_usage = [](const std::string& message, const std::string& hint) {
    PrintError("", hint.empty() ? message : absl::StrCat(message, "; ", hint));
  };
  if (int rc = ParseCommandLine(app, argc, argv, Structured() ? structured_usage : nullptr); rc >= 0) return rc;
  SetOutputFormat(json ? "json" : output);
  json = Structured();
  // Every wait and follow ends on Ctrl-C (exit 130) or SIGTERM: only `run`
  // has something to undo first (its tasks), through its own event loop.
  if (!run_cmd->parsed()) DieOnSignals({SIGINT, SIGTERM});
  if (completion->parsed()) {
    std::cout << CompletionScript(shell);
    return 0;
  }
  if (keys_cmd->parsed()) return GenerateKeys(keys);
  auto curve = LoadCurveClient(curve_flags.secret_key, curve_flags.master_public_key);
  if (!curve.ok()) {
    PrintError("", curve.status().message());
    return 2;
  }
  batch.master = master;
  batch.curve = *curve;
  batch.json = json;
  batch.timeout = timeout;
  // A framework command, again and again under --watch (only listings take it).
  auto watched = [&](CLI::App* noun, const std::function<int()>& run) {
    if (!watch.watch) return run();
    return Watch(watch, absl::StrCat("agora ", noun->get_name(), " ", noun->get_subcommands().front()->get_name()),
                 run);
  };
  for (const char* noun : {"job", "queue", "cron"}) {
    if (app.get_subcommand(noun)->parsed()) {
      return watched(app.get_subcommand(noun), [&] { return RunBatchCommand(app, batch); });
    }
  }
  services.master = master;
  services.curve = *curve;
  services.json = json;
  services.timeout = timeout;
  if (app.get_subcommand("service")->parsed()) {
    return watched(app.get_subcommand("service"), [&] { return RunServiceCommand(app, services); });
  }
  if (int rc = RunConfigCommand(app, services); rc >= 0) return rc;
  if (dev_cmd->parsed()) {
    dev.json = json;
    if (dev_cmd->get_subcommand("up")->parsed()) return DevUp(dev);
    if (dev_cmd->get_subcommand("status")->parsed()) return DevStatus(dev);
    if (dev_kill->parsed()) return DevKill(dev);
    if (dev_start->parsed()) return DevStart(dev);
    if (dev_restart->parsed()) return DevRestart(dev);
    return DevDown(dev);
  }

  if (run_cmd->parsed()) {
    if (absl::Status s = ValidatePathSafeId("--name", run.name); !s.ok()) {
      PrintError("run", s.message());
      return 2;
    }
    run.master = master;
    run.curve = *curve;
    run.request_timeout = timeout;
    run.json = json;
    run.command = ShellJoin(command);
    run.resources = Resources::Scalars(cpus, mem, disk);
    return RunCommand(run);
  }
  MasterClient client(master, timeout, *curve);
  if (!listing.noun.empty() && !listing.id.empty()) return PrintShow(client, listing.noun, listing.id, json);
  if (!listing.noun.empty() || app.get_subcommand("status")->parsed()) {
    const std::string noun = listing.noun.empty() ? "status" : listing.noun;
    auto print = [&] {
      return noun == "status" ? PrintStatus(client, json) : PrintListing(client, noun, json, listing.filter);
    };
    return watch.watch ? Watch(watch, "agora " + noun, print) : print();
  }
  maintenance.json = json;
  if (int rc = RunMaintenanceCommand(app, client, maintenance); rc >= 0) return rc;
  if (logs_cmd->parsed()) return PrintLogs(client, logs);
  if (version_cmd->parsed()) return PrintVersions(client, json);
  if (kill_cmd->parsed()) {
    if (absl::Status s = client.KillTask(kill_task_id, kill_framework_id); !s.ok()) {
      PrintError("task kill", s.message());
      return 1;
    }
    std::cout << "kill of " << kill_task_id << " sent; see `agora tasks`\n";
    return 0;
  }
  return 2;  // (every command is handled above)
}
