// Helpers for integration tests on the real binaries over loopback: a
// Process that is always cleaned up, a LocalCluster of one master and N
// agents in a temporary directory, the CLI run as a subprocess, and WaitFor,
// which polls a condition until a deadline (never a fixed sleep).
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/time/time.h"

namespace agora::testing {

// A child process started from argv with stdout+stderr to `log`. The
// destructor sends SIGTERM, waits up to 10s, then SIGKILLs.
class Process {
 public:
  Process(std::vector<std::string> argv, std::string log);
  ~Process();
  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // True when the process exited within `timeout`; `status` gets waitpid's.
  bool Wait(absl::Duration timeout, int* status = nullptr);
  bool running() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout);

struct CliResult {
  int exit_code = -1;
  std::string out;  // what it printed (Cli: stdout and stderr together)
};
// Runs `command` with /bin/sh and waits: its exit code and its stdout.
CliResult RunShell(const std::string& command);
// Runs `agora ARGS` (ARGS as a shell would split them; killed after 120 s)
// and waits: its exit code, stdout and stderr.
CliResult AgoraCli(const std::string& args);

// The folder of an `agora dev` cluster, TMP/agora-NAME-PID: whatever the
// test did, the cluster is brought down (`agora dev down`) and the folder
// removed when this goes.
class DevClusterDir {
 public:
  explicit DevClusterDir(const std::string& name);
  ~DevClusterDir();
  const std::string& path() const { return path_; }
  std::string flags() const { return "--dir " + path_; }  // for `agora dev`

 private:
  std::string path_;
};

struct ClusterOptions {
  int agents = 3;
  std::string agent_resources = "cpus:4;mem:2048;disk:1000";
  std::vector<std::string> master_flags = {"--heartbeat_interval", "250ms",
                                           "--heartbeat_timeout", "2s", "--http_port", "0"};
  std::vector<std::string> agent_flags;
  // Agent i also offers 100 ports from agent_port_base(i). All agents (and
  // the tests ctest runs side by side) share this machine, so the cluster
  // picks ranges that are free now and no other cluster of this run uses.
  bool agent_ports = false;
  // The address the master listens on (a test's network namespace host side).
  std::string master_host = "127.0.0.1";
  // With `zk` (a ZkEnsemble's url()), `masters` masters elect a leader
  // through it, and agents and the CLI are given that zk:// address.
  std::string zk;
  int masters = 1;
  // Where the cluster's folder is made (empty: the temp dir). Isolated tasks
  // get a /tmp of their own only when their work dir is not under /tmp.
  std::string base_dir;
};

class LocalCluster {
 public:
  explicit LocalCluster(ClusterOptions options = {});
  ~LocalCluster();

  // What agents and the CLI are given: the master's endpoint, or `zk`.
  const std::string& master() const { return master_address_; }
  // Master i's own ZeroMQ endpoint.
  const std::string& master_endpoint(int i = 0) const { return master_endpoints_.at(i); }
  const std::string& dir() const { return dir_; }
  std::string agent_hostname(int i) const { return "agent" + std::to_string(i); }
  // The first port agent i offers (with `agent_ports`).
  int agent_port_base(int i) const { return port_base_ + 100 * i; }

  void StartMaster(int i = 0);
  void StartAgent(int i);
  Process& master_process(int i = 0) { return *masters_.at(i); }
  bool master_running(int i) const { return masters_.at(i) != nullptr; }
  void StopMaster(int i) { masters_.at(i).reset(); }
  // With `zk`: which master leads (by ZooKeeper's election), -1 when none
  // does within `timeout`.
  int LeaderIndex(absl::Duration timeout = absl::Seconds(30));
  Process& agent_process(int i) { return *agents_.at(i); }
  void StopAgent(int i) { agents_.at(i).reset(); }

  // Runs `agora --master M args...`.
  CliResult Cli(const std::vector<std::string>& args, absl::Duration timeout = absl::Seconds(60));
  // `agora NOUN --json`, parsed; an empty array when the master is down.
  nlohmann::json Query(const std::string& noun);
  // Until every agent shows `active`.
  bool WaitForAgents(int count, absl::Duration timeout = absl::Seconds(15));

 private:
  ClusterOptions options_;
  std::string dir_;
  std::string master_address_;
  std::vector<std::string> master_endpoints_;
  int port_base_ = 0;
  std::vector<std::unique_ptr<Process>> masters_;
  std::vector<std::unique_ptr<Process>> agents_;
};

// Where the binaries under test are: $AGORA_TEST_BIN_DIR, else the build's bin/.
std::string BinPath(const std::string& name);
// The first line of the file at `path`, or "" when there is none.
std::string FirstLine(const std::string& path);
// The whole file at `path`, or "" when there is none.
std::string FileText(const std::string& path);
// Host pids of the processes in the pid namespace `ns` (a task's
// `readlink /proc/self/ns/pid`) whose command line starts with `program`
// (empty: all of them).
std::vector<pid_t> PidsInNamespace(const std::string& ns, const std::string& program = "");
int FreePort();
int FreePortRange(int count);
int FreeMasterPort();  // and the one after it, for an HTTP port

}  // namespace agora::testing
