#include "agent/cgroups.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace agora::agent {
namespace fs = std::filesystem;
namespace {

constexpr const char* kRoot = "/sys/fs/cgroup";

enum Controller : unsigned { kMemory = 1, kCpu = 2, kPids = 4 };
// The v1 hierarchies, in the order of a task's dirs.
constexpr std::pair<Controller, const char*> kV1Hierarchies[] = {
    {kMemory, "memory"}, {kCpu, "cpu"}, {kPids, "pids"}};

// A kept cgroup may start its next task with this much still charged.
constexpr uint64_t kKeptChargeMax = 1 << 20;

bool WriteFile(const std::string& path, const std::string& value) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
  ::close(fd);
  return ok;
}

uint64_t ReadNumber(const std::string& path) {
  std::ifstream in(path);
  uint64_t n = 0;
  in >> n;
  return n;
}

// Tries `done` every 2 ms for up to 100 ms.
bool Within100ms(const std::function<bool()>& done) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (done()) return true;
    ::usleep(2000);
  }
  return false;
}

// SIGKILLs every process listed in the cgroup `dir`; whether there was one.
bool KillListed(const std::filesystem::path& dir) {
  std::ifstream in(dir / "cgroup.procs");
  pid_t pid;
  bool any = false;
  while (in >> pid) {
    ::kill(pid, SIGKILL);
    any = true;
  }
  return any;
}

