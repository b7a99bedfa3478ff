// The HTTP API of agora-batch (JSON under /v1/), which the `agora job`,
// `agora queue` and `agora cron` commands speak:
//   POST   /v1/runs                 body: a YAML job file -> {run_id, jobs} | {cron}
//   GET    /v1/runs                 GET /v1/runs/ID[?jobs=0]  POST /v1/runs/ID/kill
//   GET    /v1/jobs?run=&name=&state=                      GET /v1/jobs/ID
//   POST   /v1/jobs/ID/kill         POST /v1/jobs/ID/retry
//   GET    /v1/queues               GET /v1/queues/NAME    PUT /v1/queues/NAME {policy, weight, ...}
//   GET    /v1/crons                POST /v1/crons/NAME/pause|resume   DELETE /v1/crons/NAME
// Errors are {"error": "..."} with 400 (bad input), 404 (unknown id) or 409
// (the wrong state). Runs on the framework's loop thread.
#pragma once

#include <functional>
#include <vector>

#include "common/http_endpoint.h"
#include "frameworks/batch/batch_framework.h"

namespace agora::batch {

// Returns the total resources of every agent (to reject jobs no agent could
// hold); may return nothing when the master cannot be asked.
using AgentTotals = std::function<std::vector<Resources>()>;

HttpReply ServeBatchApi(BatchFramework& framework, const AgentTotals& agents,
                        const HttpRequest& request);

}  // namespace agora::batch
