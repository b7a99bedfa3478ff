#include "common/version.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/json_text.h"

namespace agora {

std::string VersionLine(absl::string_view program) {
  return absl::StrCat(program, " ", kVersion, " (commit ", kCommit, ")");
}

std::string VersionJson(absl::string_view program) {
  return JsonText(nlohmann::json{{"name", std::string(program)}, {"version", std::string(kVersion)}, {"commit", std::string(kCommit)}});
}

}  // namespace agora
