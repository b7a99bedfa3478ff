// Secure by default: on an open cluster (no CurveZMQ keys) anyone who can
// connect may launch, kill and read tasks' files, so a daemon without keys
// binds its control ports (the master's ZeroMQ socket, every daemon's HTTP)
// to loopback only, unless its operator passes --insecure.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace agora {

// Whether `address` is reachable from this machine alone: a loopback IP
// (127.0.0.0/8, ::1), a name every address of which is loopback
// ("localhost"), the loopback interface "lo", or an ipc:// or inproc://
// endpoint. `address` is a host or a ZeroMQ endpoint (tcp://HOST:PORT).
bool IsLoopback(absl::string_view address);

// OK when `address` (given by `flag`) is loopback, or `secured`, or
// `insecure`; else why the daemon refuses to start.
absl::Status CheckOpenBind(absl::string_view flag, absl::string_view address, bool secured, bool insecure);

}  // namespace agora
