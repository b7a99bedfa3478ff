# Agora wire protocol. One Envelope per ZeroMQ frame, serialized flat.
#
# Peers: agents, frameworks and the CLI talk to the master; executors talk to
# their agent. Requests that want an answer set Envelope.requestId != 0 and
# the answer (ok, error, subscribed, operatorReply, ...) echoes it.
# Compatibility: fields are only ever added; `version` changes on a break.
@0x91488540192284f1;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("agora::wire");

const protocolVersion :UInt16 = 1;

struct PortRange {
  begin @0 :UInt32;
  end @1 :UInt32;  # inclusive
}

struct Resources {
  cpus @0 :Float64;
  mem @1 :Float64;   # MiB
  disk @2 :Float64;  # MiB
  ports @3 :List(PortRange);
}

struct KeyValue {
  key @0 :Text;
  value @1 :Text;
}

enum TaskState {
  staging @0;
  starting @1;
  running @2;
  finished @3;
  failed @4;
  killed @5;
  error @6;
  lost @7;
  unreachable @8;
  gone @9;
  dropped @10;
  killing @11;
}

struct TaskSpec {
  taskId @0 :Text;
  name @1 :Text;
  command @2 :Text;            # run as /bin/sh -c command
  resources @3 :Resources;
  env @4 :List(KeyValue);
  portNames @5 :List(Text);    # PORT_<NAME> for the i-th assigned port
  killGracePeriodMs @6 :UInt32;  # 0 = the agent's default
  healthCheck @7 :HealthCheck;   # kind none: no check
  files @8 :List(KeyValue);      # written into the sandbox before the task starts: relative path -> content
  user @9 :Text;                 # run as this user; empty: the agent's --task_user
  pidsMax @10 :UInt32;           # processes and threads at most; 0 = the agent's default
}

# Run by the task's executor; results ride on status updates as `healthy`.
struct HealthCheck {
  kind @0 :Kind;
  enum Kind { none @0; command @1; http @2; tcp @3; }
  command @1 :Text;        # kind command: run by /bin/sh -c in the sandbox; exit 0 = healthy
  port @2 :UInt32;         # kind http/tcp: on 127.0.0.1 (one of the task's ports)
  path @3 :Text;           # kind http: 2xx/3xx = healthy
  intervalMs @4 :UInt32;
  timeoutMs @5 :UInt32;
  gracePeriodMs @6 :UInt32;  # failures before the first success, within this, do not count
  maxFailures @7 :UInt32;    # consecutive failures that make the task unhealthy
}

struct TaskStatus {
  taskId @0 :Text;
  frameworkId @1 :Text;
  agentId @2 :Text;
  state @3 :TaskState;
  uuid @4 :Text;         # empty for master-generated updates (no ack needed)
  message @5 :Text;
  reason @6 :Text;
  exitCode @7 :Int32;
  healthy @8 :Bool;
  hasHealth @9 :Bool;
  timestampUs @10 :Int64;
}

# A task an agent reports when it (re-)registers.
struct AgentTask {
  frameworkId @0 :Text;
  spec @1 :TaskSpec;
  state @2 :TaskState;
}

enum ErrorCode {
  invalidArgument @0;
  notFound @1;
  unknownAgent @2;
  unknownFramework @3;
  staleOffer @4;
  insufficientResources @5;
  failedPrecondition @6;
  internal @7;
  agentGone @8;
  permissionDenied @9;  # a secured master: this key may not do that
  notLeader @10;        # a standby master (--zk): ask the leader (Error.leader) instead
  unavailable @11;      # known, but out of reach this moment (a framework re-subscribing): ask again shortly
}

# ---- agent <-> master ----------------------------------------------------
struct RegisterAgent {
  agentId @0 :Text;       # empty on first registration
  hostname @1 :Text;
  resources @2 :Resources;
  attributes @3 :List(KeyValue);
  tasks @4 :List(AgentTask);
  limitsEnforced @5 :Bool;  # memory/cpu limits through cgroups
  cgroupVersion @6 :UInt8;  # 0 none, 1 or 2
  httpEndpoint @7 :Text;    # "http://HOST:PORT": /state, /metrics, sandbox files
  address @8 :Text;         # the IP address its tasks' ports are reached at
  httpCertSha256 @9 :Text;  # secured: the fingerprint of its HTTPS certificate
}
struct AgentRegistered {
  agentId @0 :Text;
  heartbeatIntervalMs @1 :UInt32;
}
struct AgentHeartbeat {
  agentId @0 :Text;
  checkpointError @1 :Text;  # why its last checkpoint write failed; empty when fine
}
struct ReregisterAgent { agentId @0 :Text; }   # master does not know it
struct RunTask {
  frameworkId @0 :Text;
  frameworkName @1 :Text;
  agentId @2 :Text;
  task @3 :TaskSpec;
}
struct KillTask {
  frameworkId @0 :Text;
  taskId @1 :Text;
  agentId @2 :Text;
}
struct StatusUpdate { status @0 :TaskStatus; }
struct Acknowledge {
  frameworkId @0 :Text;
  agentId @1 :Text;
  taskId @2 :Text;
  uuid @3 :Text;
}

