#include "agent/sandbox_files.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace agora::agent {

namespace {

absl::Status OpenError(const std::string& relative, int e) {
  const std::string what = absl::StrCat(relative, ": ", std::strerror(e));
  switch (e) {
    case ENOENT: return absl::NotFoundError(what);
    case EEXIST: return absl::AlreadyExistsError(what);
    case EACCES: case EPERM: return absl::PermissionDeniedError(what);
    case EXDEV: case ELOOP:
      return absl::InvalidArgumentError(
          absl::StrCat(relative, " leaves its directory or passes through a symlink"));
    case ENXIO: case ENOTDIR: case EISDIR: return absl::FailedPreconditionError(what);
    default: return absl::InternalError(what);
  }
}

constexpr int kAlwaysFlags = O_NONBLOCK | O_NOCTTY | O_CLOEXEC;

}  // namespace

absl::StatusOr<UniqueFd> OpenBeneath(int dir_fd, const std::string& relative, int flags,
                                     mode_t mode) {
  static std::atomic<bool> openat2_missing{false};
  if (!openat2_missing.load(std::memory_order_relaxed)) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags) | kAlwaysFlags;
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd;
    do {
      fd = ::syscall(SYS_openat2, dir_fd, relative.c_str(), &how, sizeof(how));
    } while (fd < 0 && (errno == EINTR || errno == EAGAIN));  // EAGAIN: a racing rename
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    // ENOSYS: missing or filtered (nspawn); EPERM: filtered (Docker's
    // default profile). Either way once, for every open after.
    if (errno != ENOSYS && errno != EPERM) return OpenError(relative, errno);
    if (errno == EPERM) {  // of this file, or of openat2 itself? Ask of ".".
      open_how probe{};
      probe.flags = O_PATH | O_CLOEXEC;
      const long fd = ::syscall(SYS_openat2, dir_fd, ".", &probe, sizeof(probe));
      if (fd >= 0) ::close(static_cast<int>(fd));
      if (fd >= 0 || errno != EPERM) return OpenError(relative, EPERM);
    }
    openat2_missing.store(true, std::memory_order_relaxed);
  }
  return OpenBeneathByComponents(dir_fd, relative, flags, mode);
}

absl::StatusOr<UniqueFd> OpenBeneathByComponents(int dir_fd, const std::string& relative, int flags,
                                                 mode_t mode) {
  const std::vector<std::string> parts = absl::StrSplit(relative, '/', absl::SkipEmpty());
  const bool escapes = relative.empty() || relative[0] == '/' || relative.find('\0') != std::string::npos ||
                       std::find(parts.begin(), parts.end(), "..") != parts.end();
  if (escapes || parts.empty()) return OpenError(relative, ELOOP);
  if (relative.back() == '/') return OpenError(relative, EISDIR);  // as openat2 says of "dir/"
  UniqueFd parent;  // the last directory opened; dir_fd before the first
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const int at = parent.valid() ? parent.get() : dir_fd;
    UniqueFd next(::openat(at, parts[i].c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) return OpenError(relative, errno);
    struct stat st {};
    if (::fstat(next.get(), &st) != 0) return OpenError(relative, errno);
    if (S_ISLNK(st.st_mode)) return OpenError(relative, ELOOP);
    if (!S_ISDIR(st.st_mode)) return OpenError(relative, ENOTDIR);
    parent = std::move(next);
  }
  const int at = parent.valid() ? parent.get() : dir_fd;
  int fd;
  do {
    fd = ::openat(at, parts.back().c_str(), flags | O_NOFOLLOW | kAlwaysFlags, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return OpenError(relative, errno);
  return UniqueFd(fd);
}

absl::StatusOr<UniqueFd> OpenRegularBeneath(int dir_fd, const std::string& relative) {
  auto fd = OpenBeneath(dir_fd, relative, O_RDONLY);
  if (!fd.ok()) return fd.status();
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return absl::InternalError(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(relative, " is not a regular file"));
  }
  // A second name could be a file of someone else's, linked in (where the
  // kernel's protected_hardlinks is off).
  if (st.st_nlink != 1) {
    return absl::FailedPreconditionError(absl::StrCat(relative, " has other names (hard links)"));
  }
  return fd;
}

absl::StatusOr<UniqueFd> OpenTrustedDirectory(const std::string& path) {
  const int fd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  return UniqueFd(fd);
}

absl::StatusOr<FileSlice> ReadSlice(int fd, int64_t offset, int64_t length) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return absl::InternalError(std::strerror(errno));
  FileSlice slice;
  slice.size = st.st_size;
  slice.inode = st.st_ino;
  length = std::max<int64_t>(length, 0);
  if (offset < 0) offset = std::max<int64_t>(0, slice.size - length);
  slice.offset = std::min<int64_t>(offset, slice.size);
  slice.data.resize(std::min<int64_t>(length, slice.size - slice.offset));
  size_t got = 0;
  while (got < slice.data.size()) {
    const ssize_t n = ::pread(fd, slice.data.data() + got, slice.data.size() - got,
                              slice.offset + static_cast<int64_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError(absl::StrCat("read: ", std::strerror(errno)));
    if (n == 0) break;  // truncated meanwhile
    got += static_cast<size_t>(n);
  }
  slice.data.resize(got);
  return slice;
}

}  // namespace agora::agent