// SIGKILLs the processes in the cgroup `dir` until none is left (they may
// take a moment to exit); false when some are still there after 100 ms.
bool KillUntilEmpty(const std::string& dir) {
  return Within100ms([&] { return !KillListed(dir); });
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

unsigned TaskCgroup::ControllersFor(int version, const CgroupLimits& limits) {
  if (version == 2) return kMemory | kCpu | kPids;  // one directory holds them all
  static const bool has_cpu = ::access((std::string(kRoot) + "/cpu").c_str(), F_OK) == 0;
  unsigned controllers = kMemory;
  if (limits.cpu_shares > 0 && has_cpu) controllers |= kCpu;
  if (limits.pids_max > 0) controllers |= kPids;
  return controllers;
}

absl::StatusOr<TaskCgroup> TaskCgroup::Create(int version, const std::string& group,
                                              const std::string& name, const CgroupLimits& limits) {
  if (version != 1 && version != 2) return absl::InvalidArgumentError("cgroups are not available");
  TaskCgroup cg;
  cg.version_ = version;
  cg.controllers_ = ControllersFor(version, limits);
  const std::string rel = absl::StrCat("agora/", group, "/", name);
  if (version == 2) {
    // Controllers must be enabled on every ancestor's subtree_control, one
    // by one (a write naming one the kernel lacks enables none).
    std::error_code ec;
    fs::create_directories(fs::path(kRoot) / "agora" / group, ec);
    for (const std::string& parent : {std::string(kRoot), absl::StrCat(kRoot, "/agora"),
                                      absl::StrCat(kRoot, "/agora/", group)}) {
      for (const char* controller : {"+memory", "+cpu", "+pids"}) {
        WriteFile(parent + "/cgroup.subtree_control", controller);
      }
    }
    cg.dirs_.push_back(absl::StrCat(kRoot, "/", rel));
  } else {
    for (const auto& [controller, hierarchy] : kV1Hierarchies) {
      if (cg.controllers_ & controller) cg.dirs_.push_back(absl::StrCat(kRoot, "/", hierarchy, "/", rel));
    }
  }
  std::vector<std::string> made;
  for (const std::string& dir : cg.dirs_) {
    std::error_code ec;
    fs::create_directories(fs::path(dir).parent_path(), ec);
    // Never an existing one: it would be another run's, with its processes.
    if (ec || ::mkdir(dir.c_str(), 0755) != 0) {
      absl::Status failed = absl::InternalError(
          absl::StrCat("cannot create cgroup ", dir, ": ", ec ? ec.message() : strerror(errno)));
      for (const std::string& m : made) ::rmdir(m.c_str());
      cg.dirs_.clear();  // (`dir` is one of them)
      return failed;
    }
    made.push_back(dir);
  }
  for (const std::string& d : cg.dirs_) cg.procs_files_.push_back(d + "/cgroup.procs");
  if (absl::Status applied = cg.Apply(limits, /*fresh=*/true); !applied.ok()) {
    cg.Destroy();
    return applied;
  }
  return cg;
}

absl::Status TaskCgroup::Apply(const CgroupLimits& limits, bool fresh) {
  // A new cgroup has no limits; a kept one has its last task's.
  auto set = [&](unsigned controller, uint64_t now, uint64_t before, const std::string& file,
                 const std::string& value) -> absl::Status {
    if (!(controllers_ & controller) || (fresh ? now == 0 : now == before)) return absl::OkStatus();
    const std::string& dir = DirOf(controller);
    if (WriteFile(dir + "/" + file, value)) return absl::OkStatus();
    return absl::InternalError(absl::StrCat("cannot set ", file, " to ", value, " in ", dir));
  };
  const CgroupLimits& was = limits_;
  if (version_ == 2) {
    AGORA_RETURN_IF_ERROR(set(kMemory, limits.mem_bytes, was.mem_bytes, "memory.max", absl::StrCat(limits.mem_bytes)));
    if (fresh) WriteFile(dirs_[0] + "/memory.swap.max", "0");
    AGORA_RETURN_IF_ERROR(set(kCpu, limits.cpu_shares, was.cpu_shares, "cpu.weight",
                              absl::StrCat(std::max(1u, limits.cpu_shares * 100 / 1024))));
    AGORA_RETURN_IF_ERROR(set(kPids, limits.pids_max, was.pids_max, "pids.max", absl::StrCat(limits.pids_max)));
  } else {
    AGORA_RETURN_IF_ERROR(set(kMemory, limits.mem_bytes, was.mem_bytes, "memory.limit_in_bytes",
                              limits.mem_bytes > 0 ? absl::StrCat(limits.mem_bytes) : "-1"));
    AGORA_RETURN_IF_ERROR(set(kCpu, limits.cpu_shares, was.cpu_shares, "cpu.shares",
                              absl::StrCat(std::max(2u, limits.cpu_shares))));
    AGORA_RETURN_IF_ERROR(set(kPids, limits.pids_max, was.pids_max, "pids.max", absl::StrCat(limits.pids_max)));
  }
  limits_ = limits;
  return absl::OkStatus();
}

const std::string& TaskCgroup::DirOf(unsigned controller) const {
  // v1: one directory per controller, in kV1Hierarchies' order.
  return dirs_[version_ == 2 ? 0 : static_cast<size_t>(std::popcount(controllers_ & (controller - 1)))];
}

absl::Status TaskCgroup::Rename(const std::string& name) {
  if (version_ != 1) return absl::UnimplementedError("only cgroup v1 can rename a cgroup");
  for (std::string& dir : dirs_) {
    const std::string to = (fs::path(dir).parent_path() / name).string();
    if (::rename(dir.c_str(), to.c_str()) != 0) {
      return absl::InternalError(absl::StrCat("cannot rename cgroup ", dir, " to ", name, ": ", strerror(errno)));
    }
    dir = to;
  }
  procs_files_.clear();
  for (const std::string& d : dirs_) procs_files_.push_back(d + "/cgroup.procs");
  return absl::OkStatus();
}

bool TaskCgroup::Empty() {
  for (const std::string& dir : dirs_) {
    if (!KillUntilEmpty(dir)) return false;
  }
  if (version_ == 1) {
    // Zombies no one reaped yet still count against pids.max; a task that
    // left more than a little charged (files it wrote) leaves its cgroup for
    // good rather than make the next task's usage and limit start there.
    const std::string pids = (controllers_ & kPids) ? DirOf(kPids) + "/pids.current" : "";
    if (!pids.empty() && !Within100ms([&] { return ReadNumber(pids) == 0; })) return false;
    if (ReadNumber(DirOf(kMemory) + "/memory.usage_in_bytes") > kKeptChargeMax) return false;
    static const bool cpuacct_with_cpu = ::access((std::string(kRoot) + "/cpu/cpuacct.usage").c_str(), F_OK) == 0;
    if (cpuacct_with_cpu && (controllers_ & kCpu)) WriteFile(DirOf(kCpu) + "/cpuacct.usage", "0");
  }
  oom_kills_before_ += OomKills();
  return true;
}

uint64_t TaskCgroup::OomKills() const {
  if (dirs_.empty()) return 0;
  const uint64_t total = version_ == 2 ? ReadCounter(dirs_[0] + "/memory.events", "oom_kill")
                                       : ReadCounter(dirs_[0] + "/memory.oom_control", "oom_kill");
  return total > oom_kills_before_ ? total - oom_kills_before_ : 0;
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
    KillUntilEmpty(dir);
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

bool RemoveLeftoverCgroups(int version, const std::string& group) {
  std::vector<std::string> groups;
  if (version == 2) {
    groups.push_back(absl::StrCat(kRoot, "/agora/", group));
  } else if (version == 1) {
    for (const auto& [controller, hierarchy] : kV1Hierarchies) {
      groups.push_back(absl::StrCat(kRoot, "/", hierarchy, "/agora/", group));
    }
  }
  bool gone = true;
  for (const std::string& dir : groups) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (!entry.is_directory(ec)) continue;
      // Whatever is in a dead executor's cgroups is an orphan (a task's, or
      // left by a finished task whose cgroup was not emptied yet).
      KillListed(entry.path());
      ::rmdir(entry.path().c_str());  // fails while processes remain
    }
    gone = (::rmdir(dir.c_str()) == 0 || errno == ENOENT) && gone;
  }
  return gone;
}

