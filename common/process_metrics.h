// The process_* metrics every Prometheus client library exports, for this
// process, read from /proc/self: CPU seconds, resident and virtual memory,
// open and allowed file descriptors, start time, threads. Any thread.
#pragma once

namespace agora {

class MetricsWriter;

void WriteProcessMetrics(MetricsWriter& w);

}  // namespace agora
