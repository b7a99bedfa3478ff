// What an agent offers: detected resources with operator overrides, and its
// attributes. Detection follows DESIGN.md: all cpus; memory minus 1 GiB (half
// when under 2 GiB); the free space of the work dir's file system minus 5 GiB
// (half when under 10 GiB); ports 31000-32000.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "agora/resources.h"
#include "agora/task.h"

namespace agora::agent {

Resources DetectResources(const std::string& work_dir);

// Applies "cpus:4;mem:8192;..." over `detected`: named resources replace the
// detected ones, unnamed ones stay.
absl::StatusOr<Resources> ApplyResourceOverrides(const Resources& detected,
                                                 const std::string& overrides);

// Parses "zone:a;rack:r1" into ordered key/value pairs. Keys must be unique
// and non-empty.
absl::StatusOr<Env> ParseAttributes(const std::string& text);

// The IP address others reach this machine's tasks at: the local address of
// the route to the master (`tcp://HOST:PORT`); else what `hostname` resolves
// to; else 127.0.0.1. Never a wildcard.
std::string DetectAdvertiseAddress(const std::string& master_endpoint, const std::string& hostname);

}  // namespace agora::agent
