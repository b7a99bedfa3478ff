// The master's CurveZMQ keys: its own secret key, and the principals it
// admits, read from --trusted_keys (agents and frameworks, with their kinds
// and roles) and --operator_keys (operators, whatever their files say).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/curve.h"

namespace agora::master {

struct MasterKeys {
  CurveKeyPair own;
  std::vector<CurvePrincipal> principals;
};

// `operator_dir` may be empty. Errors name the file or the clash (an
// operator key in the trusted directory, a name in both).
absl::StatusOr<MasterKeys> LoadMasterKeys(const std::string& secret_key_file,
                                          const std::string& trusted_dir,
                                          const std::string& operator_dir);

}  // namespace agora::master
