// The build: Agora's version and the commit it was built from, for
// `--version` on every binary, `agora version`, GET /version and the
// agora_build_info metric.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace agora {

extern const char kVersion[];  // the project's, e.g. "0.1.0"
extern const char kCommit[];   // 12 hex digits, or "unknown" when not built from git

// "PROGRAM 0.1.0 (commit 0235993c1a2b)".
std::string VersionLine(absl::string_view program);
// {"name": PROGRAM, "version": ..., "commit": ...}
std::string VersionJson(absl::string_view program);

}  // namespace agora
