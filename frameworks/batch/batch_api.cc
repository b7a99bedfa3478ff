#include "frameworks/batch/batch_api.h"

#include <vector>

#include "absl/strings/str_split.h"
#include "common/http_json.h"

namespace agora::batch {
namespace {

using nlohmann::json;

constexpr size_t kMaxSpecBytes = 1 << 20;

}  // namespace

HttpReply ServeBatchApi(BatchFramework& fw, const AgentTotals& agents, const HttpRequest& r) {
  std::vector<std::string> p = absl::StrSplit(r.path, '/', absl::SkipEmpty());
  // p[0] is "v1".
  const std::string noun = p.size() > 1 ? p[1] : "";
  const std::string id = p.size() > 2 ? p[2] : "";
  const std::string verb = p.size() > 3 ? p[3] : "";
  const bool get = r.method == "GET", post = r.method == "POST";
  if (noun == "runs") {
    if (post && id.empty()) {
      if (r.body.size() > kMaxSpecBytes) {
        return ErrorReply(absl::InvalidArgumentError("job file larger than 1 MiB"));
      }
      auto result = fw.Submit(r.body, agents ? agents() : std::vector<Resources>{});
      if (!result.ok()) return ErrorReply(result.status());
      if (!result->cron.empty()) return JsonReply(201, {{"cron", result->cron}});
      return JsonReply(201, {{"run_id", result->run_id}, {"jobs", result->job_ids}});
    }
    if (get && id.empty()) return JsonReply(200, fw.RunsJson());
    if (get && verb.empty()) return ValueReply(fw.RunJson(id, Param(r, "jobs") != "0"));
    if (post && verb == "kill") return DoneReply(fw.KillRun(id));
  } else if (noun == "jobs") {
    if (get && id.empty()) return JsonReply(200, fw.JobsJson(Param(r, "run"), Param(r, "name"), Param(r, "state")));
    if (get && verb.empty()) return ValueReply(fw.JobJson(id));
    if (post && verb == "kill") return DoneReply(fw.KillJob(id));
    if (post && verb == "retry") return DoneReply(fw.RetryJob(id));
  } else if (noun == "queues") {
    if (get && id.empty()) return JsonReply(200, fw.QueuesJson());
    if (get && verb.empty()) {
      for (const json& q : fw.QueuesJson()) {
        if (q["name"] == id) return JsonReply(200, q);
      }
      return ErrorReply(absl::NotFoundError("no queue '" + id + "'"));
    }
    if (r.method == "PUT" && verb.empty()) {
      json body = json::parse(r.body, nullptr, false);
      if (!body.is_object()) return ErrorReply(absl::InvalidArgumentError("expected a JSON object"));
      json merged = json::object();  // fields not given keep their value
      for (const json& q : fw.QueuesJson()) {
        if (q["name"] == id) merged = q;
      }
      merged.update(body);
      merged["name"] = id;
      auto config = QueueFromJson(merged);
      if (!config.ok()) return ErrorReply(config.status());
      return DoneReply(fw.SetQueue(*config));
    }
  } else if (noun == "crons") {
    if (get && id.empty()) return JsonReply(200, fw.CronsJson());
    if (post && (verb == "pause" || verb == "resume")) return DoneReply(fw.PauseCron(id, verb == "pause"));
    if (r.method == "DELETE" && verb.empty()) return DoneReply(fw.DeleteCron(id));
  } else if (noun == "state" && get) {
    return JsonReply(200, fw.StateJson());
  }
  return JsonReply(404, {{"error", r.method + " " + r.path + " is not part of the batch API"}});
}

}  // namespace agora::batch
