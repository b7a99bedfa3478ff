/* agora-init: pid 1 of an isolated task's pid namespace.
 *
 *   agora-init PROGRAM ARGS...   forks PROGRAM as its child;
 *   agora-init --adopt PID       its child PID already runs: the executor's
 *                                Spawn (agent/executor/spawn.h) starts the
 *                                task from pid 1 before pid 1 execs this, which
 *                                saves a fork per task.
 *
 * It waits for that child, passes the signals it receives (TERM,
 * INT, HUP, QUIT, USR1, USR2, WINCH) on to every other process of the
 * namespace, reaps every orphan that the namespace hands it, and exits when
 * PROGRAM ends: with PROGRAM's exit status, or 128 + N when signal N killed
 * it, as a shell reports it. When it exits the kernel kills whatever is left
 * in the namespace, so nothing a task starts outlives it, whatever it did to
 * its process group, session or environment.
 *
 * It installs handlers because the kernel drops any signal a namespace's
 * init leaves at its default, even SIGTERM from outside. Plain C with libc
 * only, linked statically: it is exec'd once per task. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
#define FORWARDED_COUNT (sizeof(kForwarded) / sizeof(kForwarded[0]))

static void Ignore(int sig) { (void)sig; }

int main(int argc, char** argv) {
  if (argc < 2) {
    fputs("usage: agora-init PROGRAM [ARGS...] (started by agora-executor)\n", stderr);
    return 2;
  }
  sigset_t waited, old;
  sigemptyset(&waited);
  sigaddset(&waited, SIGCHLD);
  for (size_t i = 0; i < FORWARDED_COUNT; ++i) sigaddset(&waited, kForwarded[i]);
  /* Blocked before the handlers exist, so none runs (and is lost) meanwhile. */
  sigprocmask(SIG_BLOCK, &waited, &old);
  struct sigaction handler;
  memset(&handler, 0, sizeof(handler));
  handler.sa_handler = Ignore;
  for (size_t i = 0; i < FORWARDED_COUNT; ++i) sigaction(kForwarded[i], &handler, NULL);

  pid_t child;
  if (strcmp(argv[1], "--adopt") == 0) {
    child = argc == 3 ? (pid_t)atoi(argv[2]) : 0;
    if (child <= 0) {
      fputs("agora-init: --adopt needs the pid of the child to wait for\n", stderr);
      return 2;
    }
    raise(SIGCHLD);  /* it may have ended before the handlers were in place */
  } else {
    child = fork();
  }
  if (child < 0) {
    fprintf(stderr, "agora-init: fork: %s\n", strerror(errno));
    return 127;
  }
  if (child == 0) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (size_t i = 0; i < FORWARDED_COUNT; ++i) sigaction(kForwarded[i], &dfl, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    execv(argv[1], argv + 1);
    fprintf(stderr, "agora-init: exec %s: %s\n", argv[1], strerror(errno));
    _exit(127);
  }
  for (;;) {
    siginfo_t info;
    const int sig = sigwaitinfo(&waited, &info);
    if (sig < 0) continue; /* EINTR */
    if (sig != SIGCHLD) {
      kill(-1, sig); /* every process of the namespace but this one */
      continue;
    }
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid != child) continue;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
  }
}
