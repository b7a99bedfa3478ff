// SandboxBytes measures the disk a task's sandbox holds, as `du` does: the
// allocated blocks of every file and directory, each inode counted once. The
// sandbox is the task's and may change under the walk or hold traps, so the
// walk follows no symlink (openat O_NOFOLLOW | O_DIRECTORY, fstatat
// AT_SYMLINK_NOFOLLOW) and keeps its own stack instead of recursing. A tree
// past what it will walk (more than `max_entries` entries, or directories
// nested deeper than `max_depth`) measures as kUnmeasurable, which is over
// any limit: nothing can be hidden beyond the walk's reach. Blocking: run it
// off the loop (common/worker_thread.h). Thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace agora::agent {

inline constexpr uint64_t kUnmeasurable = UINT64_MAX;

uint64_t SandboxBytes(const std::string& sandbox, uint64_t max_entries = 1'000'000,
                      int max_depth = 256);

}  // namespace agora::agent
