// Readiness and liveness for systemd (units of Type=notify, through
// libsystemd's sd_notify): READY=1 once a daemon serves, STATUS= lines,
// STOPPING=1 on its way out, and, when the unit sets WatchdogSec=, WATCHDOG=1
// from the daemon's event loop at half that period, so a loop that stops
// turning gets the daemon restarted. Outside systemd (no NOTIFY_SOCKET) every
// call does nothing. Loop thread.
#pragma once

#include "absl/strings/string_view.h"
#include "common/event_loop.h"

namespace agora {

class SystemdNotifier {
 public:
  explicit SystemdNotifier(EventLoop& loop) : loop_(loop) {}
  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  // READY=1 with `status`, then the watchdog's pings if the unit asks for them.
  void Ready(absl::string_view status);
  void Status(absl::string_view status);
  void Stopping();

 private:
  EventLoop& loop_;
  EventLoop::TimerId watchdog_ = 0;
};

}  // namespace agora
