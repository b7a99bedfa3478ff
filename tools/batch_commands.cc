#include "tools/batch_commands.h"
#include "common/json_text.h"

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/framework_client.h"
#include "tools/output.h"
#include "tools/logs_command.h"
#include "tools/spec_commands.h"
#include "tools/table.h"

namespace agora::tools {
namespace {

using nlohmann::json;

std::string Text(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "-";
  return j[key].is_string() ? j[key].get<std::string>() : JsonText(j[key]);
}

// "2026-11-23T05:27:32.142Z" -> "2026-11-23 05:27:32Z" (UTC, as every time
// the daemons give).
std::string Clock(const json& j, const char* key) {
  std::string t = Text(j, key);
  return t.size() >= 19 ? absl::StrCat(t.substr(0, 10), " ", t.substr(11, 8), "Z") : t;
}

void PrintJobs(const json& jobs) {
  // HOST as `task list` shows it; the agent id where the hostname is unknown.
  Table t({"ID", "STATE", "ATTEMPTS", "EXIT", "QUEUE", "STARTED", "FINISHED", "HOST", "MESSAGE"});
  for (const json& j : jobs) {
    std::string message = Text(j, "message");
    if (message.size() > 60) message = message.substr(0, 59) + "~";
    t.AddRow({j["id"], j["state"], absl::StrCat(j.value("attempts", 0)), Text(j, "exit_code"),
              Text(j, "queue"), Clock(j, "started_at"), Clock(j, "finished_at"),
              Text(j, j.contains("hostname") && !j["hostname"].is_null() ? "hostname" : "agent_id"),
              message});
  }
  t.Print(std::cout);
}

// Polls a run until every job is final. Shows a progress bar on a terminal,
// a line per change elsewhere (unless quiet). Returns 0 iff all succeeded.
int Watch(FrameworkClient& batch, const std::string& run_id, bool quiet) {
  const bool tty = isatty(STDOUT_FILENO) && !quiet;
  std::string last;
  for (;;) {
    auto run = batch.Call("GET", "/v1/runs/" + run_id + "?jobs=0");
    if (!run.ok()) return CommandFailed("job watch", run.status());
    const json& counts = (*run)["counts"];
    int total = 0, done = 0;
    std::string parts;
    for (const auto& [state, n] : counts.items()) {
      total += n.get<int>();
      if (state == "succeeded" || state == "failed" || state == "killed" || state == "timed_out") {
        done += n.get<int>();
      }
      absl::StrAppend(&parts, " ", n.get<int>(), " ", state);
    }
    const int width = 30, filled = total ? done * width / total : 0;
    std::string line = absl::StrCat("[", std::string(filled, '#'), std::string(width - filled, '.'),
                                    "] ", done, "/", total, parts);
    if (tty) {
      std::cout << "\r\033[K" << line << std::flush;
    } else if (!quiet && line != last) {
      std::cout << line << "\n";
    }
    last = line;
    if ((*run)["state"] != "active") {
      if (tty) std::cout << "\n";
      const bool ok = (*run)["state"] == "succeeded";
      if (!quiet) {
        std::cout << "run " << run_id << " " << (*run)["state"].get<std::string>() << "\n";
        auto full = ok ? run : batch.Call("GET", "/v1/runs/" + run_id);
        if (!ok && full.ok()) {
          for (const json& j : (*full)["job_states"]) {
            if (j["state"] != "succeeded") {
              std::cout << "  " << j["id"].get<std::string>() << ": " << j["state"].get<std::string>()
                        << (j.value("message", "").empty() ? "" : " (" + j["message"].get<std::string>() + ")")
                        << "\n";
            }
          }
        }
      }
      return ok ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

bool IsRunId(const std::string& id) { return id.find('.') == std::string::npos; }

}  // namespace

void AddBatchCommands(CLI::App& app, BatchArgs* a) {
  auto endpoint = [a](CLI::App* cmd) {
    cmd->add_option("--batch", a->endpoint, "agora-batch's API URL (default: ask the master)")
        ->envname("AGORA_BATCH");
  };
  CLI::App* job = app.add_subcommand("job", "submit and follow batch jobs (agora-batch)");
  job->require_subcommand(1);
  endpoint(job);
  CLI::App* submit = job->add_subcommand(
      "submit", "submit a job or workflow file (YAML); a file with `schedule` adds a recurring job\n"
                "Example: agora job submit etl.yaml --wait");
  submit->add_option("file", a->file, "the YAML file ('-' for stdin)")->required();
  submit->add_flag("--wait", a->wait, "follow the run; exit 0 iff every job succeeded");
  for (auto [verb, help] :
       {std::pair{"validate", "check a job or workflow file offline, as agora-batch would; errors say "
                              "FILE:LINE:COL\nExample: agora job validate etl.yaml"},
        {"plan", "what a file would run: its jobs by step, their tasks and resources, its schedule, and "
                 "whether each fits on the cluster's agents\nExample: agora job plan etl.yaml"}}) {
    job->add_subcommand(verb, help)->add_option("file", a->file, "the YAML file ('-' for stdin)")->required();
  }
  CLI::App* list = job->add_subcommand("list", "list jobs\nExample: agora job list --state failed");
  list->add_option("--run", a->run, "only this run's jobs");
  list->add_option("--name", a->name, "only jobs of this name");
  list->add_option("--state", a->state, "only jobs in this state (pending, running, failed, ...)");
  for (auto [verb, help] :
       {std::pair{"show", "show a job, or a run with its jobs\nExample: agora job show r-3f09c1d2e4b5"},
        {"kill", "kill a job, or every unfinished job of a run\nExample: agora job kill r-3f09c1d2e4b5.extract"},
        {"retry", "run a failed, killed or timed out job again (and what waited on it)\n"
                  "Example: agora job retry r-3f09c1d2e4b5.extract"},
        {"watch", "show a run's progress until it ends; exit 0 iff it succeeded\n"
                  "Example: agora job watch r-3f09c1d2e4b5"}}) {
    job->add_subcommand(verb, help)->add_option("id", a->id, "a job id or run id")->required();
  }
  CLI::App* logs = job->add_subcommand(
      "logs", "a job's output (its latest attempt), read through the agent that ran it\n"
              "Example: agora job logs r-3f09c1d2e4b5.extract --stderr --follow");
  logs->add_option("id", a->id, "the job id")->required();
  logs->add_flag("--stderr", a->stderr_file, "stderr instead of stdout");
  logs->add_flag("--follow,-f", a->follow, "keep printing until the job's task ends");
  logs->add_option("--tail", a->tail, "only the last N lines")->check(CLI::NonNegativeNumber);
  job->add_subcommand("history", "every run of a job name\nExample: agora job history extract")
      ->add_option("name", a->name, "the job's name")
      ->required();

  CLI::App* queue = app.add_subcommand("queue", "inspect and configure agora-batch's queues");
  queue->require_subcommand(1);
  endpoint(queue);
  queue->add_subcommand("list", "list queues: policy, weight, waiting jobs\nExample: agora queue list");
  queue->add_subcommand("show", "show one queue\nExample: agora queue show default")
      ->add_option("name", a->name, "the queue")
      ->required();
  CLI::App* set = queue->add_subcommand(
      "set-policy", "set a queue's policy (creating the queue)\n"
                    "Example: agora queue set-policy urgent priority --weight 3 --aging 0.01");
  set->add_option("name", a->name, "the queue")->required();
  set->add_option("policy", a->policy, "fcfs, sjf, srtf or priority")
      ->check(CLI::IsMember({"fcfs", "sjf", "srtf", "priority"}))
      ->required();
  set->add_option("--weight", a->weight, "fair-share weight against other queues")->check(CLI::PositiveNumber);
  set->add_option("--aging", a->aging, "priority: score gained per second waited")->check(CLI::NonNegativeNumber);
  set->add_option("--k", a->k, "priority: steepness of the logistic score")->check(CLI::PositiveNumber);
  set->add_option("--x0", a->x0, "priority: the priority that scores 0.5");

  CLI::App* cron = app.add_subcommand("cron", "list and steer recurring jobs");
  cron->require_subcommand(1);
  endpoint(cron);
  cron->add_subcommand("list", "list schedules: next and last firing\nExample: agora cron list");
  for (auto verb : {"pause", "resume", "delete"}) {
    cron->add_subcommand(verb, absl::StrCat(verb, " a schedule\nExample: agora cron ", verb, " nightly"))
        ->add_option("name", a->name, "the schedule (its job or workflow name)")
        ->required();
  }
}

int RunBatchCommand(CLI::App& app, BatchArgs& a) {
  CLI::App* noun = nullptr;
  for (const char* n : {"job", "queue", "cron"}) {
    if (app.get_subcommand(n)->parsed()) noun = app.get_subcommand(n);
  }
  if (noun == nullptr) return -1;
  const std::string verb = noun->get_subcommands().front()->get_name();
  const std::string what = absl::StrCat(noun->get_name(), " ", verb);
  sdk::MasterClient master(a.master, a.timeout, a.curve);
  FrameworkClient batch(master, "agora-batch", a.endpoint, a.timeout);
  auto show = [&](const absl::StatusOr<json>& r, const std::function<void(const json&)>& print) {
    return PrintResult(what, r, a.json, print);
  };
  auto done = [&](const absl::StatusOr<json>& r, const std::string& message) {
    return show(r, [&](const json&) { std::cout << message << "\n"; });
  };

  if (noun->get_name() == "job") {
    if (verb == "validate") return ValidateJobFile(a.file, a.json);
    if (verb == "plan") return PlanJobFile(a.file, master, a.json);
    if (verb == "submit") {
      std::optional<std::string> text = ReadSpecFile(what, a.file);
      if (!text) return 2;
      auto r = batch.Call("POST", "/v1/runs", *text, "application/yaml");
      if (!r.ok()) return CommandFailed(what, absl::Status(r.status().code(), InFile(a.file, r.status().message())));
      if (a.json) {
        PrintData(*r);
      } else if (r->contains("cron")) {
        std::cout << "schedule " << (*r)["cron"].get<std::string>() << " added; see `agora cron list`\n";
      } else {
        std::cout << "run " << (*r)["run_id"].get<std::string>() << ": " << (*r)["jobs"].size()
                  << " jobs submitted\n";
      }
      if (!a.wait || !r->contains("run_id")) return 0;
      return Watch(batch, (*r)["run_id"], a.json);
    }
    if (verb == "list" || verb == "history") {
      std::string path = absl::StrCat("/v1/jobs?run=", a.run, "&name=", a.name, "&state=", a.state);
      return show(batch.Call("GET", path), PrintJobs);
    }
    if (verb == "show") {
      if (IsRunId(a.id)) {
        return show(batch.Call("GET", "/v1/runs/" + a.id), [](const json& run) {
          std::cout << "run " << run["id"].get<std::string>() << " (" << run["name"].get<std::string>()
                    << "): " << run["state"].get<std::string>() << ", submitted "
                    << Text(run, "submitted_at") << "\n";
          PrintJobs(run["job_states"]);
        });
      }
      return show(batch.Call("GET", "/v1/jobs/" + a.id), [](const json& j) {
        for (const auto& [k, v] : j.items()) {
          std::cout << absl::StrFormat("%-13s", k) << " " << (v.is_string() ? v.get<std::string>() : JsonText(v))
                    << "\n";
        }
      });
    }
    if (verb == "kill") {
      const std::string path = (IsRunId(a.id) ? "/v1/runs/" : "/v1/jobs/") + a.id + "/kill";
      return done(batch.Call("POST", path), "kill of " + a.id + " sent");
    }
    if (verb == "retry") {
      return done(batch.Call("POST", "/v1/jobs/" + a.id + "/retry"), a.id + " queued again");
    }
    if (verb == "logs") {
      auto job = batch.Call("GET", "/v1/jobs/" + a.id);
      if (!job.ok()) return CommandFailed(what, job.status());
      if ((*job)["task_id"].is_null()) {
        std::cerr << "agora job logs: " << a.id << " has not run yet (" << (*job)["state"].get<std::string>()
                  << ")\n";
        return 1;
      }
      return PrintLogs(master, LogsArgs{(*job)["task_id"], (*job).value("framework_id", ""),
                                        (*job).value("agent_id", ""), a.stderr_file, a.follow, a.tail});
    }
    if (verb == "watch") {
      if (!IsRunId(a.id)) {
        std::cerr << "agora job watch: give a run id (r-...), not a job id\n";
        return 2;
      }
      return Watch(batch, a.id, a.json);
    }
  }
  if (noun->get_name() == "queue") {
    auto print = [](const json& rows) {
      Table t({"NAME", "POLICY", "WEIGHT", "WAITING", "RUNNING CPUS", "AGING/S", "K", "X0"});
      for (const json& q : rows) {
        t.AddRow({q["name"], q["policy"], absl::StrFormat("%g", q["weight"].get<double>()),
                  absl::StrCat(q.value("waiting", 0)), absl::StrFormat("%g", q.value("running_cpus", 0.0)),
                  absl::StrFormat("%g", q["aging_per_s"].get<double>()),
                  absl::StrFormat("%g", q["logistic_k"].get<double>()),
                  absl::StrFormat("%g", q["logistic_x0"].get<double>())});
      }
      t.Print(std::cout);
    };
    if (verb == "list") return show(batch.Call("GET", "/v1/queues"), print);
    if (verb == "show") {
      return show(batch.Call("GET", "/v1/queues/" + a.name), [&](const json& q) { print(json::array({q})); });
    }
    json body = {{"policy", a.policy}};
    if (a.weight > 0) body["weight"] = a.weight;
    if (a.aging >= 0) body["aging_per_s"] = a.aging;
    if (a.k > 0) body["logistic_k"] = a.k;
    if (app.get_subcommand("queue")->get_subcommand("set-policy")->count("--x0")) body["logistic_x0"] = a.x0;
    return done(batch.Call("PUT", "/v1/queues/" + a.name, JsonText(body)),
                "queue " + a.name + " now uses " + a.policy);
  }
  if (verb == "list") {
    return show(batch.Call("GET", "/v1/crons"), [](const json& rows) {
      Table t({"NAME", "SCHEDULE", "TIME ZONE", "CONCURRENCY", "PAUSED", "NEXT", "LAST", "LAST RUN", "SKIPPED"});
      for (const json& c : rows) {
        t.AddRow({c["name"], c["schedule"], c["time_zone"], c["concurrency"], c["paused"] ? "yes" : "no",
                  Text(c, "next_fire"), Text(c, "last_fire"), Text(c, "last_run_id"),
                  absl::StrCat(c.value("skipped", 0))});
      }
      t.Print(std::cout);
    });
  }
  const std::string method = verb == "delete" ? "DELETE" : "POST";
  const std::string path = "/v1/crons/" + a.name + (verb == "delete" ? "" : "/" + verb);
  return done(batch.Call(method, path), absl::StrCat("schedule ", a.name, ": ", verb, "d"));
}

}  // namespace agora::tools
