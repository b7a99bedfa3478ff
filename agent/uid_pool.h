// UidPool gives every framework that runs tasks on this agent a uid of its
// own, from the range the operator set aside (--task_uids FIRST-LAST, none of
// them in /etc/passwd), so that tasks of different frameworks can neither
// signal, trace nor read each other, nor each other's sandboxes. The gid is
// the same number; there are no supplementary groups.
//
// An assignment is appended to its file (WORK_DIR/meta/uids, one
// "FRAMEWORK_ID UID" line each) and fsynced before the uid is used, so a
// restarted agent maps every framework to the same uid, and a uid is never
// handed to a second framework (its files may still be on disk). A failed
// write is returned: the task is refused, not run under a uid that could be
// given away again. Agent loop only.
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace agora::agent {

struct UidRange {
  uid_t first = 0;
  uid_t last = 0;
};

// "FIRST-LAST", both above 0 and below 2^31, FIRST <= LAST.
absl::StatusOr<UidRange> ParseUidRange(const std::string& text);

class UidPool {
 public:
  // Reads `path` (missing: nothing assigned yet); a torn last line is ignored.
  static absl::StatusOr<UidPool> Load(const std::string& path, UidRange range);

  // The framework's uid, assigning (and recording) the next free one on first use.
  absl::StatusOr<uid_t> For(const std::string& framework_id);
  size_t assigned() const { return by_framework_.size(); }

 private:
  std::string path_;
  UidRange range_;
  uid_t next_ = 0;
  absl::flat_hash_map<std::string, uid_t> by_framework_;
};

}  // namespace agora::agent
