#include "master/master_keys.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace agora::master {

absl::StatusOr<MasterKeys> LoadMasterKeys(const std::string& secret_key_file,
                                          const std::string& trusted_dir,
                                          const std::string& operator_dir) {
  MasterKeys keys;
  AGORA_ASSIGN_OR_RETURN(keys.own, ReadCurveSecretKey(secret_key_file));
  AGORA_ASSIGN_OR_RETURN(keys.principals, ReadCurvePublicKeys(trusted_dir));
  for (const CurvePrincipal& p : keys.principals) {
    if (p.kind == CurvePrincipal::Kind::kOperator) {
      return absl::InvalidArgumentError(absl::StrCat(
          trusted_dir, "/", p.name, ".pub is an operator key: put it in --operator-keys"));
    }
  }
  if (!operator_dir.empty()) {
    AGORA_ASSIGN_OR_RETURN(std::vector<CurvePrincipal> operators, ReadCurvePublicKeys(operator_dir));
    for (CurvePrincipal& p : operators) {
      p.kind = CurvePrincipal::Kind::kOperator;
      keys.principals.push_back(std::move(p));
    }
  }
  if (keys.principals.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no .pub files in ", trusted_dir, ": a secured master with no trusted key admits nobody"));
  }
  return keys;
}

}  // namespace agora::master
