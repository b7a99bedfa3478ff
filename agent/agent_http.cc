// Agent: its HTTP endpoint: the /state and /metrics bodies, and sandbox files.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "common/json_text.h"
#include "common/resources_json.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/agent.h"
#include "agent/sandbox_files.h"
#include "common/ids.h"
#include "common/metrics_writer.h"

namespace agora::agent {
namespace fs = std::filesystem;

std::string Agent::StateJson() const {
  using nlohmann::json;
  json tasks = json::array();
  for (const auto& [key, t] : tasks_) {
    tasks.push_back({{"id", key.second},
                     {"framework_id", key.first},
                     {"state", std::string(TaskStateName(t.state))},
                     {"executor_id", t.executor_id},
                     {"sandbox", t.sandbox},
                     {"pending_updates", t.pending.size()}});
  }
  json executors = json::array();
  for (const auto& [id, e] : executors_) {
    executors.push_back({{"id", id},
                         {"framework_id", e.framework_id},
                         {"pid", e.pid},
                         {"registered", e.registered},
                         {"adopted", e.adopted},
                         {"tasks", e.active.size()}});
  }
  json attributes = json::object();
  for (const auto& [k, v] : options_.attributes) attributes[k] = v;
  return JsonText(json{{"id", agent_id_},
              {"hostname", options_.hostname},
              {"registered", registered_},
              {"master", options_.master},
              {"resources", ResourcesJson(options_.resources)},
              {"attributes", attributes},
              {"limits_enforced", options_.cgroup_version != 0},
              {"isolated", options_.isolate},
              {"task_users", options_.task_users.per_framework_uids
                                 ? "a uid per framework"
                                 : options_.task_users.default_user.name},
              {"checkpoint_failures", checkpointer_ ? checkpointer_->failures() : 0},
              {"checkpoint_error", CheckpointProblem()},
              {"tasks", tasks},
              {"executors", executors}});
}

std::string Agent::MetricsText() const {
  MetricsWriter w;
  std::array<size_t, kTaskStateCount> by_state{};
  size_t pending = 0;
  for (const auto& [key, t] : tasks_) {
    ++by_state[static_cast<int>(t.state)];
    pending += t.pending.size();
  }
  w.ByTaskState("agora_agent_tasks", "Tasks on this agent, by state.", by_state);
  w.One("agora_agent_pending_updates", "gauge", "Status updates not yet acknowledged.",
        double(pending));
  w.One("agora_agent_executors", "gauge", "Live executors.", double(executors_.size()));
  w.One("agora_agent_registered", "gauge", "1 while registered with the master.",
        registered_ ? 1 : 0);
  w.One("agora_agent_checkpoint_failing", "gauge",
        "1 while its last checkpoint write failed (it launches nothing).", CheckpointProblem().empty() ? 0 : 1);
  w.Counters({
      {"agora_agent_tasks_launched_total", "Tasks received.", stats_.tasks_launched},
      {"agora_agent_updates_sent_total", "Status updates sent.", stats_.updates_sent},
      {"agora_agent_updates_resent_total", "Status updates resent.", stats_.updates_resent},
      {"agora_agent_executors_started_total", "Executors started.", stats_.executors_started},
      {"agora_agent_executors_lost_total", "Executors that died with tasks.",
       stats_.executors_lost},
      {"agora_agent_orphans_killed_total",
       "Task processes killed after their executor died (found by their sandbox).",
       stats_.orphans_killed},
      {"agora_agent_sandboxes_removed_total", "Finished sandboxes the collector removed.",
       gc_ != nullptr ? gc_->stats().removed : 0},
      {"agora_agent_bad_messages_total", "Unexpected or invalid messages.", stats_.bad_messages},
      {"agora_agent_checkpoint_failures_total",
       "Checkpoint journal writes that failed (tasks are refused meanwhile).",
       checkpointer_ ? checkpointer_->failures() : 0},
  });
  w.Latency("agora_agent_status_update_round_trip_seconds",
            "From a status update's first send to the framework's acknowledgement.", update_round_trip_);
  if (master_) w.Socket("agora_agent_master", master_->stats());
  if (executors_socket_) w.Socket("agora_agent_executor", executors_socket_->stats());
  return w.Take();
}

std::string Agent::CheckpointProblem() const {
  return checkpointer_ ? checkpointer_->last_error() : std::string();
}

namespace {

// stdout, stderr, or one of their rotated files (agent/executor/task_log.h).
bool IsTaskLogName(const std::string& file) {
  absl::string_view rest = file;
  if (!absl::ConsumePrefix(&rest, "stdout") && !absl::ConsumePrefix(&rest, "stderr")) return false;
  if (rest.empty()) return true;
  return absl::ConsumePrefix(&rest, ".") && !rest.empty() && rest.size() <= 2 && rest[0] != '0' &&
         std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

HttpReply Agent::ServeFiles(const HttpRequest& request) const {
  using nlohmann::json;
  auto error = [](int status, const std::string& message) {
    return HttpReply{status, JsonText(json{{"error", message}}) + "\n"};
  };
  if (request.method != "GET" || request.path != "/v1/files") {
    return error(404, request.method + " " + request.path + " is not served by the agent");
  }
  auto param = [&](const char* key) {
    auto it = request.params.find(key);
    return it == request.params.end() ? std::string() : it->second;
  };
  const std::string framework = param("framework"), task = param("task");
  const std::string file = param("file").empty() ? "stdout" : param("file");
  for (const auto& [what, id] : {std::pair{"framework", framework}, {"task", task}}) {
    if (absl::Status s = ValidatePathSafeId(what, id); !s.ok()) return error(400, std::string(s.message()));
  }
  if (!IsTaskLogName(file)) {
    return error(400, "file must be stdout or stderr, or a rotated one (stdout.1 ... stdout.99)");
  }
  int64_t offset = 0, length = 64 * 1024;
  if (!param("offset").empty() && !absl::SimpleAtoi(param("offset"), &offset)) {
    return error(400, "offset must be a number");
  }
  if (!param("length").empty() && (!absl::SimpleAtoi(param("length"), &length) || length < 0)) {
    return error(400, "length must be a non-negative number");
  }
  length = std::min<int64_t>(length, 1 << 20);
  // The live task's sandbox, or else its latest run's (earlier runs of a
  // task id used again are beside it, as TASK.RUN).
  const std::string work_dir = options_.work_dir;
  std::string sandbox = (fs::path(work_dir) / "frameworks" / framework / "tasks" / task).string();
  if (auto t = tasks_.find(TaskKey{framework, task}); t != tasks_.end()) sandbox = t->second.sandbox;
  const std::string prefix = (fs::path(work_dir) / "").string();
  if (sandbox.compare(0, prefix.size(), prefix) != 0) return error(404, "no sandbox of task " + task);
  // The task owns its sandbox and may have replaced `file` with anything:
  // opened beneath the work dir, no symlinks, regular files only, off the loop.
  const std::string relative = sandbox.substr(prefix.size()) + "/" + file;
  HttpReply reply;
  reply.off_loop = [error, work_dir, relative, file, offset, length]() -> HttpReply {
    auto dir = OpenTrustedDirectory(work_dir);
    if (!dir.ok()) return error(500, std::string(dir.status().message()));
    auto fd = OpenRegularBeneath(dir->get(), relative);
    if (absl::IsNotFound(fd.status())) return error(404, "no " + file + " in that sandbox");
    if (!fd.ok()) return error(403, "refused to read " + file + ": " + std::string(fd.status().message()));
    auto slice = ReadSlice(fd->get(), offset, length);
    if (!slice.ok()) return error(500, std::string(slice.status().message()));
    return HttpReply{200, json{{"data", slice->data},
                               {"offset", slice->offset},
                               {"size", slice->size},
                               {"inode", slice->inode}}
                              .dump(-1, ' ', false, json::error_handler_t::replace) + "\n"};
  };
  return reply;
}

}  // namespace agora::agent
