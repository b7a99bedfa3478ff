// MetricsWriter builds a Prometheus text-format exposition (version 0.0.4):
// each family gets its HELP and TYPE lines, then its samples.
//
// Example:
//   MetricsWriter w;
//   w.Family("agora_tasks", "gauge", "Tasks by state.");
//   w.Sample("agora_tasks", 3, "state=\"running\"");
//   w.One("agora_messages_total", "counter", "Messages handled.", 42);
//   w.Latency("agora_registry_commit_seconds", "Registry commits.", histogram);
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/histogram.h"
#include "agora/task.h"

namespace agora {

class MetricsWriter {
 public:
  void Family(absl::string_view name, absl::string_view type, absl::string_view help) {
    absl::StrAppend(&out_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
  }
  // `labels` is the inside of the braces, e.g. `state="running"`.
  void Sample(absl::string_view name, double value, absl::string_view labels = "") {
    absl::StrAppend(&out_, name, labels.empty() ? "" : absl::StrCat("{", labels, "}"), " ",
                    absl::StrFormat("%.17g", value), "\n");
  }
  void One(absl::string_view name, absl::string_view type, absl::string_view help, double value) {
    Family(name, type, help);
    Sample(name, value);
  }
  struct Counter {
    absl::string_view name;
    absl::string_view help;
    uint64_t value;
  };
  void Counters(std::initializer_list<Counter> counters) {
    for (const Counter& c : counters) One(c.name, "counter", c.help, double(c.value));
  }
  // One gauge family labelled by task state; `counts[i]` counts TaskState(i).
  void ByTaskState(absl::string_view name, absl::string_view help,
                   const std::array<size_t, kTaskStateCount>& counts) {
    Family(name, "gauge", help);
    for (int s = 0; s < kTaskStateCount; ++s) {
      Sample(name, double(counts[s]),
             absl::StrCat("state=\"", TaskStateName(static_cast<TaskState>(s)), "\""));
    }
  }
  // Frames received, dropped by reason, sent and not sent, for one socket.
  template <typename SocketStats>
  void Socket(absl::string_view prefix, const SocketStats& s) {
    One(absl::StrCat(prefix, "_frames_received_total"), "counter", "Frames received.",
        double(s.frames.received));
    const std::string dropped = absl::StrCat(prefix, "_frames_dropped_total");
    Family(dropped, "counter", "Malformed frames dropped, by reason.");
    Sample(dropped, double(s.frames.bad_size), "reason=\"size\"");
    Sample(dropped, double(s.frames.bad_content), "reason=\"content\"");
    Sample(dropped, double(s.frames.bad_version), "reason=\"version\"");
    Sample(dropped, double(s.bad_multipart), "reason=\"multipart\"");
    One(absl::StrCat(prefix, "_frames_sent_total"), "counter", "Frames sent.", double(s.sent));
    One(absl::StrCat(prefix, "_frames_send_dropped_total"), "counter",
        "Frames not sent (peer gone or queue full).", double(s.send_dropped));
    const std::string handshakes = absl::StrCat(prefix, "_handshakes_failed_total");
    Family(handshakes, "counter", "CURVE handshakes that failed, by reason.");
    Sample(handshakes, double(s.handshakes_refused), "reason=\"key_refused\"");
    Sample(handshakes, double(s.handshakes_failed), "reason=\"protocol\"");
  }
  // One histogram family (common/histogram.h).
  void Latency(absl::string_view name, absl::string_view help, const Histogram& h) {
    Family(name, "histogram", help);
    LatencySamples(name, "", h);
  }
  // One histogram family, a histogram per set of labels.
  void Latencies(absl::string_view name, absl::string_view help, const HistogramVec& v) {
    Family(name, "histogram", help);
    v.ForEach([&](const std::string& labels, const Histogram& h) { LatencySamples(name, labels, h); });
  }
  std::string Take() { return std::move(out_); }

 private:
  void LatencySamples(absl::string_view name, absl::string_view labels, const Histogram& h) {
    const Histogram::Reading r = h.Read();
    const std::string bucket = absl::StrCat(name, "_bucket");
    const std::string sep = labels.empty() ? "" : ",";
    for (int i = 0; i < Histogram::kBuckets; ++i) {
      Sample(bucket, double(r.cumulative[i]),
             absl::StrCat(labels, sep, absl::StrFormat("le=\"%g\"", Histogram::UpperBound(i))));
    }
    Sample(bucket, double(r.cumulative[Histogram::kBuckets]), absl::StrCat(labels, sep, "le=\"+Inf\""));
    Sample(absl::StrCat(name, "_sum"), r.sum_seconds, labels);
    Sample(absl::StrCat(name, "_count"), double(r.cumulative[Histogram::kBuckets]), labels);
  }

  std::string out_;
};

}  // namespace agora