CgroupPool::CgroupPool(std::string group) : group_(std::move(group)) {}

CgroupPool::~CgroupPool() {
  worker_.reset();  // the releases still queued are done
  for (TaskCgroup& cg : kept_) cg.Destroy();
  if (version_ != 0) TaskCgroup::RemoveGroup(version_, group_);
}

absl::StatusOr<TaskCgroup> CgroupPool::Acquire(int version, const std::string& name,
                                               const CgroupLimits& limits) {
  version_ = version;
  const unsigned controllers = TaskCgroup::ControllersFor(version, limits);
  std::optional<TaskCgroup> kept;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = kept_.rbegin(); it != kept_.rend(); ++it) {
      if (it->version_ == version && it->controllers_ == controllers) {
        kept = std::move(*it);
        kept_.erase(std::next(it).base());
        break;
      }
    }
  }
  if (kept.has_value()) {
    if (kept->Rename(name).ok() && kept->Apply(limits, /*fresh=*/false).ok()) return *std::move(kept);
    kept->Destroy();  // rare: not worth its own thread, and `name` must be free again
  }
  return TaskCgroup::Create(version, group_, name, limits);
}

size_t CgroupPool::kept() const {
  std::lock_guard<std::mutex> lock(mu_);
  return kept_.size();
}

void CgroupPool::Release(TaskCgroup cgroup) {
  if (!cgroup.valid()) return;
  // Renamed at once (v1), to a name no task id can have ('@'): the task id
  // is free for its next run, and the agent's search for a task's cgroup by
  // its id no longer finds this one. On v2 the name stays until removal.
  if (cgroup.version_ != 1 || !cgroup.Rename(absl::StrCat("@kept-", kept_seq_++)).ok()) {
    worker_->Post([cgroup = std::move(cgroup)]() mutable { cgroup.Destroy(); });
    return;
  }
  worker_->Post([this, cgroup = std::move(cgroup)]() mutable { Keep(std::move(cgroup)); });
}

void CgroupPool::Keep(TaskCgroup cgroup) {
  bool room;
  {
    std::lock_guard<std::mutex> lock(mu_);
    room = kept_.size() < kMaxKept;
  }
  if (!room || !cgroup.Empty()) {
    cgroup.Destroy();
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  kept_.push_back(std::move(cgroup));
}

}  // namespace agora::agent
