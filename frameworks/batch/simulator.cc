#include "frameworks/batch/simulator.h"

#include <algorithm>
#include <cmath>
#include <queue>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace agora::batch {

absl::StatusOr<std::vector<TraceJob>> ParseTrace(absl::string_view csv) {
  std::vector<TraceJob> trace;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(csv, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    if (line_no == 1 || (trace.empty() && line.find("arrival") != absl::string_view::npos)) {
      if (line != "arrival,duration,cpus,priority") {
        return absl::InvalidArgumentError(absl::StrCat(
            "line ", line_no, ": the header must be arrival,duration,cpus,priority"));
      }
      continue;
    }
    std::vector<absl::string_view> cells = absl::StrSplit(line, ',');
    TraceJob job;
    double* fields[4] = {&job.arrival_s, &job.duration_s, &job.cpus, &job.priority};
    if (cells.size() != 4) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_no, ": expected 4 values, found ", cells.size()));
    }
    for (int i = 0; i < 4; ++i) {
      if (!absl::SimpleAtod(absl::StripAsciiWhitespace(cells[i]), fields[i]) ||
          !std::isfinite(*fields[i]) || (i < 3 && *fields[i] < 0)) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", line_no, ": '", cells[i], "' is not a valid number"));
      }
    }
    if (job.cpus <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": cpus must be positive"));
    }
    trace.push_back(job);
  }
  std::stable_sort(trace.begin(), trace.end(),
                   [](const TraceJob& a, const TraceJob& b) { return a.arrival_s < b.arrival_s; });
  return trace;
}

namespace {

// Virtual time starts at 2020-01-01 so that queue keys stay small.
const absl::Time kEpoch = absl::FromUnixSeconds(1577836800);

class Simulation {
 public:
  Simulation(const std::vector<TraceJob>& trace, const QueueConfig& queue, int slots)
      : trace_(trace),
        total_milli_(int64_t{slots} * Resources::kScale),
        free_milli_(total_milli_) {
    queues_.Configure(queue);
    queue_name_ = queue.name;
    jobs_.resize(trace.size());
  }

  SimulationResult Run() {
    size_t next_arrival = 0;
    absl::Time now = kEpoch;
    while (next_arrival < trace_.size() || !completions_.empty()) {
      absl::Time arrival = next_arrival < trace_.size() ? At(trace_[next_arrival].arrival_s)
                                                        : absl::InfiniteFuture();
      if (!completions_.empty() && completions_.top().at <= arrival) {
        Completion c = completions_.top();
        completions_.pop();
        now = c.at;
        if (c.generation != jobs_[c.job].generation) continue;  // preempted since
        Finish(c.job, now);
      } else {
        now = arrival;
        Arrive(next_arrival++, now);
      }
      Dispatch(now);
    }
    return Summarize();
  }

 private:
  struct JobState {
    absl::Time finished;
    uint64_t generation = 0;
  };
  struct Completion {
    absl::Time at;
    size_t job;
    uint64_t generation;
    bool operator>(const Completion& o) const { return at > o.at; }
  };

  static absl::Time At(double seconds) { return kEpoch + absl::Seconds(seconds); }
  static size_t Index(const std::string& id) { return std::stoul(id); }
  Resources Ask(size_t i) const { return Resources::Scalars(trace_[i].cpus, 0, 0); }

  void Arrive(size_t i, absl::Time now) {
    const TraceJob& t = trace_[i];
    queues_.Push(QueuedJob{absl::StrCat(i), queue_name_, Ask(i), t.priority,
                           absl::Seconds(t.duration_s), now, true});
  }

  void Finish(size_t i, absl::Time now) {
    queues_.OnStopped(absl::StrCat(i));
    free_milli_ += Ask(i).cpus_milli();
    jobs_[i].finished = now;
  }

  void Dispatch(absl::Time now) {
    for (;;) {
      std::vector<const QueuedJob*> heads = queues_.Heads();
      if (heads.empty()) return;
      const QueuedJob& head = *heads.front();
      if (head.ask.cpus_milli() <= free_milli_) {
        QueuedJob job = queues_.Pop(head.queue);
        free_milli_ -= job.ask.cpus_milli();
        size_t i = Index(job.id);
        queues_.OnStarted(job, now + job.estimate);
        completions_.push({now + job.estimate, i, ++jobs_[i].generation});
        continue;
      }
      std::optional<std::string> victim = queues_.PreemptionVictim(head, now);
      if (!victim || head.ask.cpus_milli() > free_milli_ + Ask(Index(*victim)).cpus_milli()) return;
      size_t v = Index(*victim);
      absl::Duration remaining = queues_.Remaining(*victim, now);
      queues_.OnStopped(*victim);
      ++jobs_[v].generation;  // its completion event is void now
      free_milli_ += Ask(v).cpus_milli();
      ++preemptions_;
      queues_.Push(QueuedJob{*victim, queue_name_, Ask(v), trace_[v].priority, remaining,
                             At(trace_[v].arrival_s), true});
    }
  }

  SimulationResult Summarize() const {
    SimulationResult r;
    r.jobs = trace_.size();
    r.preemptions = preemptions_;
    if (trace_.empty()) return r;
    std::vector<double> waits;
    double turnaround = 0, busy = 0;
    absl::Time last = kEpoch;
    for (size_t i = 0; i < trace_.size(); ++i) {
      double t = absl::ToDoubleSeconds(jobs_[i].finished - At(trace_[i].arrival_s));
      turnaround += t;
      waits.push_back(std::max(0.0, t - trace_[i].duration_s));
      busy += trace_[i].duration_s * trace_[i].cpus;
      last = std::max(last, jobs_[i].finished);
    }
    std::sort(waits.begin(), waits.end());
    double wait_sum = 0;
    for (double w : waits) wait_sum += w;
    r.mean_wait_s = wait_sum / waits.size();
    r.p95_wait_s = waits[std::min(waits.size() - 1, static_cast<size_t>(0.95 * waits.size()))];
    r.mean_turnaround_s = turnaround / trace_.size();
    r.makespan_s = absl::ToDoubleSeconds(last - At(trace_.front().arrival_s));
    double slots = static_cast<double>(total_milli_) / Resources::kScale;
    r.utilization = r.makespan_s > 0 ? busy / (slots * r.makespan_s) : 0;
    return r;
  }

 private:
  const std::vector<TraceJob>& trace_;
  const int64_t total_milli_;
  JobQueues queues_;
  std::string queue_name_;
  int64_t free_milli_;
  std::vector<JobState> jobs_;
  std::priority_queue<Completion, std::vector<Completion>, std::greater<>> completions_;
  size_t preemptions_ = 0;
};

}  // namespace

absl::StatusOr<SimulationResult> Simulate(const std::vector<TraceJob>& trace,
                                          const QueueConfig& queue, int slots) {
  if (slots <= 0) return absl::InvalidArgumentError("slots must be positive");
  for (size_t i = 0; i < trace.size(); ++i) {
    if (trace[i].cpus > slots) {
      return absl::InvalidArgumentError(absl::StrCat("trace job ", i + 1, " asks for ",
                                                     trace[i].cpus, " cpus; there are only ",
                                                     slots, " slots"));
    }
  }
  return Simulation(trace, queue, slots).Run();
}

}  // namespace agora::batch