# ---- framework <-> master ----------------------------------------------
struct Subscribe {
  frameworkId @0 :Text;   # empty for a new framework
  name @1 :Text;
  role @2 :Text;
  failoverTimeoutMs @3 :UInt64;
  endpoint @4 :Text;      # the framework's own API endpoint, if any
  endpointCertSha256 @5 :Text;  # secured: the fingerprint of its HTTPS certificate
}
struct Subscribed {
  frameworkId @0 :Text;
  heartbeatIntervalMs @1 :UInt32;
}
struct FrameworkHeartbeat { frameworkId @0 :Text; }
struct Offer {
  offerId @0 :Text;
  agentId @1 :Text;
  hostname @2 :Text;
  attributes @3 :List(KeyValue);
  resources @4 :Resources;
  address @5 :Text;       # the agent's IP address, for its tasks' ports
}
struct Offers { offers @0 :List(Offer); }
struct RescindOffer { offerId @0 :Text; }
struct Accept {
  frameworkId @0 :Text;
  offerIds @1 :List(Text);
  tasks @2 :List(TaskSpec);
  refuseSeconds @3 :Float64;  # filter for the unused part; <0 = default
}
struct Decline {
  frameworkId @0 :Text;
  offerIds @1 :List(Text);
  refuseSeconds @2 :Float64;  # <0 = default
}
struct Suppress { frameworkId @0 :Text; }
struct Revive { frameworkId @0 :Text; }
struct Reconcile {
  frameworkId @0 :Text;
  taskIds @1 :List(Text);  # empty = every non-terminal task
}
struct Teardown { frameworkId @0 :Text; }
struct AgentLost { agentId @0 :Text; }

# ---- operator (CLI) <-> master -------------------------------------------
struct OperatorQuery {
  query @0 :Text;   # agents | frameworks | tasks | offers | state
}
struct OperatorReply { json @0 :Text; }
# An operator kills a task of any framework. With frameworkId empty, the task
# id must be unique across frameworks.
struct OperatorKill {
  taskId @0 :Text;
  frameworkId @1 :Text;
}
# An operator steers an agent's maintenance (by id or hostname).
struct OperatorAgent {
  agent @0 :Text;
  action @1 :Action;
  enum Action {
    drain @0;     # no new offers; frameworks told; what is left is killed at the deadline
    undrain @1;   # back to active
    gone @2;      # an unreachable or drained agent will not come back: its tasks are GONE
  }
  deadlineMs @2 :UInt64;  # drain: 0 = no deadline
}
# An operator removes a framework: its tasks are killed, its offers rescinded.
struct OperatorTeardown { frameworkId @0 :Text; }
# An operator sets a role's DRF weight and quota cap. Kept in the registry,
# they outlive master restarts and win over the master's flags for the role.
struct OperatorRole {
  role @0 :Text;
  weight @1 :Float64;  # 0 = unchanged
  quota @2 :QuotaAction;
  limit @3 :Resources;  # with quota = set; a scalar >= 1e9 is not capped
  enum QuotaAction {
    keep @0;
    set @1;
    remove @2;
  }
}
# master -> frameworks with tasks on a draining agent: move them before the
# deadline (then the master kills what is left).
struct AgentDraining {
  agentId @0 :Text;
  deadlineUnixMs @1 :Int64;  # 0 = no deadline
}

# An operator asks how to reach a daemon's HTTP: "master", "agent:ID-OR-HOSTNAME"
# or "framework:NAME". A secured master answers operators only, with a token
# for that daemon alone; an open one answers anyone, with the URL alone.
struct HttpAccessRequest { target @0 :Text; }
struct HttpAccess {
  url @0 :Text;           # http(s)://HOST:PORT
  certSha256 @1 :Text;    # secured: accept only this certificate
  token @2 :Text;         # secured: send as "Authorization: Bearer TOKEN"
  expiresUnixMs @3 :Int64;
}

# ---- answers ---------------------------------------------------------------
struct Ok {}
struct Error {
  code @0 :ErrorCode;
  message @1 :Text;
  leader @2 :Text;  # notLeader: the leader's ZeroMQ endpoint, empty while there is none
}

