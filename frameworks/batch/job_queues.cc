#include "frameworks/batch/job_queues.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace agora::batch {

absl::string_view PolicyName(Policy p) {
  switch (p) {
    case Policy::kFcfs: return "fcfs";
    case Policy::kSjf: return "sjf";
    case Policy::kSrtf: return "srtf";
    case Policy::kPriority: return "priority";
  }
  return "?";
}

absl::StatusOr<Policy> ParsePolicy(absl::string_view name) {
  for (Policy p : {Policy::kFcfs, Policy::kSjf, Policy::kSrtf, Policy::kPriority}) {
    if (PolicyName(p) == name) return p;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("policy '", name, "' is not one of fcfs, sjf, srtf, priority"));
}

double PriorityScore(const QueueConfig& q, double priority) {
  return 1.0 / (1.0 + std::exp(-q.logistic_k * (priority - q.logistic_x0)));
}

double JobQueues::OrderKey(const QueueConfig& c, const QueuedJob& job) const {
  // Seconds since 2020: small enough that aging keeps double precision.
  const double submitted_s =
      absl::ToDoubleSeconds(job.submitted - absl::FromUnixSeconds(1577836800));
  switch (c.policy) {
    case Policy::kFcfs: return submitted_s;
    case Policy::kSjf:
    case Policy::kSrtf: return absl::ToDoubleSeconds(job.estimate);
    case Policy::kPriority: return -(PriorityScore(c, job.priority) - c.aging_per_s * submitted_s);
  }
  return 0;
}

JobQueues::Queue& JobQueues::GetQueue(const std::string& name) {
  auto [it, inserted] = queues_.try_emplace(name);
  if (inserted) it->second.config.name = name;
  return it->second;
}

void JobQueues::Configure(const QueueConfig& config) {
  Queue& q = GetQueue(config.name);
  q.config = config;
  absl::btree_set<Key> order;
  for (const Key& k : q.order) {
    Key nk{OrderKey(config, q.jobs.at(k.second)), k.second};
    order.insert(nk);
    where_[q.jobs.at(k.second).id].key = nk;
  }
  q.order = std::move(order);
}

const QueueConfig& JobQueues::Config(const std::string& queue) { return GetQueue(queue).config; }

std::vector<QueueConfig> JobQueues::Configs() const {
  std::vector<QueueConfig> out;
  for (const auto& [name, q] : queues_) out.push_back(q.config);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

void JobQueues::Push(QueuedJob job) {
  Remove(job.id);
  Queue& q = GetQueue(job.queue);
  Key key{OrderKey(q.config, job), next_seq_++};
  where_[job.id] = Where{job.queue, key};
  q.order.insert(key);
  q.jobs.emplace(key.second, std::move(job));
}

bool JobQueues::Remove(const std::string& id) {
  auto it = where_.find(id);
  if (it == where_.end()) return false;
  Queue& q = queues_.at(it->second.queue);
  q.order.erase(it->second.key);
  q.jobs.erase(it->second.key.second);
  where_.erase(it);
  return true;
}

std::vector<const QueuedJob*> JobQueues::Heads() const {
  std::vector<const Queue*> ready;
  for (const auto& [name, q] : queues_) {
    if (!q.order.empty()) ready.push_back(&q);
  }
  std::sort(ready.begin(), ready.end(), [](const Queue* a, const Queue* b) {
    double sa = a->running_cpus / a->config.weight, sb = b->running_cpus / b->config.weight;
    return sa != sb ? sa < sb : a->config.name < b->config.name;
  });
  std::vector<const QueuedJob*> heads;
  for (const Queue* q : ready) heads.push_back(&q->jobs.at(q->order.begin()->second));
  return heads;
}

QueuedJob JobQueues::Pop(const std::string& queue) {
  Queue& q = queues_.at(queue);
  uint64_t seq = q.order.begin()->second;
  q.order.erase(q.order.begin());
  auto node = q.jobs.extract(seq);
  where_.erase(node.mapped().id);
  return std::move(node.mapped());
}

void JobQueues::OnStarted(const QueuedJob& job, absl::Time expected_end) {
  Queue& q = GetQueue(job.queue);
  q.running_cpus += job.ask.cpus_milli();
  if (job.preemptible) q.running_by_end.insert({expected_end, job.id});
  running_[job.id] = Running{job.queue, job.ask.cpus_milli(), expected_end, job.ask, job.preemptible};
}

void JobQueues::OnStopped(const std::string& id) {
  auto it = running_.find(id);
  if (it == running_.end()) return;
  Queue& q = GetQueue(it->second.queue);
  q.running_cpus -= it->second.cpus;
  q.running_by_end.erase({it->second.expected_end, id});
  running_.erase(it);
}

std::optional<std::string> JobQueues::PreemptionVictim(const QueuedJob& head, absl::Time now) const {
  auto q = queues_.find(head.queue);
  if (q == queues_.end() || q->second.config.policy != Policy::kSrtf) return std::nullopt;
  // Longest remaining first; a few that are too small to make room are skipped.
  int looked = 0;
  for (auto it = q->second.running_by_end.rbegin();
       it != q->second.running_by_end.rend() && looked < 16; ++it, ++looked) {
    if (it->first - now <= head.estimate) return std::nullopt;
    if (running_.at(it->second).ask.Contains(head.ask)) return it->second;
  }
  return std::nullopt;
}

absl::Duration JobQueues::Remaining(const std::string& id, absl::Time now) const {
  auto it = running_.find(id);
  if (it == running_.end()) return absl::ZeroDuration();
  return std::max(absl::ZeroDuration(), it->second.expected_end - now);
}

size_t JobQueues::waiting(const std::string& queue) const {
  auto it = queues_.find(queue);
  return it == queues_.end() ? 0 : it->second.order.size();
}

int64_t JobQueues::running_cpus_milli(const std::string& queue) const {
  auto it = queues_.find(queue);
  return it == queues_.end() ? 0 : it->second.running_cpus;
}

}  // namespace agora::batch
