#include "tools/logs_command.h"

#include <httplib.h>

#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/http_client.h"
#include "agora/task.h"
#include "tools/framework_client.h"
#include "tools/output.h"

namespace agora::tools {
namespace {

using nlohmann::json;

int Fail(const std::string& message) {
  PrintError("logs", message);
  return 1;
}

// The task's row in the master's listing (live or recently completed).
std::optional<json> FindTask(sdk::MasterClient& master, const LogsArgs& a, std::string* error) {
  auto text = master.Query("tasks");
  if (!text.ok()) {
    *error = std::string(text.status().message());
    return std::nullopt;
  }
  json tasks = json::parse(*text, nullptr, false);
  if (!tasks.is_array()) {
    *error = "the master sent malformed JSON";
    return std::nullopt;
  }
  std::vector<json> matches;
  for (const json& t : tasks) {
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
  // Where the agent serves files (and, secured, a token for it), renewed
  // before the token expires while following.
  std::optional<HttpClient> client;
  auto connect = [&]() -> absl::Status {
    if (client && client->access().Fresh()) return absl::OkStatus();
    auto access = master.HttpAccessTo("agent:" + a.agent_id);
    if (!access.ok()) return access.status();
    client.emplace(*std::move(access), absl::Seconds(10));
    return absl::OkStatus();
  };
  // Up to 1 MiB of `name` from `offset`: {data, offset, size, inode}.
  auto read = [&](const std::string& name, int64_t offset) -> absl::StatusOr<json> {
    const std::string path = absl::StrCat("/v1/files?framework=", a.framework_id, "&task=", a.task_id,
                                          "&file=", name, "&offset=", offset, "&length=", 1 << 20);
    if (absl::Status s = connect(); !s.ok()) return s;
    httplib::Result r = (*client)->Get(path);
    if (!r) return absl::UnavailableError(NoAnswer("agent " + a.agent_id, client->access().url, r.error()));
    json body = json::parse(r->body, nullptr, false);
    if (r->status != 200 || !body.is_object()) {
      return absl::NotFoundError(body.is_object() ? body.value("error", r->body) : r->body);
    }
    return body;
  };
  const std::string file = a.stderr_file ? "stderr" : "stdout";
  int64_t offset = 0;
  if (a.tail >= 0) offset = -1;  // the last bytes; trimmed to lines below
  uint64_t inode = 0;  // of the file being read: a rotation gives `file` a new one
  bool first = true, ended = false;
  int missing = 0;  // reads that found no file since the last that did
  for (;;) {
    auto answer = read(file, offset);
    if (!answer.ok()) {
      // Following, a file read before may be missing for a moment: between
      // a rotation's rename and the new file.
      if (!a.follow || inode == 0 || !absl::IsNotFound(answer.status()) || ++missing > 20) {
        return Fail(std::string(answer.status().message()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    missing = 0;
    json& body = *answer;
    const uint64_t now_inode = body.value("inode", uint64_t{0});
    if (inode != 0 && (now_inode != inode || body["size"].get<int64_t>() < offset)) {
      // Rotated: the rest of what was being read is FILE.1 now.
      for (bool more = true; more;) {
        auto rest = read(file + ".1", offset);
        if (!rest.ok() || rest->value("inode", uint64_t{0}) != inode) {
          std::cerr << "agora logs: [" << file << " was rotated away before it was read: output skipped]\n";
          break;
        }
        const std::string data = (*rest)["data"];
        std::cout << data << std::flush;
        offset = (*rest)["offset"].get<int64_t>() + static_cast<int64_t>(data.size());
        more = !data.empty() && offset < (*rest)["size"].get<int64_t>();
      }
      inode = now_inode;
      offset = 0;
      continue;
    }
    inode = now_inode;
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
