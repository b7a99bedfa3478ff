#include "common/cli.h"

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "common/version.h"

namespace agora {

absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view text) {
  absl::string_view days = text;
  double n = 0;
  if (absl::ConsumeSuffix(&days, "d") && absl::SimpleAtod(days, &n) && n >= 0) {
    return absl::Hours(24) * n;
  }
  absl::Duration d;
  if (!absl::ParseDuration(std::string(text), &d) || d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not a duration (examples: 500ms, 1s, 2m, 1h, 7d)"));
  }
  return d;
}

CLI::Option* AddDurationFlag(CLI::App& app, const std::string& name, absl::Duration* out,
                             const std::string& help) {
  return app
      .add_option_function<std::string>(
          name,
          [flag = name.substr(0, name.find(',')), out](const std::string& value) {
            auto d = ParseDurationFlag(value);
            if (!d.ok()) throw CLI::ValidationError(flag, std::string(d.status().message()));
            *out = *d;
          },
          help)
      ->default_str(absl::FormatDuration(*out));
}

CLI::Option* AddLogLevelFlag(CLI::App& app) {
  return app
      .add_option_function<std::string>(
          "--log-level,--log_level",
          [](const std::string& value) {
            LogLevel level;
            if (!ParseLogLevel(value, &level)) {
              throw CLI::ValidationError("--log-level", "want debug, info, warning or error");
            }
            SetLogLevel(level);
          },
          "debug, info, warning or error")
      ->default_str("info");
}

void AddLogFlags(CLI::App& app, LogFlags* flags) {
  AddLogLevelFlag(app);
  app.add_option("--log-file,--log_file", flags->file,
                 "where log lines go besides stderr (default: in the work dir, unless stderr is systemd's journal; "
                 "none: nowhere); reopened on SIGHUP");
  app.add_flag("--log-json,--log_json", flags->json,
               "log JSON lines ({time, level, component, message} and agent, framework, task... ids) instead of text");
}

bool StartLogging(const LogFlags& flags, const std::string& default_file) {
  SetLogJson(flags.json);
  // Under systemd the journal keeps stderr: a file of our own would only
  // hold every line twice (one named with --log-file is still written).
  const bool journal = StderrIsJournal();
  SetLogToJournal(journal);
  const std::string path = flags.file.empty() ? (journal ? "none" : default_file) : flags.file;
  if (path == "none") return true;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (!OpenLogFile(path)) {
    std::cerr << "cannot open the log file " << path << "\n";
    return false;
  }
  return true;
}

void ReopenLogOnHangup(absl::string_view component) {
  if (!HasLogFile()) {
    AGORA_LOG(INFO, component) << "SIGHUP: no log file to reopen (logging to stderr only)";
  } else if (ReopenLogFile()) {
    AGORA_LOG(INFO, component) << "SIGHUP: log file reopened";
  } else {
    AGORA_LOG(WARNING, component) << "SIGHUP: cannot reopen the log file (" << std::strerror(errno)
                                  << "); writing on to the old one";
  }
}

void AddConfigFileFlag(CLI::App& app) {
  app.set_config("--config", "", "read flags from this file: `name = value` lines, names as the flags' (TOML)");
  app.allow_config_extras(false);
}

std::string ClosestMatch(absl::string_view word, absl::Span<const absl::string_view> known) {
  std::string best;
  size_t best_distance = std::min<size_t>(2, word.size() / 3) + 1;
  if (word.size() > 64) return best;  // no name is that long: no hostile key costs much
  for (absl::string_view candidate : known) {
    const size_t gap = word.size() > candidate.size() ? word.size() - candidate.size() : candidate.size() - word.size();
    if (gap >= best_distance) continue;
    // Edit distance with adjacent transpositions ("lsit" is one from "list").
    std::vector<std::vector<size_t>> d(word.size() + 1, std::vector<size_t>(candidate.size() + 1));
    for (size_t i = 0; i <= word.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= candidate.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= word.size(); ++i) {
      for (size_t j = 1; j <= candidate.size(); ++j) {
        d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (word[i - 1] == candidate[j - 1] ? 0 : 1)});
        if (i > 1 && j > 1 && word[i - 1] == candidate[j - 2] && word[i - 2] == candidate[j - 1]) {
          d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    if (d[word.size()][candidate.size()] < best_distance) {
      best_distance = d[word.size()][candidate.size()];
      best = std::string(candidate);
    }
  }
  return best;
}

namespace {

// After a parse error: "did you mean 'agents'?" for a word that is close to a
// subcommand of the deepest command parsed, or "".
// The long flag (without dashes) of `app` or a parent closest to `flag`, or
// "": named as its option's first (kebab-case) name, whichever spelling was
// nearer.
std::string ClosestFlag(CLI::App* app, absl::string_view flag) {
  std::vector<std::string> names;
  std::vector<const std::string*> primary;
  for (CLI::App* at = app; at != nullptr; at = at->get_parent()) {
    for (const CLI::Option* opt : at->get_options()) {
      const std::vector<std::string>& lnames = opt->get_lnames();
      for (const std::string& name : lnames) {
        names.push_back(name);
        primary.push_back(&lnames.front());
      }
    }
  }
  const std::vector<absl::string_view> known(names.begin(), names.end());
  const std::string meant = ClosestMatch(flag, known);
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == meant) return *primary[i] == flag ? "" : *primary[i];
  }
  return "";
}

