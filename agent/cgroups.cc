#include "agent/cgroups.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace agora::agent {
namespace fs = std::filesystem;
namespace {

constexpr const char* kRoot = "/sys/fs/cgroup";

bool WriteFile(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value;
  out.flush();
  return static_cast<bool>(out);
}

bool V2HasMemory() {
  std::ifstream in(std::string(kRoot) + "/cgroup.controllers");
  std::string word;
  while (in >> word) {
    if (word == "memory") return true;
  }
  return false;
}

uint64_t ReadCounter(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string k;
  uint64_t v;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return 0;
}

}  // namespace

bool HasPidsController(int version) {
  if (version == 1) return ::access((std::string(kRoot) + "/pids/cgroup.procs").c_str(), W_OK) == 0;
  if (version != 2) return false;
  std::ifstream in(std::string(kRoot) + "/cgroup.controllers");
  std::string word;
  while (in >> word) {
    if (word == "pids") return true;
  }
  return false;
}

int DetectCgroupVersion() {
  if (::geteuid() != 0) return 0;
  if (V2HasMemory() && ::access((std::string(kRoot) + "/cgroup.subtree_control").c_str(), W_OK) == 0) {
    return 2;
  }
  if (::access((std::string(kRoot) + "/memory/memory.limit_in_bytes").c_str(), F_OK) == 0 &&
      ::access((std::string(kRoot) + "/memory").c_str(), W_OK) == 0) {
    return 1;
  }
  return 0;
}

