#include "tools/run_command.h"
#include "common/json_text.h"

#include <signal.h>

#include <iostream>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/signals.h"
#include "frameworks/sdk/master_client.h"
#include "agora/sdk/scheduler_driver.h"
#include "frameworks/sdk/driver_core.h"
#include "tools/output.h"

namespace agora::tools {

std::string ShellJoin(const std::vector<std::string>& args) {
  if (args.size() == 1) return args[0];
  std::string out;
  for (const std::string& a : args) {
    if (!out.empty()) out += ' ';
    bool safe = !a.empty() && a.find_first_not_of(
                                  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                  "_-./=:,+@%") == std::string::npos;
    if (safe) {
      out += a;
      continue;
    }
    out += '\'';
    for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

namespace {

class RunScheduler final : public sdk::Scheduler {
 public:
  explicit RunScheduler(const RunOptions& options) : options_(options), start_(absl::Now()) {
    for (int i = 0; i < options.instances; ++i) {
      TaskSpec t;
      t.task_id = absl::StrCat(options.name, "-", i);
      t.name = t.task_id;
      t.command = options.command;
      t.resources = options.resources;
      t.user = options.user;
      pending_.push_back(t.task_id);
      specs_[t.task_id] = std::move(t);
    }
  }

  void Subscribed(sdk::SchedulerDriver& driver, const std::string& id) override {
    Print("", absl::StrCat("framework ", id, " subscribed; launching ", options_.instances, " x '",
                           options_.command, "' with ", options_.resources.ToString()));
  }

  // Places copies round-robin over the offers, so they spread across agents.
  void Offers(sdk::SchedulerDriver& driver, const std::vector<sdk::Offer>& offers) override {
    std::vector<Resources> left;
    for (const sdk::Offer& offer : offers) left.push_back(offer.resources);
    std::vector<std::vector<TaskSpec>> batches(offers.size());
    for (bool placed = true; placed && !pending_.empty();) {
      placed = false;
      for (size_t i = 0; i < offers.size() && !pending_.empty(); ++i) {
        if (!left[i].Contains(options_.resources)) continue;
        left[i] -= options_.resources;
        batches[i].push_back(specs_[pending_.back()]);
        hosts_[pending_.back()] = offers[i].hostname;
        pending_.pop_back();
        placed = true;
      }
    }
    for (size_t i = 0; i < offers.size(); ++i) {
      if (!batches[i].empty()) driver.Launch({offers[i].id}, batches[i]);
    }
  }

  void Update(sdk::SchedulerDriver& driver, const TaskStatus& status) override {
    auto spec = specs_.find(status.task_id);
    if (spec == specs_.end()) return;
    std::string line = absl::StrFormat("%-10s", TaskStateName(status.state));
    auto host = hosts_.find(status.task_id);
    if (host != hosts_.end()) absl::StrAppend(&line, " on ", host->second);
    if (!status.message.empty()) absl::StrAppend(&line, ": ", status.message);
    Print(status.task_id, line);
    const bool done = IsTerminal(status.state) || status.state == TaskState::kUnreachable;
    if (done && !finished_.contains(status.task_id)) {
      const bool clean = status.state == TaskState::kFinished && status.exit_code == 0;
      finished_[status.task_id] = clean ? 0 : status.exit_code > 0 && status.exit_code < 256 ? status.exit_code : 1;
      if (status.state == TaskState::kUnreachable) driver.Kill(status.task_id);
    }
    if (finished_.size() == specs_.size()) driver.Stop(/*failover=*/false);
  }

  void Error(sdk::SchedulerDriver& driver, const std::string& message) override {
    Print("", absl::StrCat("error: ", message));
  }

  bool WantsOffers() const override { return !pending_.empty(); }

  // 0 when every instance finished with 0; else the exit status of the
  // lowest-numbered one that did not (128 + N when signal N ended it, also
  // on a kill; 1 when it ended without one: lost, never started), as
  // `docker run` passes its command's through.
  int ExitCode() const {
    int ok = 0, code = 0;
    for (int i = options_.instances - 1; i >= 0; --i) {
      auto f = finished_.find(absl::StrCat(options_.name, "-", i));
      const int status = f == finished_.end() ? 1 : f->second;
      ok += status == 0;
      if (status != 0) code = status;
    }
    if (!options_.json) {
      std::cout << absl::StrFormat("%d of %d finished with exit status 0", ok, options_.instances)
                << std::endl;
    }
    return code;
  }

  // News of the run as a whole: a line on stderr, or an event of no task
  // under --json.
  void Notice(const std::string& text) {
    if (options_.json) {
      Print("", text);
    } else {
      std::cerr << text << "\n";
    }
  }

  void KillAll(sdk::SchedulerDriver& driver) {
    for (const auto& [id, spec] : specs_) {
      if (!finished_.contains(id) && hosts_.contains(id)) driver.Kill(id);
    }
  }

 private:
  void Print(const std::string& task, const std::string& text) {
    double t = absl::ToDoubleSeconds(absl::Now() - start_);
    if (options_.json) {
      std::cout << JsonText(nlohmann::json{{"t", t}, {"task", task}, {"event", text}}) << std::endl;
      return;
    }
    std::cout << absl::StrFormat("[%7.2fs] %-12s %s", t, task, text) << std::endl;
  }

  RunOptions options_;
  absl::Time start_;
  absl::flat_hash_map<std::string, TaskSpec> specs_;
  std::vector<std::string> pending_;
  absl::flat_hash_map<std::string, std::string> hosts_;
  absl::flat_hash_map<std::string, int> finished_;  // task -> its exit status (1: none)
};

}  // namespace

int RunCommand(const RunOptions& options) {
  // A master that is not there (or refuses the key) is said at once, rather
  // than waited for: the driver would retry for ever. Any answer will do.
  auto reached = sdk::MasterClient(options.master, options.request_timeout, options.curve).Query("stats");
  if (absl::IsUnavailable(reached.status()) || absl::IsPermissionDenied(reached.status())) {
    PrintError("run", reached.status().message());
    return 1;
  }
  RunScheduler scheduler(options);
  sdk::FrameworkInfo info;
  info.name = absl::StrCat("agora-run:", options.name);
  info.role = options.role;
  info.failover_timeout = absl::ZeroDuration();  // our tasks die with us
  info.curve = sdk::ToCurveKeys(options.curve);
  sdk::SchedulerDriver driver(scheduler, info, options.master);
  int exit_code = -1;
  SignalWatcher signals(sdk::LoopOf(driver), {SIGINT, SIGTERM}, [&](int sig) {
    scheduler.Notice("interrupted: killing the tasks");
    exit_code = 130;
    scheduler.KillAll(driver);
    driver.Stop(/*failover=*/false);
  });
  driver.After(absl::Seconds(5), [&] {
    if (scheduler.WantsOffers()) {
      scheduler.Notice(absl::StrCat("still waiting for offers that fit ", options.resources.ToString(),
                                    " (is an agent registered? see `agora agents`)"));
    }
  });
  if (options.timeout > absl::ZeroDuration()) {
    driver.After(options.timeout, [&] {
      scheduler.Notice(absl::StrCat("timed out after ", absl::FormatDuration(options.timeout), ": killing the tasks"));
      exit_code = 1;
      scheduler.KillAll(driver);
      driver.Stop(/*failover=*/false);
    });
  }
  if (driver.Run() != 0) return 1;
  int code = scheduler.ExitCode();
  return exit_code >= 0 ? exit_code : code;
}

}  // namespace agora::tools
