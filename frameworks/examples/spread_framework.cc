// agora-example-spread: a complete framework in one page.
//
// It runs one copy of a command on each of N distinct hosts, retries a copy
// that fails (up to --retries times, on any host not used yet), and exits 0
// when every copy finished with status 0. It shows the whole SDK contract:
// react to offers, launch, handle updates, and say when you want no offers.
//
//   agora-example-spread --master tcp://127.0.0.1:5050 --hosts 2 -- hostname
//
// It uses the installed SDK only: <agora/sdk/...> and agora::sdk (see
// CMakeLists.txt beside it).
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>

#include <agora/sdk/scheduler_driver.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace {

using namespace agora;

class SpreadScheduler final : public sdk::Scheduler {
 public:
  SpreadScheduler(std::string command, int hosts, int retries)
      : command_(std::move(command)), wanted_(hosts), retries_left_(retries) {}

  void Offers(sdk::SchedulerDriver& driver, const std::vector<sdk::Offer>& offers) override {
    const Resources need = Resources::Scalars(0.1, 32, 0);
    for (const sdk::Offer& offer : offers) {
      // One copy per host: skip hosts we already use. Offers we do not
      // answer are declined by the driver.
      if (running_ + succeeded_ >= wanted_ || used_hosts_.contains(offer.hostname)) continue;
      if (!offer.resources.Contains(need)) continue;
      TaskSpec task;
      task.task_id = absl::StrCat("copy-", next_id_++);
      task.command = command_;
      task.resources = need;
      driver.Launch({offer.id}, {task});
      used_hosts_.insert(offer.hostname);
      ++running_;
      std::cout << task.task_id << " -> " << offer.hostname << std::endl;
    }
  }

  void Update(sdk::SchedulerDriver& driver, const TaskStatus& status) override {
    std::cout << status.task_id << " " << TaskStateName(status.state) << " " << status.message
              << std::endl;
    if (!IsTerminal(status.state)) return;
    --running_;
    if (status.state == TaskState::kFinished) {
      ++succeeded_;
    } else if (retries_left_-- <= 0) {
      failed_ = true;
    }
    if (succeeded_ == wanted_ || (failed_ && running_ == 0)) driver.Stop(/*failover=*/false);
  }

  // While every copy is placed, ask for no offers: the driver suppresses.
  bool WantsOffers() const override { return !failed_ && running_ + succeeded_ < wanted_; }
  bool ok() const { return succeeded_ == wanted_; }

 private:
  std::string command_;
  int wanted_;
  int retries_left_;
  int running_ = 0;
  int succeeded_ = 0;
  int next_id_ = 0;
  bool failed_ = false;
  std::set<std::string> used_hosts_;
};

}  // namespace

int Usage(const std::string& problem) {
  std::cerr << "agora-example-spread: " << problem << "\n"
            << "usage: agora-example-spread [--master ENDPOINT] [--hosts N] [--retries N] -- COMMAND...\n";
  return 2;
}

int main(int argc, char** argv) {
  const char* env_master = std::getenv("AGORA_MASTER");
  std::string master = env_master != nullptr ? env_master : "tcp://127.0.0.1:5050";
  int hosts = 2, retries = 2;
  std::string command;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) command += (command.empty() ? "" : " ") + std::string(argv[i]);
    } else if (i + 1 >= argc) {
      return Usage(arg + " needs a value");
    } else if (arg == "--master") {
      master = argv[++i];
    } else if (arg == "--hosts") {
      if (!absl::SimpleAtoi(argv[++i], &hosts) || hosts < 1) return Usage("--hosts wants a positive number");
    } else if (arg == "--retries") {
      if (!absl::SimpleAtoi(argv[++i], &retries) || retries < 0) return Usage("--retries wants a number >= 0");
    } else {
      return Usage("unknown argument " + arg);
    }
  }
  if (command.empty()) return Usage("no command after --");

  SpreadScheduler scheduler(command, hosts, retries);
  agora::sdk::FrameworkInfo info;
  info.name = "example-spread";
  info.failover_timeout = absl::ZeroDuration();
  agora::sdk::SchedulerDriver driver(scheduler, info, master);
  driver.Run();
  return scheduler.ok() ? 0 : 1;
}