absl::StatusOr<TaskCgroup> TaskCgroup::Create(int version, const std::string& group,
                                              const std::string& name, uint64_t mem_limit_bytes,
                                              uint32_t cpu_shares, uint32_t pids_max) {
  TaskCgroup cg;
  cg.version_ = version;
  cg.mem_limit_bytes_ = mem_limit_bytes;
  const std::string rel = absl::StrCat("agora/", group, "/", name);
  std::error_code ec;
  if (version == 2) {
    // Controllers must be enabled on every ancestor's subtree_control, one
    // by one (a write naming one the kernel lacks enables none).
    fs::create_directories(fs::path(kRoot) / "agora" / group, ec);
    for (const std::string& parent : {std::string(kRoot), absl::StrCat(kRoot, "/agora"),
                                      absl::StrCat(kRoot, "/agora/", group)}) {
      for (const char* controller : {"+memory", "+cpu", "+pids"}) {
        WriteFile(parent + "/cgroup.subtree_control", controller);
      }
    }
    std::string dir = absl::StrCat(kRoot, "/", rel);
    fs::create_directories(dir, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot create cgroup ", dir, ": ", ec.message()));
    cg.dirs_.push_back(dir);
    if (mem_limit_bytes > 0 && !WriteFile(dir + "/memory.max", absl::StrCat(mem_limit_bytes))) {
      cg.Destroy();
      return absl::InternalError(absl::StrCat("cannot set memory.max in ", dir));
    }
    WriteFile(dir + "/memory.swap.max", "0");
    if (cpu_shares > 0) WriteFile(dir + "/cpu.weight", absl::StrCat(std::max(1u, cpu_shares * 100 / 1024)));
    if (pids_max > 0 && !WriteFile(dir + "/pids.max", absl::StrCat(pids_max))) {
      cg.Destroy();
      return absl::InternalError(absl::StrCat("cannot set pids.max in ", dir));
    }
  } else if (version == 1) {
    std::string mem_dir = absl::StrCat(kRoot, "/memory/", rel);
    fs::create_directories(mem_dir, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot create cgroup ", mem_dir, ": ", ec.message()));
    if (mem_limit_bytes > 0 &&
        !WriteFile(mem_dir + "/memory.limit_in_bytes", absl::StrCat(mem_limit_bytes))) {
      return absl::InternalError(absl::StrCat("cannot set memory.limit_in_bytes in ", mem_dir));
    }
    cg.dirs_.push_back(mem_dir);
    std::string cpu_dir = absl::StrCat(kRoot, "/cpu/", rel);
    if (cpu_shares > 0 && fs::exists(fs::path(kRoot) / "cpu")) {
      fs::create_directories(cpu_dir, ec);
      if (!ec && WriteFile(cpu_dir + "/cpu.shares", absl::StrCat(std::max(2u, cpu_shares)))) {
        cg.dirs_.push_back(cpu_dir);
      }
    }
    if (pids_max > 0) {
      const std::string pids_dir = absl::StrCat(kRoot, "/pids/", rel);
      fs::create_directories(pids_dir, ec);
      if (ec || !WriteFile(pids_dir + "/pids.max", absl::StrCat(pids_max))) {
        cg.Destroy();
        return absl::InternalError(absl::StrCat("cannot set pids.max in ", pids_dir));
      }
      cg.dirs_.push_back(pids_dir);
    }
  } else {
    return absl::InvalidArgumentError("cgroups are not available");
  }
  for (const std::string& d : cg.dirs_) cg.procs_files_.push_back(d + "/cgroup.procs");
  return cg;
}

uint64_t TaskCgroup::OomKills() const {
  if (dirs_.empty()) return 0;
  if (version_ == 2) return ReadCounter(dirs_[0] + "/memory.events", "oom_kill");
  return ReadCounter(dirs_[0] + "/memory.oom_control", "oom_kill");
}

std::optional<double> TaskCgroup::CpuSeconds() const {
  if (dirs_.empty()) return std::nullopt;
  if (version_ == 2) {
    const std::string stat = dirs_[0] + "/cpu.stat";
    if (::access(stat.c_str(), R_OK) != 0) return std::nullopt;
    return static_cast<double>(ReadCounter(stat, "usage_usec")) / 1e6;
  }
  for (const std::string& dir : dirs_) {  // v1: the cpu hierarchy, when cpuacct is mounted with it
    std::ifstream in(dir + "/cpuacct.usage");
    uint64_t ns = 0;
    if (in >> ns) return static_cast<double>(ns) / 1e9;
  }
  return std::nullopt;
}

std::optional<uint64_t> TaskCgroup::MemoryBytes() const {
  if (dirs_.empty()) return std::nullopt;
  std::ifstream in(dirs_[0] + (version_ == 2 ? "/memory.current" : "/memory.usage_in_bytes"));
  uint64_t bytes = 0;
  if (in >> bytes) return bytes;
  return std::nullopt;
}

void TaskCgroup::Destroy() {
  for (const std::string& dir : dirs_) {
    // Leftover processes (a task's daemonized children) die with their task.
    for (int attempt = 0; attempt < 50; ++attempt) {
      std::ifstream in(dir + "/cgroup.procs");
      pid_t pid;
      bool any = false;
      while (in >> pid) {
        ::kill(pid, SIGKILL);
        any = true;
      }
      if (!any || ::rmdir(dir.c_str()) == 0) break;
      ::usleep(2000);
    }
    ::rmdir(dir.c_str());
  }
  dirs_.clear();
  procs_files_.clear();
}

void TaskCgroup::RemoveGroup(int version, const std::string& group) {
  if (version == 2) {
    ::rmdir(absl::StrCat(kRoot, "/agora/", group).c_str());
    return;
  }
  for (const char* controller : {"memory", "cpu", "pids"}) {
    ::rmdir(absl::StrCat(kRoot, "/", controller, "/agora/", group).c_str());
  }
}

int KillCgroupProcesses(int version, const std::string& group, const std::string& name) {
  if (version == 0) return 0;
  const std::string rel = absl::StrCat("agora/", group, "/", name);
  std::vector<std::string> dirs;
  if (version == 2) {
    dirs.push_back(absl::StrCat(kRoot, "/", rel));
  } else {
    for (const char* controller : {"memory", "cpu", "pids"}) dirs.push_back(absl::StrCat(kRoot, "/", controller, "/", rel));
  }
  // Passes until one finds nothing new: a process forked while the list was
  // read is in the next one (the pids limit bounds how many there can be).
  absl::flat_hash_set<pid_t> killed;
  for (int pass = 0; pass < 20; ++pass) {
    bool found = false;
    for (const std::string& dir : dirs) {
      std::ifstream in(dir + "/cgroup.procs");
      pid_t pid;
      while (in >> pid) {
        if (killed.insert(pid).second) {
          ::kill(pid, SIGKILL);
          found = true;
        }
      }
    }
    if (!found) break;
  }
  return static_cast<int>(killed.size());
}

}  // namespace agora::agent
