// Status helpers missing from Debian's Abseil (20220623 has no status macros).
// Our code returns absl::Status / absl::StatusOr<T> and does not throw.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define AGORA_CONCAT_INNER(a, b) a##b
#define AGORA_CONCAT(a, b) AGORA_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` yields a non-OK status.
#define AGORA_RETURN_IF_ERROR(expr)             \
  do {                                          \
    ::absl::Status agora_status_ = (expr);      \
    if (!agora_status_.ok()) return agora_status_; \
  } while (0)

// AGORA_ASSIGN_OR_RETURN(auto x, MaybeX()); declares x from a StatusOr's value,
// or returns its status from the enclosing function.
#define AGORA_ASSIGN_OR_RETURN(lhs, expr) \
  AGORA_ASSIGN_OR_RETURN_IMPL(AGORA_CONCAT(agora_statusor_, __LINE__), lhs, expr)
#define AGORA_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