// The first argument left over at `deepest` or above that `wanted` accepts, or "".
std::string FirstLeftOver(CLI::App* deepest, const std::function<bool(const std::string&)>& wanted) {
  for (CLI::App* at = deepest; at != nullptr; at = at->get_parent()) {
    for (const std::string& arg : at->remaining()) {
      if (wanted(arg)) return arg;
    }
  }
  return "";
}

std::string DidYouMean(CLI::App& app) {
  CLI::App* deepest = &app;
  for (std::vector<CLI::App*> parsed = app.get_subcommands(); !parsed.empty(); parsed = deepest->get_subcommands()) {
    deepest = parsed.front();
  }
  // The first word left over that is not a flag: the command that is not one.
  const std::string word = FirstLeftOver(deepest, [](const std::string& a) { return !a.empty() && a[0] != '-'; });
  if (!word.empty()) {
    std::vector<std::string> names;
    for (CLI::App* sub : deepest->get_subcommands([](CLI::App* s) { return !s->get_group().empty(); })) {
      names.push_back(sub->get_name());
    }
    const std::vector<absl::string_view> known(names.begin(), names.end());
    if (const std::string meant = ClosestMatch(word, known); !meant.empty()) {
      return absl::StrCat("'", word, "' is not a command; did you mean '", meant, "'?");
    }
  }
  // Else the first flag left over (not a bare `--` or `--=x`), against the
  // long flags of every level.
  const std::string arg = FirstLeftOver(deepest, [](const std::string& a) {
    return a.size() > 2 && absl::StartsWith(a, "--") && a[2] != '=';
  });
  const std::string flag = arg.empty() ? "" : arg.substr(2, arg.find('=') == std::string::npos ? std::string::npos : arg.find('=') - 2);
  if (flag.empty()) return "";
  const std::string meant = ClosestFlag(deepest, flag);
  return meant.empty() ? "" : absl::StrCat("'--", flag, "' is not a flag; did you mean '--", meant, "'?");
}

}  // namespace

int ParseCommandLine(CLI::App& app, int argc, char** argv, const UsageErrorPrinter& print) {
  const std::string program = argc > 0 ? std::filesystem::path(argv[0]).filename().string() : "agora";
  app.set_version_flag("--version", VersionLine(program), "print the version and the commit built from");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --help-all, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string message = e.what(), hint = DidYouMean(app);
    // CLI11 2.1 words an unknown key of a --config file this way.
    if (absl::string_view key = message; absl::ConsumePrefix(&key, "INI was not able to parse ")) {
      const std::string meant = ClosestFlag(&app, key);
      message = absl::StrCat("--config: '", key, "' is not a flag of ", program);
      hint = meant.empty() ? "" : absl::StrCat("did you mean '", meant, "'?");
    }
    if (print) {
      print(message, hint);
    } else {
      std::cerr << message << "\nRun with --help for more information.\n";
      if (!hint.empty()) std::cerr << hint << "\n";
    }
    return 2;
  }
  return -1;
}

void AddCurveClientFlags(CLI::App& app, CurveClientFlags* flags) {
  app.add_option("--curve-secret-key,--curve_secret_key", flags->secret_key,
                 "CurveZMQ: this process's secret key file (agora keys generate), for a secured master")
      ->envname("AGORA_CURVE_SECRET_KEY")
      ->check(CLI::ExistingFile);
  app.add_option("--master-public-key,--master_public_key", flags->master_public_key,
                 "CurveZMQ: the master's public key file (.pub)")
      ->envname("AGORA_MASTER_PUBLIC_KEY")
      ->check(CLI::ExistingFile);
}

}  // namespace agora
