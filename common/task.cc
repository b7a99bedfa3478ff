#include "common/task.h"

namespace agora {

bool IsTerminal(TaskState state) {
  switch (state) {
    case TaskState::kFinished:
    case TaskState::kFailed:
    case TaskState::kKilled:
    case TaskState::kError:
    case TaskState::kLost:
    case TaskState::kGone:
    case TaskState::kDropped:
      return true;
    default:
      return false;
  }
}

absl::string_view TaskStateName(TaskState state) {
  static constexpr absl::string_view kNames[] = {
      "staging", "starting", "running", "finished", "failed",  "killed",
      "error",   "lost",     "unreachable", "gone", "dropped", "killing"};
  return kNames[static_cast<int>(state)];
}

}  // namespace agora
