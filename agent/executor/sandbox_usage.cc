#include "agent/executor/sandbox_usage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_set.h"

namespace agora::agent {

uint64_t SandboxBytes(const std::string& sandbox, uint64_t max_entries, int max_depth) {
  absl::flat_hash_set<std::pair<dev_t, ino_t>> seen;
  uint64_t bytes = 0, entries = 0;
  auto count = [&](const struct stat& st) {
    if (seen.insert({st.st_dev, st.st_ino}).second) bytes += static_cast<uint64_t>(st.st_blocks) * 512;
  };
  // Open directories from the sandbox down to the one being read.
  std::vector<DIR*> stack;
  absl::Cleanup close_all = [&stack] {
    for (DIR* d : stack) ::closedir(d);
  };
  auto enter = [&](int fd) {
    struct stat st {};
    if (fd < 0) return;
    if (::fstat(fd, &st) == 0) count(st);
    if (DIR* d = ::fdopendir(fd)) {
      stack.push_back(d);
    } else {
      ::close(fd);
    }
  };
  enter(::open(sandbox.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  while (!stack.empty()) {
    DIR* dir = stack.back();
    const dirent* e = ::readdir(dir);
    if (e == nullptr) {
      ::closedir(dir);
      stack.pop_back();
      continue;
    }
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    if (++entries > max_entries) return kUnmeasurable;
    struct stat st {};
    if (::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
    if (!S_ISDIR(st.st_mode)) {
      count(st);
      continue;
    }
    if (static_cast<int>(stack.size()) >= max_depth) return kUnmeasurable;
    enter(::openat(::dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  }
  return bytes;
}

}  // namespace agora::agent
