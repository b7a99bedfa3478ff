#include "agent/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/io.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "capnp/agora.capnp.h"
#include "common/framing.h"
#include "common/log.h"
#include "common/wire_convert.h"

namespace agora::agent {
namespace fs = std::filesystem;
namespace {

// Journal framing: a little-endian uint64 byte length, then that many bytes
// of a flat Cap'n Proto CheckpointRecord.
bool WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool AppendRecord(int fd, const kj::Array<capnp::word>& words) {
  uint64_t size = words.asBytes().size();
  // One write() for both, so a crash tears at most the last record.
  std::string buffer(sizeof(size) + size, '\0');
  std::memcpy(buffer.data(), &size, sizeof(size));
  std::memcpy(buffer.data() + sizeof(size), words.begin(), size);
  return WriteAll(fd, buffer.data(), buffer.size());
}

std::string TaskKeyOf(const std::string& framework_id, const std::string& task_id) {
  return absl::StrCat("t/", framework_id, "/", task_id);
}

}  // namespace

Checkpointer::Checkpointer(std::string meta_dir)
    : path_((fs::path(meta_dir) / "journal").string()) {
  std::error_code ec;
  fs::create_directories(meta_dir, ec);
}

Checkpointer::~Checkpointer() {
  if (fd_ >= 0) ::close(fd_);
}

void Checkpointer::OpenForAppend() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) AGORA_LOG(ERROR, "agent") << "cannot open checkpoint journal " << path_;
}

Checkpoints Checkpointer::Load() {
  std::ifstream in(path_, std::ios::binary);
  size_t torn = 0;
  while (in) {
    uint64_t size = 0;
    if (!in.read(reinterpret_cast<char*>(&size), sizeof(size))) break;
    if (size == 0 || size % sizeof(capnp::word) != 0 || size > (64u << 20)) {
      ++torn;
      break;
    }
    auto words = kj::heapArray<capnp::word>(size / sizeof(capnp::word));
    if (!in.read(reinterpret_cast<char*>(words.begin()), static_cast<std::streamsize>(size))) {
      ++torn;
      break;
    }
    ++journal_records_;
    try {
      capnp::FlatArrayMessageReader reader(words.asPtr());
      auto record = reader.getRoot<wire::CheckpointRecord>();
      switch (record.which()) {
        case wire::CheckpointRecord::EXECUTOR:
          live_[absl::StrCat("e/", record.getExecutor().getExecutorId().cStr())] = kj::mv(words);
          break;
        case wire::CheckpointRecord::REMOVE_EXECUTOR:
          live_.erase(absl::StrCat("e/", record.getRemoveExecutor().cStr()));
          break;
        case wire::CheckpointRecord::TASK:
          live_[TaskKeyOf(record.getTask().getFrameworkId(),
                          record.getTask().getSpec().getTaskId())] = kj::mv(words);
          break;
        case wire::CheckpointRecord::REMOVE_TASK:
          live_.erase(TaskKeyOf(record.getRemoveTask().getKey(),
                                record.getRemoveTask().getValue()));
          break;
      }
    } catch (const kj::Exception& e) {
      ++torn;
      break;
    }
  }
  if (torn > 0) AGORA_LOG(WARNING, "agent") << "ignored a torn record at the end of " << path_;

  Checkpoints out;
  for (const auto& [key, words] : live_) {
    capnp::FlatArrayMessageReader reader(words.asPtr());
    auto record = reader.getRoot<wire::CheckpointRecord>();
    if (record.isExecutor()) {
      auto e = record.getExecutor();
      out.executors.push_back({e.getFrameworkId(), e.getExecutorId(), e.getPid()});
      continue;
    }
    auto t = record.getTask();
    TaskCheckpoint task;
    task.framework_id = t.getFrameworkId();
    task.spec = FromWire(t.getSpec());
    task.state = FromWire(t.getState());
    task.executor_id = t.getExecutorId();
    task.sandbox = t.getSandbox();
    task.run_id = t.getRunId();
    task.env = FromWire(t.getEnv());
    for (auto s : t.getPending()) task.pending.push_back(FromWire(s));
    out.tasks.push_back(std::move(task));
  }
  Compact();  // start from a clean journal (drops a torn tail too)
  return out;
}

