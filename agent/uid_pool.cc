#include "agent/uid_pool.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

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

absl::StatusOr<UidPool> UidPool::Load(const std::string& path, UidRange range) {
  UidPool pool;
  pool.path_ = path;
  pool.range_ = range;
  pool.next_ = range.first;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline: torn by a crash, never used
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    uint32_t uid = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &uid)) {
      return absl::DataLossError(absl::StrCat(path, ": cannot read '", line, "'"));
    }
    pool.by_framework_[parts[0]] = uid;
    if (uid >= pool.next_) pool.next_ = uid + 1;  // never reused, even from another range
  }
  return pool;
}

absl::StatusOr<uid_t> UidPool::For(const std::string& framework_id) {
  if (auto it = by_framework_.find(framework_id); it != by_framework_.end()) return it->second;
  if (next_ < range_.first) next_ = range_.first;
  if (next_ > range_.last) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "every task uid of --task_uids ", range_.first, "-", range_.last,
        " is taken (one per framework that ran here); widen the range"));
  }
  const std::string line = absl::StrCat(framework_id, " ", next_, "\n");
  UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd.valid() || ::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
      ::fsync(fd.get()) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot record the uid of framework ", framework_id, " in ", path_, ": ",
                     std::strerror(errno)));
  }
  by_framework_[framework_id] = next_;
  return next_++;
}

}  // namespace agora::agent
