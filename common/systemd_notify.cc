#include "common/systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace agora {
namespace {

// One line of the notification protocol: a newline would start another.
std::string StatusLine(absl::string_view status) {
  return absl::StrCat("STATUS=", absl::StrReplaceAll(status, {{"\n", " "}}));
}

}  // namespace

SystemdNotifier::~SystemdNotifier() { loop_.Cancel(watchdog_); }

void SystemdNotifier::Ready(absl::string_view status) {
  sd_notify(0, absl::StrCat("READY=1\n", StatusLine(status)).c_str());
  uint64_t usec = 0;
  if (watchdog_ == 0 && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    sd_notify(0, "WATCHDOG=1");
    watchdog_ = loop_.Every(absl::Microseconds(usec / 2), [] { sd_notify(0, "WATCHDOG=1"); });
  }
}

void SystemdNotifier::Status(absl::string_view status) { sd_notify(0, StatusLine(status).c_str()); }

void SystemdNotifier::Stopping() { sd_notify(0, "STOPPING=1"); }

}  // namespace agora
