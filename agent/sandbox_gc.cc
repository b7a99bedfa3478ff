#include "agent/sandbox_gc.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>

#include "common/log.h"

namespace agora::agent {
namespace fs = std::filesystem;
namespace {

absl::Time ModifiedAt(const fs::path& p) {
  std::error_code ec;
  const auto t = fs::last_write_time(p, ec);
  if (ec) return absl::InfiniteFuture();  // unknown: keep it
  const auto since_epoch = std::chrono::file_clock::to_sys(t).time_since_epoch();
  return absl::FromUnixNanos(std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
}

// The newest write inside a sandbox (a task may write only to files for days).
absl::Time LastActivity(const fs::path& dir) {
  absl::Time newest = ModifiedAt(dir);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) newest = std::max(newest, ModifiedAt(e.path()));
  return newest;
}

double UsedShare(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0 || st.f_blocks == 0) return 0;
  return 1.0 - static_cast<double>(st.f_bavail) / static_cast<double>(st.f_blocks);
}

}  // namespace

absl::Duration AllowedSandboxAge(const SandboxGcOptions& options, double used) {
  return options.delay * std::max(0.0, 1.0 - options.disk_headroom - used);
}

int CollectSandboxes(const std::string& work_dir, const absl::flat_hash_set<std::string>& keep,
                     absl::Duration max_age, absl::Time now) {
  int removed = 0;
  std::error_code ec;
  for (const auto& fw : fs::directory_iterator(fs::path(work_dir) / "frameworks", ec)) {
    for (const char* kind : {"tasks", "executors"}) {
      std::error_code ec2;
      for (const auto& entry : fs::directory_iterator(fw.path() / kind, ec2)) {
        const std::string path = entry.path().string();
        if (!entry.is_directory(ec2) || keep.contains(path)) continue;
        if (now - LastActivity(entry.path()) < max_age) continue;
        std::error_code rm;
        fs::remove_all(entry.path(), rm);
        if (!rm) ++removed;
      }
    }
  }
  return removed;
}

SandboxGc::SandboxGc(SandboxGcOptions options)
    : options_(std::move(options)), thread_([this] { Run(); }) {}

SandboxGc::~SandboxGc() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    passes_.clear();  // a pass under way finishes; queued ones are dropped
  }
  cv_.notify_one();
  thread_.join();
}

void SandboxGc::Collect(absl::flat_hash_set<std::string> keep) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    passes_.push_back(std::move(keep));
  }
  cv_.notify_one();
}

SandboxGcStats SandboxGc::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void SandboxGc::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !passes_.empty(); });
    if (stopping_) return;
    absl::flat_hash_set<std::string> keep = std::move(passes_.front());
    passes_.pop_front();
    lock.unlock();
    const absl::Duration age = AllowedSandboxAge(options_, UsedShare(options_.work_dir));
    const int removed = CollectSandboxes(options_.work_dir, keep, age, absl::Now());
    if (removed > 0) {
      AGORA_LOG(INFO, "agent") << "removed " << removed << " sandboxes older than "
                               << absl::FormatDuration(age);
    }
    lock.lock();
    ++stats_.passes;
    stats_.removed += removed;
  }
}

}  // namespace agora::agent
