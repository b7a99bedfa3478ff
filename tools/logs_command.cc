#include "tools/logs_command.h"

#include <httplib.h>

#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/task.h"

namespace agora::tools {
namespace {

using nlohmann::json;

int Fail(const std::string& message) {
  std::cerr << "agora logs: " << message << "\n";
  return 1;
}

json Query(sdk::MasterClient& master, const std::string& noun) {
  auto text = master.Query(noun);
  if (!text.ok()) return json::array();
  json j = json::parse(*text, nullptr, false);
  return j.is_array() ? j : json::array();
}

// The task's row in the master's listing (live or recently completed).
std::optional<json> FindTask(sdk::MasterClient& master, const LogsArgs& a, std::string* error) {
  std::vector<json> matches;
  for (const json& t : Query(master, "tasks")) {
    if (t["id"] != a.task_id) continue;
    if (!a.framework_id.empty() && t["framework_id"] != a.framework_id) continue;
    matches.push_back(t);
  }
  if (matches.empty()) {
    *error = absl::StrCat("the master knows no task '", a.task_id, "'",
                          a.framework_id.empty() ? "" : " of " + a.framework_id);
    return std::nullopt;
  }
  for (const json& m : matches) {
    if (m["framework_id"] != matches[0]["framework_id"]) {
      *error = absl::StrCat("several frameworks have a task '", a.task_id, "': give --framework");
      return std::nullopt;
    }
  }
  return matches.back();  // the latest report
}

}  // namespace

int PrintLogs(sdk::MasterClient& master, LogsArgs a) {
  std::string error;
  if (a.agent_id.empty() || a.framework_id.empty()) {
    auto task = FindTask(master, a, &error);
    if (!task) return Fail(error);
    a.agent_id = (*task)["agent_id"];
    a.framework_id = (*task)["framework_id"];
  }
  std::string endpoint;
  for (const json& agent : Query(master, "agents")) {
    if (agent["id"] == a.agent_id) endpoint = agent.value("http", "");
  }
  if (endpoint.empty()) {
    return Fail(absl::StrCat("agent ", a.agent_id, " is not registered or serves no files"));
  }
  httplib::Client client(endpoint);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  const std::string file = a.stderr_file ? "stderr" : "stdout";
  int64_t offset = 0;
  if (a.tail >= 0) offset = -1;  // the last bytes; trimmed to lines below
  bool first = true, ended = false;
  for (;;) {
    const std::string path = absl::StrCat("/v1/files?framework=", a.framework_id, "&task=", a.task_id,
                                          "&file=", file, "&offset=", offset, "&length=", 1 << 20);
    httplib::Result r = client.Get(path);
    if (!r) return Fail(absl::StrCat("agent at ", endpoint, " did not answer: ", httplib::to_string(r.error())));
    json body = json::parse(r->body, nullptr, false);
    if (r->status != 200 || !body.is_object()) {
      return Fail(body.is_object() ? body.value("error", r->body) : r->body);
    }
    std::string data = body["data"];
    if (first && a.tail >= 0) {
      // Keep the last `tail` lines of what came back.
      size_t pos = data.size();
      if (pos > 0 && data[pos - 1] == '\n') --pos;
      for (int n = 0; n < a.tail && pos != std::string::npos && pos > 0; ++n) {
        pos = data.rfind('\n', pos - 1);
      }
      data = a.tail == 0 ? "" : pos == std::string::npos ? data : data.substr(pos + 1);
    }
    first = false;
    std::cout << data << std::flush;
    offset = body["offset"].get<int64_t>() + static_cast<int64_t>(body["data"].get<std::string>().size());
    if (offset < body["size"].get<int64_t>()) continue;  // more to read now
    if (!a.follow || ended) return 0;
    // Following: once the task has ended, one more read gets its last words.
    std::string ignored;
    auto task = FindTask(master, a, &ignored);
    const std::string state = task ? (*task)["state"].get<std::string>() : "";
    ended = !task;
    for (TaskState s : {TaskState::kFinished, TaskState::kFailed, TaskState::kKilled,
                        TaskState::kError, TaskState::kLost, TaskState::kGone, TaskState::kDropped}) {
      ended = ended || state == TaskStateName(s);
    }
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace agora::tools
