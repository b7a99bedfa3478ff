// Identifiers. Ids are printable, unique across processes and restarts
// (random 48-bit suffix), and safe as a path component.
#pragma once

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace agora {

// "PREFIX-<12 hex digits>", e.g. NewId("a") -> "a-3f09c1d2e4b5".
std::string NewId(absl::string_view prefix);
// Makes this thread's ids a fixed sequence from `seed` (fuzzers and corpus
// generators, which must know the ids a run will hand out). Never in daemons.
void SeedIdsForTesting(uint64_t seed);

// OK when `id` may name a directory inside a sandbox: 1..128 characters of
// [A-Za-z0-9._-], and not "." or "..". `what` names the field in the error.
absl::Status ValidatePathSafeId(absl::string_view what, absl::string_view id);
// A display name (a framework's): 1 to 128 printable characters, no `/`, and
// not `.` or `..`, so that it can never name a path outside a directory.
absl::Status ValidateName(absl::string_view what, absl::string_view name);

}  // namespace agora
