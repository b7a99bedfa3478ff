// Command-line helpers shared by every Agora binary (CLI11 underneath):
// duration flags ("500ms", "1s", "2m", "1h", "7d"), and parsing that turns a
// usage error into a message on stderr and exit code 2.
#pragma once

#include <functional>
#include <string>
#include "absl/strings/string_view.h"

#include <CLI/CLI.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace agora {

// Accepts what absl::ParseDuration does, plus a "d" (days) suffix.
absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view text);

// Adds `--name DURATION` to `app`, writing into `*out` (whose current value
// is the default shown in --help).
CLI::Option* AddDurationFlag(CLI::App& app, const std::string& name, absl::Duration* out,
                             const std::string& help);

// Adds `--log_level debug|info|warning|error`, applied as it is parsed.
CLI::Option* AddLogLevelFlag(CLI::App& app);

// A daemon's logging: --log_level, --log_file (empty: the daemon's default
// file in its work dir; "none": stderr only) and --log_json.
struct LogFlags {
  std::string file;
  bool json = false;
};
void AddLogFlags(CLI::App& app, LogFlags* flags);
// After parsing: applies --log_json and opens the log file (`default_file`
// unless --log_file says otherwise; none by default when stderr is systemd's
// journal, whose priority prefixes the lines then carry). False after
// printing why it cannot. Daemons reopen the file on SIGHUP (ReopenLogFile).
bool StartLogging(const LogFlags& flags, const std::string& default_file);
// On SIGHUP: opens the log file again (logrotate moved it) and says so.
void ReopenLogOnHangup(absl::string_view component);

// Adds `--config FILE`: flags read from a file, one `name = value` per line
// (TOML; the keys are the flag names in either spelling, e.g.
// `work_dir = "/var/lib/agora"`);
// flags on the command line win. Unknown keys are usage errors.
void AddConfigFileFlag(CLI::App& app);

// A client's CurveZMQ flags: --curve_secret_key FILE and --master_public_key
// FILE, both or neither (LoadCurveClient in common/curve.h reads them). The
// environment variables AGORA_CURVE_SECRET_KEY and AGORA_MASTER_PUBLIC_KEY
// are the defaults.
struct CurveClientFlags {
  std::string secret_key;
  std::string master_public_key;
};
void AddCurveClientFlags(CLI::App& app, CurveClientFlags* flags);

// The word of `known` closest to `word` (edit distance at most a third of
// its length, and 2), or "": what a mistyped command or field was meant to be.
std::string ClosestMatch(absl::string_view word, absl::Span<const absl::string_view> known);

// Shows a usage error: CLI11's message and a did-you-mean hint ("" if none).
using UsageErrorPrinter = std::function<void(const std::string& message, const std::string& hint)>;

// Parses argv. Returns -1 to go on, or the exit code to return from main():
// 0 after --help, 2 after a usage error (given to `print`, by default
// printed to stderr with the usage hint, and with the command or flag a
// mistyped one was likely meant to be).
int ParseCommandLine(CLI::App& app, int argc, char** argv, const UsageErrorPrinter& print = nullptr);

}  // namespace agora
