#include "agent/checkpoint.h"

#include <filesystem>
#include <fstream>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/io.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "capnp/agora.capnp.h"
#include "common/log.h"
#include "common/wire_convert.h"

namespace agora::agent {
namespace fs = std::filesystem;
namespace {

void WriteAtomically(const fs::path& path, capnp::MessageBuilder& message) {
  const fs::path tmp = path.string() + ".tmp";
  {
    kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(words.begin()), words.asBytes().size());
    if (!out) {
      AGORA_LOG(ERROR, "agent") << "cannot write checkpoint " << tmp;
      return;
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) AGORA_LOG(ERROR, "agent") << "cannot write checkpoint " << path << ": " << ec.message();
}

// Reads a whole file as aligned words; empty on failure.
kj::Array<capnp::word> ReadWords(const fs::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return nullptr;
  const auto size = static_cast<size_t>(in.tellg());
  if (size == 0 || size % sizeof(capnp::word) != 0) return nullptr;
  auto words = kj::heapArray<capnp::word>(size / sizeof(capnp::word));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(words.begin()), static_cast<std::streamsize>(size));
  if (!in) return nullptr;
  return words;
}

}  // namespace

Checkpointer::Checkpointer(std::string meta_dir) : meta_dir_(std::move(meta_dir)) {
  std::error_code ec;
  fs::create_directories(fs::path(meta_dir_) / "executors", ec);
  fs::create_directories(fs::path(meta_dir_) / "tasks", ec);
}

std::string Checkpointer::TaskPath(const std::string& framework_id,
                                   const std::string& task_id) const {
  // Both ids are path-safe (validated when the task arrived).
  return (fs::path(meta_dir_) / "tasks" / absl::StrCat(framework_id, "__", task_id)).string();
}

void Checkpointer::SaveExecutor(const ExecutorCheckpoint& e) {
  capnp::MallocMessageBuilder msg;
  auto root = msg.initRoot<wire::CheckpointedExecutor>();
  root.setFrameworkId(e.framework_id);
  root.setExecutorId(e.executor_id);
  root.setPid(e.pid);
  WriteAtomically(fs::path(meta_dir_) / "executors" / e.executor_id, msg);
}

void Checkpointer::RemoveExecutor(const std::string& executor_id) {
  std::error_code ec;
  fs::remove(fs::path(meta_dir_) / "executors" / executor_id, ec);
}

void Checkpointer::SaveTask(const TaskCheckpoint& t) {
  capnp::MallocMessageBuilder msg;
  auto root = msg.initRoot<wire::CheckpointedTask>();
  root.setFrameworkId(t.framework_id);
  ToWire(t.spec, root.initSpec());
  root.setState(ToWire(t.state));
  root.setExecutorId(t.executor_id);
  root.setSandbox(t.sandbox);
  ToWire(t.env, root.initEnv(t.env.size()));
  auto pending = root.initPending(t.pending.size());
  for (size_t i = 0; i < t.pending.size(); ++i) ToWire(t.pending[i], pending[i]);
  WriteAtomically(TaskPath(t.framework_id, t.spec.task_id), msg);
}

void Checkpointer::RemoveTask(const std::string& framework_id, const std::string& task_id) {
  std::error_code ec;
  fs::remove(TaskPath(framework_id, task_id), ec);
}

Checkpoints Checkpointer::Load() const {
  Checkpoints out;
  std::error_code ec;
  for (const char* kind : {"executors", "tasks"}) {
    for (const auto& entry : fs::directory_iterator(fs::path(meta_dir_) / kind, ec)) {
      if (entry.path().extension() == ".tmp") continue;  // an interrupted write
      kj::Array<capnp::word> words = ReadWords(entry.path());
      if (words.size() == 0) {
        AGORA_LOG(WARNING, "agent") << "skipping unreadable checkpoint " << entry.path();
        continue;
      }
      try {
        capnp::FlatArrayMessageReader reader(words.asPtr());
        if (std::string(kind) == "executors") {
          auto e = reader.getRoot<wire::CheckpointedExecutor>();
          out.executors.push_back({e.getFrameworkId(), e.getExecutorId(), e.getPid()});
        } else {
          auto t = reader.getRoot<wire::CheckpointedTask>();
          TaskCheckpoint task;
          task.framework_id = t.getFrameworkId();
          task.spec = FromWire(t.getSpec());
          task.state = FromWire(t.getState());
          task.executor_id = t.getExecutorId();
          task.sandbox = t.getSandbox();
          task.env = FromWire(t.getEnv());
          for (auto s : t.getPending()) task.pending.push_back(FromWire(s));
          out.tasks.push_back(std::move(task));
        }
      } catch (const kj::Exception& e) {
        AGORA_LOG(WARNING, "agent") << "skipping corrupt checkpoint " << entry.path() << ": "
                                    << e.getDescription().cStr();
      }
    }
  }
  return out;
}

void WriteExitRecord(const std::string& sandbox, const ExitRecord& r) {
  const fs::path path = fs::path(sandbox) / ".agora_exit";
  {
    std::ofstream out(path.string() + ".tmp", std::ios::trunc);
    out << static_cast<int>(r.state) << "\n" << r.exit_code << "\n" << r.reason << "\n"
        << r.message << "\n";
  }
  std::error_code ec;
  fs::rename(path.string() + ".tmp", path, ec);
}

std::optional<ExitRecord> ReadExitRecord(const std::string& sandbox) {
  std::ifstream in(fs::path(sandbox) / ".agora_exit");
  std::string state, code;
  ExitRecord r;
  if (!std::getline(in, state) || !std::getline(in, code)) return std::nullopt;
  int s = 0;
  if (!absl::SimpleAtoi(state, &s) || !absl::SimpleAtoi(code, &r.exit_code)) return std::nullopt;
  if (s < 0 || s > static_cast<int>(TaskState::kKilling)) return std::nullopt;
  r.state = static_cast<TaskState>(s);
  std::getline(in, r.reason);
  std::getline(in, r.message);
  return r;
}

}  // namespace agora::agent
