#include "agent/executor/task_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/sandbox_files.h"
#include "common/log.h"

namespace agora::agent {

absl::StatusOr<std::unique_ptr<TaskLog>> TaskLog::Open(int sandbox, std::string name, TaskLogLimits limits,
                                                       std::optional<RunAs> owner) {
  std::unique_ptr<TaskLog> log(new TaskLog());
  log->dir_ = UniqueFd(::fcntl(sandbox, F_DUPFD_CLOEXEC, 0));
  if (!log->dir_.valid()) return absl::InternalError(absl::StrCat("dup: ", std::strerror(errno)));
  log->name_ = std::move(name);
  log->limits_ = limits;
  log->limits_.max_files = std::max(1, limits.max_files);
  log->owner_ = std::move(owner);
  if (absl::Status s = log->OpenCurrent(/*create=*/false); !s.ok()) return s;
  return log;
}

absl::Status TaskLog::OpenCurrent(bool create) {
  file_.Reset();
  const int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | (create ? O_CREAT | O_EXCL : O_CREAT);
  auto fd = OpenBeneath(dir_.get(), name_, flags, 0640);
  if (!fd.ok()) return fd.status();
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
    return absl::FailedPreconditionError(absl::StrCat(name_, " is not a regular file with one name"));
  }
  if (create && owner_ && ::fchown(fd->get(), owner_->uid, owner_->gid) != 0) {
    return absl::InternalError(absl::StrCat("chown ", name_, ": ", std::strerror(errno)));
  }
  file_ = *std::move(fd);
  size_ = static_cast<uint64_t>(st.st_size);
  return absl::OkStatus();
}

void TaskLog::Failed(const std::string& why) {
  ++failed_rotations_;
  // A task can fail every rotation: the 1st, 2nd, 4th, 8th ... are logged.
  if ((failed_rotations_ & (failed_rotations_ - 1)) == 0) {
    AGORA_LOG(WARNING, "executor") << why << " (" << failed_rotations_ << " failed; output is "
                                   << "dropped until a rotation works)";
  }
}

void TaskLog::Rotate() {
  // NAME.(n-2) -> NAME.(n-1), ..., NAME -> NAME.1: each rename replaces the
  // name it lands on, whatever that is, and follows nothing.
  for (int i = limits_.max_files - 1; i >= 1; --i) {
    const std::string from = i == 1 ? name_ : absl::StrCat(name_, ".", i - 1);
    const std::string to = absl::StrCat(name_, ".", i);
    if (::renameat(dir_.get(), from.c_str(), dir_.get(), to.c_str()) != 0 && errno != ENOENT) {
      // (a file of the task's in the way: the current file stays open and grows)
      Failed(absl::StrCat("cannot rotate ", from, ": ", std::strerror(errno)));
      return;
    }
  }
  if (limits_.max_files == 1 || !file_.valid()) ::unlinkat(dir_.get(), name_.c_str(), 0);
  absl::Status s = OpenCurrent(/*create=*/true);
  if (!s.ok() && absl::IsAlreadyExists(s)) {  // planted between the rename and the open
    ::unlinkat(dir_.get(), name_.c_str(), 0);
    s = OpenCurrent(/*create=*/true);
  }
  if (!s.ok()) {
    Failed(absl::StrCat("cannot start a new ", name_, ": ", s.message()));
    return;  // no file: output is dropped until the next try
  }
  ++rotations_;
}

void TaskLog::Write(const char* data, size_t size) {
  // The task deleted the file being written (whose blocks no walk of the
  // sandbox would count): a new one takes its name.
  struct stat st {};
  if (file_.valid() && ::fstat(file_.get(), &st) == 0 && st.st_nlink == 0) {
    file_.Reset();
    size_ = limits_.max_bytes;
  }
  while (size > 0) {
    if (size_ >= limits_.max_bytes || !file_.valid()) Rotate();
    // No file, or a full one that could not be rotated: what is left is
    // dropped, so the log stays within its files whatever the task did.
    if (!file_.valid() || size_ >= limits_.max_bytes) {
      dropped_bytes_ += size;
      return;
    }
    // A file never grows past max_bytes when a rotation works.
    const size_t room = static_cast<size_t>(std::max<uint64_t>(1, limits_.max_bytes - std::min(size_, limits_.max_bytes)));
    const ssize_t n = ::write(file_.get(), data, std::min(size, room));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      // A full disk: what does not fit is dropped, the task goes on.
      if (dropped_bytes_ == 0) AGORA_LOG(WARNING, "executor") << "cannot write " << name_ << ": " << std::strerror(errno);
      dropped_bytes_ += size;
      return;
    }
    size_ += static_cast<uint64_t>(n);
    data += n;
    size -= static_cast<size_t>(n);
  }
}

bool TaskLog::Pump(int pipe) {
  char buffer[64 * 1024];
  for (int reads = 0; reads < 16; ++reads) {  // a busy task cannot hold the loop
    const ssize_t n = ::read(pipe, buffer, sizeof(buffer));
    if (n > 0) {
      Write(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
  return true;
}

}  // namespace agora::agent
