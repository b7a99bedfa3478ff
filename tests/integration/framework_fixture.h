// The fixture of the frameworks' integration tests: a LocalCluster plus a
// real framework daemon (agora-batch, agora-services), driven through the
// `agora` CLI.
#pragma once

#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/integration/cluster.h"
#include "common/proc_file.h"

namespace agora::testing {

class FrameworkTest : public ::testing::Test {
 protected:
  // `binary` is agora-batch or agora-services; its work dir is DIR/<binary>.
  explicit FrameworkTest(std::string binary) : binary_(std::move(binary)) {}

  void Start(ClusterOptions options = {}) {
    cluster_ = std::make_unique<LocalCluster>(options);
    ASSERT_TRUE(cluster_->WaitForAgents(options.agents));
    StartFramework();
  }

  // (Re)starts the framework on its work dir and waits for it to subscribe.
  void StartFramework() {
    // The endpoint a killed predecessor left must not pass for the new one's.
    std::remove((dir() + "/" + binary_ + "/endpoint").c_str());
    framework_ = std::make_unique<Process>(
        Concat({BinPath(binary_), "--master", cluster_->master(), "--work_dir", dir() + "/" + binary_,
                "--http_port", "0"},
               framework_flags_),
        dir() + "/" + binary_ + ".log");
    ASSERT_TRUE(WaitFor(
        [&] {
          if (Endpoint().empty()) return false;
          for (const nlohmann::json& f : cluster_->Query("frameworks")) {
            if (f["name"] == binary_ && f["state"] == "active" && f.value("endpoint", "") == Endpoint()) {
              return true;
            }
          }
          return false;
        },
        absl::Seconds(15)))
        << binary_ << " did not subscribe; see " << dir() << "/" << binary_ << ".log";
  }

  std::string Endpoint() {
    std::ifstream in(dir() + "/" + binary_ + "/endpoint");
    std::string e;
    std::getline(in, e);
    return e;
  }

  const std::string& dir() { return cluster_->dir(); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  CliResult Cli(const std::vector<std::string>& args) { return cluster_->Cli(args, absl::Seconds(120)); }

  nlohmann::json CliJson(const std::vector<std::string>& args) {
    std::vector<std::string> a = args;
    a.push_back("--json");
    CliResult r = Cli(a);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_discarded() ? nlohmann::json() : j;
  }

  // Lines of a file the tasks append to.
  std::vector<std::string> Lines(const std::string& name) {
    std::ifstream in(dir() + "/" + name);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  }

  static std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }

  void TearDown() override {
    framework_.reset();  // SIGTERM: a framework stops what it started
    if (cluster_ != nullptr) StopLeftoverHaproxy();
  }

  // agora-services killed with SIGKILL leaves its HAProxy serving (on
  // purpose); the test ends it by the pid in its pidfile.
  void StopLeftoverHaproxy() {
    std::ifstream in(dir() + "/agora-services/haproxy/haproxy.pid");
    int pid = 0;
    if (in >> pid && pid > 0 && ::kill(pid, 0) == 0) {
      const std::string cmdline = ReadProcFile(absl::StrCat("/proc/", pid, "/cmdline"));
      if (cmdline.find(dir() + "/agora-services/haproxy/") == std::string::npos) return;
      // Again until it is gone: a signal during a reload's re-exec can go unheeded.
      WaitFor([&] { return ::kill(pid, SIGTERM) != 0 || Zombie(pid); }, absl::Seconds(5));
    }
  }

  static bool Zombie(int pid) {  // exited, not yet reaped by its parent (init)
    const std::string text = ReadProcFile(absl::StrCat("/proc/", pid, "/stat"));
    const size_t end = text.rfind(')');
    return end == std::string::npos || text.substr(end + 2, 1) == "Z";
  }

  std::string binary_;
  std::vector<std::string> framework_flags_;  // beyond --master, --work_dir, --http_port
  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<Process> framework_;
  int files_ = 0;
};

class BatchTest : public FrameworkTest {
 protected:
  BatchTest() : FrameworkTest("agora-batch") {}

  // Submits without waiting; returns the run id.
  std::string Submit(const std::string& yaml) {
    nlohmann::json r = CliJson({"job", "submit", Write(absl::StrCat("spec", ++files_, ".yaml"), yaml)});
    return r.value("run_id", "");
  }

  nlohmann::json Job(const std::string& id) { return CliJson({"job", "show", id}); }

  bool WaitForJob(const std::string& id, const std::string& state,
                  absl::Duration timeout = absl::Seconds(30)) {
    return WaitFor([&] { return Job(id).value("state", "") == state; }, timeout);
  }

};

}  // namespace agora::testing
