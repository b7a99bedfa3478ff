#include "agent/uid_pool.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/unique_fd.h"

namespace agora::agent {

absl::StatusOr<UidRange> ParseUidRange(const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, '-');
  UidRange r;
  uint32_t first = 0, last = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &first) ||
      !absl::SimpleAtoi(parts[1], &last) || first == 0 || first > last || last >= (1u << 31)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not a uid range FIRST-LAST (0 < FIRST <= LAST < 2147483648)"));
  }
  r.first = first;
  r.last = last;
  return r;
}

namespace {

bool NamedOnThisMachine(uid_t id) {
  char buf[16384];
  passwd pw{};
  passwd* user = nullptr;
  group gr{};
  group* grp = nullptr;
  return (::getpwuid_r(id, &pw, buf, sizeof(buf), &user) == 0 && user != nullptr) ||
         (::getgrgid_r(id, &gr, buf, sizeof(buf), &grp) == 0 && grp != nullptr);
}

}  // namespace

UidPool::UidPool(std::string path, UidRange range) : path_(std::move(path)), range_(range) {}

void UidPool::ReadAssignments(int fd) {
  std::string text;
  char buf[65536];
  ssize_t n;
  ::lseek(fd, 0, SEEK_SET);
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
  ends_with_newline_ = text.empty() || text.back() == '\n';
  // A line without its newline was torn by a crash before its fsync, so its
  // uid was never used: it is cut off before the next append.
  if (!ends_with_newline_) text.erase(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
  whole_bytes_ = text.size();
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
    uint32_t uid = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &uid) || uid == 0 || uid >= (1u << 31)) continue;
    by_framework_[std::string(parts[0])] = uid;
    if (uid >= highest_) highest_ = uid + 1;
  }
}

absl::StatusOr<uid_t> UidPool::For(const std::string& framework_id) {
  if (auto it = by_framework_.find(framework_id); it != by_framework_.end()) return it->second;
  auto failed = [&](absl::string_view what) {
    return absl::UnavailableError(absl::StrCat("cannot ", what, " ", path_, " (uids of tasks): ",
                                               std::strerror(errno)));
  };
  UniqueFd fd(::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd.valid()) return failed("open");
  // Other agents of this machine assign from the same file.
  if (::flock(fd.get(), LOCK_EX) != 0) return failed("lock");
  ReadAssignments(fd.get());
  if (auto it = by_framework_.find(framework_id); it != by_framework_.end()) return it->second;
  uid_t uid = std::max<uid_t>(highest_, range_.first);
  while (uid <= range_.last && NamedOnThisMachine(uid)) ++uid;  // a real user's or group's
  if (uid > range_.last) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "every task uid of --task-uids ", range_.first, "-", range_.last, " is taken (one per "
        "framework that ran on this machine, listed in ", path_, "); widen the range"));
  }
  if (!ends_with_newline_ && ::ftruncate(fd.get(), static_cast<off_t>(whole_bytes_)) != 0) {
    return failed("cut the torn line off");
  }
  const std::string line = absl::StrCat(framework_id, " ", uid, "\n");
  if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) return failed("write");
  if (::fsync(fd.get()) != 0) return failed("sync");
  by_framework_[framework_id] = uid;
  highest_ = uid + 1;
  return uid;
}

}  // namespace agora::agent
