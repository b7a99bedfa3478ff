// agora-executor: started by agora-agent, one per framework on each agent.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "agent/executor/executor.h"
#include "common/cli.h"
#include "common/log.h"
#include "common/signals.h"

int main(int argc, char** argv) {
  using namespace agora;
  BlockSignals({SIGCHLD, SIGTERM, SIGINT});
  signal(SIGPIPE, SIG_IGN);
  CLI::App app{"agora-executor: runs one framework's tasks on this agent (started by agora-agent)"};
  agent::ExecutorOptions options;
  app.add_option("--agent", options.agent_endpoint, "the agent's executor endpoint")->required();
  app.add_option("--framework_id", options.framework_id)->required();
  app.add_option("--executor_id", options.executor_id)->required();
  app.add_option("--executor_dir", options.executor_dir, "where task exits are recorded")
      ->required();
  AddDurationFlag(app, "--recovery_timeout", &options.recovery_timeout,
                  "kill the tasks and exit when the agent is gone this long");
  AddDurationFlag(app, "--usage_interval", &options.usage_interval,
                  "how often to report the tasks' cpu and memory use (0: never)");
  app.add_option("--log_max_bytes", options.log_limits.max_bytes, "each task's stdout/stderr rotate at this size")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app.add_option("--log_max_files", options.log_limits.max_files, "files kept of each stream")
      ->check(CLI::Range(1, 100));
  bool root_tasks = false;
  app.add_flag("--root_tasks", root_tasks,
               "tasks may run as root with capabilities (the agent's --allow_root_tasks); "
               "otherwise no task can ever gain one");
  app.add_option("--init", options.init_path,
                 "agora-init, pid 1 of isolated tasks (default: beside this binary)");
  if (int rc = ParseCommandLine(app, argc, argv); rc >= 0) return rc;
  if (options.init_path.empty()) {
    options.init_path =
        (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "agora-init").string();
  }

  if (!root_tasks && ::geteuid() == 0) {
    if (absl::Status s = agent::DropCapabilityBoundingSet(); !s.ok()) {
      std::cerr << "agora-executor: " << s.message() << "\n";
      return 1;
    }
  }

  SystemClock clock;
  EventLoop loop(clock);
  zmq::context_t context;
  agent::Executor executor(options, loop, context);
  SignalWatcher signals(loop, {SIGCHLD, SIGTERM, SIGINT}, [&](int sig) {
    if (sig == SIGCHLD) {
      executor.ReapChildren();
    } else {
      executor.Shutdown(absl::StrCat("signal ", sig));
    }
  });
  executor.Start();
  loop.Run();
  return 0;
}
