// UidPool gives every framework that runs tasks on this machine a uid of its
// own, from the range the operator set aside (--task_uids FIRST-LAST; a uid
// that names a user or group of the machine is passed over), so that tasks of different frameworks can neither
// signal, trace nor read each other, nor each other's sandboxes. The gid is
// the same number; there are no supplementary groups.
//
// Assignments live in one file per machine (--task_uid_file, one
// "FRAMEWORK_ID UID" line each), shared by every agent on it under flock(),
// so that two agents of one machine never give one uid to two frameworks. An
// assignment is appended and fsynced before the uid is used: a restarted agent
// maps every framework to the same uid, and a uid is never handed to a second
// framework (its files may still be on disk). A failed write is returned: the
// task is refused, not run under a uid that could be given away again. Agent
// loop only (it blocks for as long as another agent holds the lock: a read
// and an append).
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
  // Nothing is read until the first For().
  UidPool(std::string path, UidRange range);

  // The framework's uid, assigning (and recording) the next free one on first use.
  absl::StatusOr<uid_t> For(const std::string& framework_id);
  size_t assigned() const { return by_framework_.size(); }

 private:
  // Every complete line of the (locked) file; torn lines are skipped.
  void ReadAssignments(int fd);

  std::string path_;
  UidRange range_;
  uid_t highest_ = 0;  // above every uid ever assigned, in any range
  bool ends_with_newline_ = true;
  size_t whole_bytes_ = 0;  // of the file, up to its last whole line
  absl::flat_hash_map<std::string, uid_t> by_framework_;
};

}  // namespace agora::agent
