// The operator listings: `agora agents|frameworks|tasks|offers [--json]`.
// Each asks the master and prints a table, or the master's JSON as is.
#pragma once

#include <string>

#include "tools/master_client.h"

namespace agora::tools {

// Returns the process exit code: 0 shown, 1 the master failed to answer.
int PrintListing(MasterClient& client, const std::string& noun, bool json);

}  // namespace agora::tools
