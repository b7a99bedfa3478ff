#include "common/ids.h"

#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace agora {

namespace {
std::mt19937_64& IdRng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}
}  // namespace

std::string NewId(absl::string_view prefix) {
  // 48 random bits keep a one-letter id within std::string's inline buffer.
  return absl::StrFormat("%s-%012x", prefix, IdRng()() >> 16);
}

void SeedIdsForTesting(uint64_t seed) { IdRng().seed(seed); }

absl::Status ValidatePathSafeId(absl::string_view what, absl::string_view id) {
  if (id.empty() || id.size() > 128) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must be 1 to 128 characters"));
  }
  if (id == "." || id == "..") {
    return absl::InvalidArgumentError(absl::StrCat(what, " '", id, "' is not allowed"));
  }
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " '", id, "' may hold only letters, digits, '.', '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateName(absl::string_view what, absl::string_view name) {
  if (name.empty() || name.size() > 128) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must be 1 to 128 characters"));
  }
  if (name == "." || name == "..") {
    return absl::InvalidArgumentError(absl::StrCat(what, " '", name, "' is not allowed"));
  }
  for (char c : name) {
    if (c == '/' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " '", absl::CHexEscape(name), "' may not hold '/' or control characters"));
    }
  }
  return absl::OkStatus();
}

}  // namespace agora