# ---- executor <-> agent ----------------------------------------------------
# Sent by an executor when it starts and then every second: registration and
# heartbeat in one. The agent answers executorRegistered with the same
# requestId.
struct RegisterExecutor {
  frameworkId @0 :Text;
  executorId @1 :Text;
  pid @2 :Int32;
}
struct ExecutorRegistered {
  agentInstance @0 :Text;  # new on every agent start
}
struct LaunchTask {
  frameworkId @0 :Text;
  task @1 :TaskSpec;
  sandbox @2 :Text;
  env @3 :List(KeyValue);       # complete AGORA_* and port environment
  memLimitBytes @4 :UInt64;     # 0 = no limit
  cpuShares @5 :UInt32;         # 0 = no shares
  cgroupVersion @6 :UInt8;      # 0 = no cgroups
  gracePeriodMs @7 :UInt32;
  switchUser @8 :Bool;          # become uid/gid/groups before exec (the executor is root)
  uid @9 :UInt32;
  gid @10 :UInt32;
  groups @11 :List(UInt32);
  runId @12 :Text;              # this run of the task id (a task id may run again later)
  isolate @13 :Bool;            # own pid, mount, ipc and uts namespaces under agora-init
  pidsMax @14 :UInt32;          # the task cgroup's pids limit; 0 = none
  diskLimitBytes @15 :UInt64;   # the sandbox's size at most (measured, then killed); 0 = none
}
struct ExecutorKill {
  taskId @0 :Text;
  gracePeriodMs @1 :UInt32;
}
struct ExecutorStatus {
  taskId @0 :Text;
  state @1 :TaskState;
  message @2 :Text;
  reason @3 :Text;
  exitCode @4 :Int32;
  hasHealth @5 :Bool;  # a health check ran: `healthy` is its verdict
  healthy @6 :Bool;
}
struct ShutdownExecutor {}

# Resource use of running tasks, every usage interval: executor -> agent
# (frameworkId empty), agent -> master (agentId and frameworkId set), master ->
# each framework (its own tasks only).
struct TaskUsage {
  frameworkId @0 :Text;
  taskId @1 :Text;
  cpusUsed @2 :Float64;   # cpu-seconds per second over the last interval
  memBytes @3 :UInt64;    # in use now
}
struct UsageReport {
  agentId @0 :Text;
  usages @1 :List(TaskUsage);
}

struct Envelope {
  version @0 :UInt16;
  requestId @1 :UInt64;
  union {
    ok @2 :Ok;
    error @3 :Error;
    registerAgent @4 :RegisterAgent;
    agentRegistered @5 :AgentRegistered;
    agentHeartbeat @6 :AgentHeartbeat;
    reregisterAgent @7 :ReregisterAgent;
    runTask @8 :RunTask;
    killTask @9 :KillTask;
    statusUpdate @10 :StatusUpdate;
    acknowledge @11 :Acknowledge;
    subscribe @12 :Subscribe;
    subscribed @13 :Subscribed;
    frameworkHeartbeat @14 :FrameworkHeartbeat;
    offers @15 :Offers;
    rescindOffer @16 :RescindOffer;
    accept @17 :Accept;
    decline @18 :Decline;
    suppress @19 :Suppress;
    revive @20 :Revive;
    reconcile @21 :Reconcile;
    teardown @22 :Teardown;
    agentLost @23 :AgentLost;
    operatorQuery @24 :OperatorQuery;
    operatorReply @25 :OperatorReply;
    registerExecutor @26 :RegisterExecutor;
    launchTask @27 :LaunchTask;
    executorKill @28 :ExecutorKill;
    executorStatus @29 :ExecutorStatus;
    shutdownExecutor @30 :ShutdownExecutor;
    operatorKill @31 :OperatorKill;
    executorRegistered @32 :ExecutorRegistered;
    usageReport @33 :UsageReport;
    operatorAgent @34 :OperatorAgent;
    operatorTeardown @35 :OperatorTeardown;
    agentDraining @36 :AgentDraining;
    operatorRole @37 :OperatorRole;
    httpAccessRequest @38 :HttpAccessRequest;
    httpAccess @39 :HttpAccess;
  }
}

# ---- the agent's checkpoints (WORK_DIR/meta), not sent on the wire ---------
struct CheckpointedExecutor {
  frameworkId @0 :Text;
  executorId @1 :Text;
  pid @2 :Int32;
}
# One entry of the agent's checkpoint journal (WORK_DIR/meta/journal).
struct CheckpointRecord {
  union {
    executor @0 :CheckpointedExecutor;
    removeExecutor @1 :Text;        # executor id
    task @2 :CheckpointedTask;
    removeTask @3 :KeyValue;        # key: framework id, value: task id
  }
}
struct CheckpointedTask {
  frameworkId @0 :Text;
  spec @1 :TaskSpec;
  state @2 :TaskState;
  executorId @3 :Text;
  sandbox @4 :Text;
  env @5 :List(KeyValue);
  pending @6 :List(TaskStatus);  # updates not yet acknowledged, oldest first
  runId @7 :Text;
}
