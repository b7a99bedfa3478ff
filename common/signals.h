// Delivers POSIX signals to an EventLoop through a signalfd, so handlers run
// as ordinary loop callbacks. Call BlockSignals() first thing in main(),
// before any thread (ZeroMQ's I/O threads included) exists, so that no thread
// takes the signals asynchronously.
#pragma once

#include <functional>
#include <initializer_list>
#include <string>

#include "common/event_loop.h"

namespace agora {

void BlockSignals(std::initializer_list<int> signals);

// For a process that has nothing to clean up: starts a thread that waits for
// these (blocked) signals and ends the process by the first one as if it had
// never been blocked (its default action), wherever the other threads are
// waiting. A shell then reports 128 + N (130 for Ctrl-C).
void DieOnSignals(std::initializer_list<int> signals);

class SignalWatcher {
 public:
  // Watches the given (blocked) signals; `handler` gets the signal number.
  SignalWatcher(EventLoop& loop, std::initializer_list<int> signals,
                std::function<void(int)> handler);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  EventLoop& loop_;
  int fd_ = -1;
};

// waitpid()'s status in words: "exit status 3", "signal 9".
std::string DescribeWaitStatus(int status);

}  // namespace agora
