// The process around a framework daemon (agora-batch, agora-services): the
// flags they share, the SQLite store under --work_dir, the HTTP API
// announced to the master, and a run that SIGINT/SIGTERM ends with the
// framework kept registered for failover (its tasks keep running).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "common/cli.h"
#include "common/http_endpoint.h"
#include "common/sqlite_kv.h"
#include "agora/sdk/scheduler_driver.h"

namespace agora::sdk {

struct DaemonFlags {
  std::string master = "tcp://127.0.0.1:5050";
  std::string work_dir;  // defaults set by each daemon before AddDaemonFlags
  std::string role;
  std::string name;
  std::string http_host = "127.0.0.1";
  int http_port = 0;
  bool http_open_metrics = false;
  bool insecure = false;  // open cluster: --http_host may reach beyond this machine
  LogFlags log;
  CurveClientFlags curve_flags;
  std::optional<CurveClient> curve;  // read from curve_flags by OpenStore
};

// --master --work_dir --role --name --http_host --http_port --insecure, the
// CurveZMQ key flags, the log flags and --config.
void AddDaemonFlags(CLI::App& app, DaemonFlags* flags);

// Reads the CurveZMQ keys (into flags->curve), creates the work dir, starts
// logging to WORK_DIR/<name>.log (unless --log_file says otherwise) and opens
// WORK_DIR/`file`; null after printing why.
std::unique_ptr<SqliteKv> OpenStore(DaemonFlags* flags, const std::string& file);

// Serves /state and /metrics (`render`) and /v1/ (`api`) on the driver's
// loop, announces the endpoint to the master (and in WORK_DIR/endpoint), and
// runs the driver until a signal. Returns the process exit code.
int ServeAndRun(SchedulerDriver& driver, const DaemonFlags& flags, HttpEndpoint::Render render,
                HttpEndpoint::Api api);

}  // namespace agora::sdk
