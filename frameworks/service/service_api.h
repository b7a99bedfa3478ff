// The HTTP API of agora-services (JSON under /v1/), which `agora service`
// speaks:
//   POST /v1/services                 body: a YAML service file -> {"services": {name: version}}
//   GET  /v1/services                 GET /v1/services/NAME
//   GET  /v1/services/NAME/endpoints[?port=NAME]   GET /v1/services/NAME/history
//   PUT  /v1/services/NAME/scale      {"instances": N}
//   POST /v1/services/NAME/restart    POST /v1/services/NAME/rollback[?to=VERSION]
//   POST /v1/services/delete          {"names": [...]}  (dependants first)
// Errors are {"error": "..."} with 400, 404 or 409. Runs on the loop thread.
#pragma once

#include <functional>
#include <vector>

#include "common/http_endpoint.h"
#include "frameworks/service/service_framework.h"

namespace agora::service {

HttpReply ServeServiceApi(ServiceFramework& framework,
                          const std::function<std::vector<Resources>()>& agents,
                          const HttpRequest& request);

}  // namespace agora::service
