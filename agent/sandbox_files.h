// Sandbox file access for privileged code. A sandbox belongs to its task: the
// task may replace anything in it with a symlink, a FIFO, a device node or a
// hard link at any moment. The agent and executor run as root, so every file
// they open inside a directory a task can write goes through here:
//
//  - resolved from a directory handle with openat2(RESOLVE_BENEATH |
//    RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS): no `..`, no absolute path,
//    no symlink in any component, checked by the kernel at open time (no
//    check-then-open race); where openat2() is missing, by a walk that holds
//    each directory open (OpenBeneathByComponents);
//  - opened O_NONBLOCK | O_NOCTTY | O_CLOEXEC, so a FIFO never blocks the
//    opener;
//  - accepted only when fstat says it is a regular file with one name.
//
// Every function is thread-safe and blocks only on the file system; callers
// on an event loop run them elsewhere (HttpReply::off_loop).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace agora::agent {

// openat2() of `relative` beneath `dir_fd` as described above. `flags` are
// open(2) flags (O_RDONLY, O_WRONLY | O_CREAT ...). Errors name the path:
// InvalidArgument for a path that leaves the directory or crosses a symlink,
// NotFound, PermissionDenied, or Internal.
absl::StatusOr<UniqueFd> OpenBeneath(int dir_fd, const std::string& relative, int flags,
                                     mode_t mode = 0);

// The same contract without openat2(), which a kernel before 5.6 lacks and
// seccomp filters refuse (ENOSYS under systemd-nspawn 252, EPERM under
// Docker's default profile): OpenBeneath falls back to it. It walks one component at
// a time, each opened O_NOFOLLOW beneath the last, and refuses any `..`.
absl::StatusOr<UniqueFd> OpenBeneathByComponents(int dir_fd, const std::string& relative, int flags,
                                                 mode_t mode = 0);

// OpenBeneath for reading, then FailedPrecondition unless it is a regular file
// with one name (no hard link to a file elsewhere).
absl::StatusOr<UniqueFd> OpenRegularBeneath(int dir_fd, const std::string& relative);

// A directory, opened O_PATH | O_DIRECTORY from an absolute or relative
// `path` the caller trusts (the agent's own work dir): the handle the others
// resolve beneath.
absl::StatusOr<UniqueFd> OpenTrustedDirectory(const std::string& path);

struct FileSlice {
  std::string data;
  int64_t offset = 0;  // where `data` starts
  int64_t size = 0;    // the file's size when read
  uint64_t inode = 0;  // which file: a rotated log's name moves to a new one
};
// Up to `length` bytes of the regular file `fd` from `offset`; an offset
// below zero reads the last `length` bytes; an offset past the end reads
// nothing.
absl::StatusOr<FileSlice> ReadSlice(int fd, int64_t offset, int64_t length);

}  // namespace agora::agent