absl::Status Checkpointer::Append(const std::string& key, kj::Array<capnp::word> words,
                                  bool removal) {
  if (fd_ < 0) OpenForAppend();
  const off_t end = fd_ < 0 ? -1 : ::lseek(fd_, 0, SEEK_END);
  if (end < 0 || !AppendRecord(fd_, words)) {
    const int e = errno;
    // A torn record would hide every record after it: cut it off.
    if (end >= 0 && ::ftruncate(fd_, end) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    ++failures_;
    AGORA_LOG(ERROR, "agent") << "cannot append to the checkpoint journal " << path_ << ": "
                              << std::strerror(e);
    last_error_ = absl::StrCat("cannot write the agent's checkpoint journal ", path_, ": ", std::strerror(e));
    return absl::UnavailableError(last_error_);
  }
  if (!removal) last_error_.clear();  // a launch could be recorded again
  ++journal_records_;
  if (removal) {
    live_.erase(key);
  } else {
    live_[key] = kj::mv(words);
  }
  if (journal_records_ > 1000 && journal_records_ > 4 * live_.size()) Compact();
  return absl::OkStatus();
}

void Checkpointer::Compact() {
  const std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = fd >= 0;
  for (const auto& [key, words] : live_) ok = ok && AppendRecord(fd, words);
  if (fd >= 0) ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path_.c_str()) != 0) {
    AGORA_LOG(ERROR, "agent") << "cannot compact the checkpoint journal " << path_;
    return;
  }
  journal_records_ = live_.size();
  OpenForAppend();
}

void Checkpointer::SaveExecutor(const ExecutorCheckpoint& e) {
  WireMessage msg;
  auto root = msg.initRoot<wire::CheckpointRecord>().initExecutor();
  root.setFrameworkId(e.framework_id);
  root.setExecutorId(e.executor_id);
  root.setPid(e.pid);
  Append(absl::StrCat("e/", e.executor_id), capnp::messageToFlatArray(msg), false).IgnoreError();
}

void Checkpointer::RemoveExecutor(const std::string& executor_id) {
  WireMessage msg;
  msg.initRoot<wire::CheckpointRecord>().setRemoveExecutor(executor_id);
  Append(absl::StrCat("e/", executor_id), capnp::messageToFlatArray(msg), true).IgnoreError();
}

absl::Status Checkpointer::SaveTask(const TaskCheckpoint& t) {
  WireMessage msg;
  auto root = msg.initRoot<wire::CheckpointRecord>().initTask();
  root.setFrameworkId(t.framework_id);
  ToWire(t.spec, root.initSpec());
  root.setState(ToWire(t.state));
  root.setExecutorId(t.executor_id);
  root.setSandbox(t.sandbox);
  root.setRunId(t.run_id);
  ToWire(t.env, root.initEnv(t.env.size()));
  auto pending = root.initPending(t.pending.size());
  for (size_t i = 0; i < t.pending.size(); ++i) ToWire(t.pending[i], pending[i]);
  return Append(TaskKeyOf(t.framework_id, t.spec.task_id), capnp::messageToFlatArray(msg), false);
}

void Checkpointer::RemoveTask(const std::string& framework_id, const std::string& task_id) {
  WireMessage msg;
  auto remove = msg.initRoot<wire::CheckpointRecord>().initRemoveTask();
  remove.setKey(framework_id);
  remove.setValue(task_id);
  Append(TaskKeyOf(framework_id, task_id), capnp::messageToFlatArray(msg), true).IgnoreError();
}

namespace {
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return text;
}
}  // namespace

void AppendExitRecord(const std::string& executor_dir, const std::string& task_id,
                      const ExitRecord& r) {
  const std::string line = absl::StrCat(task_id, "\t", static_cast<int>(r.state), "\t",
                                        r.exit_code, "\t", OneLine(r.reason), "\t",
                                        OneLine(r.message), "\n");
  int fd = ::open((fs::path(executor_dir) / "exits").c_str(),
                  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 || !WriteAll(fd, line.data(), line.size())) {
    AGORA_LOG(ERROR, "executor") << "cannot record the exit of task " << task_id;
  }
  if (fd >= 0) ::close(fd);
}

absl::flat_hash_map<std::string, ExitRecord> ReadExitRecords(const std::string& executor_dir) {
  absl::flat_hash_map<std::string, ExitRecord> out;
  std::ifstream in(fs::path(executor_dir) / "exits");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    ExitRecord r;
    int state = 0;
    if (f.size() != 5 || !absl::SimpleAtoi(f[1], &state) || !absl::SimpleAtoi(f[2], &r.exit_code) ||
        state < 0 || state >= kTaskStateCount) {
      continue;  // torn
    }
    r.state = static_cast<TaskState>(state);
    r.reason = f[3];
    r.message = f[4];
    out[f[0]] = std::move(r);
  }
  return out;
}

}  // namespace agora::agent
