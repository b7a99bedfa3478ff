// The ids and names shell completion offers for a command's argument, asked
// of the live cluster: agents, tasks, frameworks, roles and offers of the
// master; jobs, runs and schedules of agora-batch; services of
// agora-services. Every question has a short deadline: a cluster that does
// not answer completes nothing rather than hang the shell.
#pragma once

#include <string>
#include <vector>

#include "tools/completion.h"

namespace agora::tools {

// The candidates for a command line of `words` (the master from its
// --master, else $AGORA_MASTER, else the local one; keys from the
// environment, as the CLI takes them).
LiveCandidates ClusterCandidates(const std::vector<std::string>& words);

}  // namespace agora::tools
