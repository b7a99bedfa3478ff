// `agora job validate|plan FILE` and `agora service validate|plan|diff FILE`:
// a spec file checked and explained before it is submitted. Validation is
// offline: the frameworks' own parsers, linked in, give the same errors the
// daemons would, located in the file ("etl.yaml:12:5: jobs[1].resources.cpus:
// ..."). A plan adds what the cluster says when it can be asked (the agents'
// sizes; the services deployed) and says so when it cannot; a diff needs
// agora-services.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "frameworks/sdk/master_client.h"

namespace agora::tools {

class FrameworkClient;

// `message` with "FILE:" before a "LINE:COL: " that a spec parser put first.
std::string InFile(const std::string& file, absl::string_view message);

// Exit codes: 0 valid (plan: and fits), 1 invalid or does not fit, 2 the file
// cannot be read. diff: 0 no difference, 1 differences, 2 an error, as
// `kubectl diff` and diff(1).
int ValidateJobFile(const std::string& file, bool json);
int PlanJobFile(const std::string& file, sdk::MasterClient& master, bool json);
int ValidateServiceFile(const std::string& file, bool json);
int PlanServiceFile(const std::string& file, FrameworkClient& api, sdk::MasterClient& master, bool json);
int DiffServiceFile(const std::string& file, FrameworkClient& api);

}  // namespace agora::tools
