#include "common/curve.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status.h"

namespace agora {
namespace fs = std::filesystem;
namespace {

constexpr size_t kKeyLength = 40;

bool ValidKey(const std::string& z85) {
  std::array<uint8_t, 32> raw;
  return z85.size() == kKeyLength && zmq_z85_decode(raw.data(), z85.c_str()) != nullptr;
}

// The `name: value` lines of a key file; comments and blank lines skipped.
absl::StatusOr<std::map<std::string, std::string>> ReadFields(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read key file ", path));
  std::map<std::string, std::string> fields;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text[0] == '#') continue;
    std::pair<std::string, std::string> kv = absl::StrSplit(text, absl::MaxSplits(':', 1));
    std::string key(absl::StripAsciiWhitespace(kv.first));
    std::string value(absl::StripAsciiWhitespace(kv.second));
    if (key.empty() || value.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", n, ": want `name: value`, got '", text, "'"));
    }
    fields[key] = value;
  }
  return fields;
}

absl::Status WriteNewFile(const fs::path& path, const std::string& content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return errno == EEXIST
               ? absl::AlreadyExistsError(absl::StrCat(path.string(), " exists; not overwriting it"))
               : absl::InternalError(absl::StrCat("cannot create ", path.string(), ": ",
                                                  strerror(errno)));
  }
  const bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ::close(fd);
  if (!ok) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

}  // namespace

bool CurvePrincipal::MayUseRole(const std::string& role) const {
  return std::find(roles.begin(), roles.end(), "*") != roles.end() ||
         std::find(roles.begin(), roles.end(), role) != roles.end();
}

absl::StatusOr<CurvePrincipal::Kind> ParseCurveKind(const std::string& text) {
  using Kind = CurvePrincipal::Kind;
  for (Kind k : {Kind::kAny, Kind::kAgent, Kind::kFramework, Kind::kOperator}) {
    if (text == CurveKindName(k)) return k;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("kind '", text, "': want any, agent, framework or operator"));
}

const char* CurveKindName(CurvePrincipal::Kind kind) {
  switch (kind) {
    case CurvePrincipal::Kind::kAgent: return "agent";
    case CurvePrincipal::Kind::kFramework: return "framework";
    case CurvePrincipal::Kind::kOperator: return "operator";
    default: return "any";
  }
}

CurveKeyPair GenerateCurveKeyPair() {
  std::array<char, kKeyLength + 1> pub{}, sec{};
  zmq_curve_keypair(pub.data(), sec.data());
  return {pub.data(), sec.data()};
}

absl::Status WriteCurveKeyFiles(const std::string& dir, const std::string& name,
                                const CurveKeyPair& pair, const CurvePrincipal& principal) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  const fs::path key = fs::path(dir) / (name + ".key");
  const fs::path pub = fs::path(dir) / (name + ".pub");
  if (fs::exists(key) || fs::exists(pub)) {
    return absl::AlreadyExistsError(
        absl::StrCat(name, ".key or ", name, ".pub exists in ", dir, "; not overwriting keys"));
  }
  AGORA_RETURN_IF_ERROR(WriteNewFile(
      key,
      absl::StrCat("# agora secret key \"", name, "\": keep it private (agora keys generate)\n",
                   "secret: ", pair.secret_key, "\n"),
      0600));
  return WriteNewFile(
      pub,
      absl::StrCat("# agora public key \"", name, "\" (agora keys generate)\n",
                   "key: ", pair.public_key, "\n", "kind: ", CurveKindName(principal.kind), "\n",
                   "roles: ", absl::StrJoin(principal.roles, ","), "\n"),
      0644);
}

absl::StatusOr<CurveKeyPair> ReadCurveSecretKey(const std::string& path) {
  AGORA_ASSIGN_OR_RETURN(auto fields, ReadFields(path));
  auto secret = fields.find("secret");
  if (secret == fields.end() || !ValidKey(secret->second)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no valid `secret:` line (a 40-character Z85 key)"));
  }
  std::array<char, kKeyLength + 1> pub{};
  if (zmq_curve_public(pub.data(), secret->second.c_str()) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot derive the public key"));
  }
  return CurveKeyPair{pub.data(), secret->second};
}

absl::StatusOr<CurvePrincipal> ReadCurvePublicKey(const std::string& path) {
  AGORA_ASSIGN_OR_RETURN(auto fields, ReadFields(path));
  CurvePrincipal p;
  p.name = fs::path(path).stem().string();
  auto key = fields.find("key");
  if (key == fields.end() || !ValidKey(key->second)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no valid `key:` line (a 40-character Z85 key)"));
  }
  p.public_key = key->second;
  if (auto kind = fields.find("kind"); kind != fields.end()) {
    auto parsed = ParseCurveKind(kind->second);
    if (!parsed.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", parsed.status().message()));
    p.kind = *parsed;
  }
  if (auto roles = fields.find("roles"); roles != fields.end()) {
    p.roles = absl::StrSplit(roles->second, ',', absl::SkipWhitespace());
    for (std::string& r : p.roles) r = std::string(absl::StripAsciiWhitespace(r));
  }
  for (const auto& [name, value] : fields) {
    if (name != "key" && name != "kind" && name != "roles") {
      return absl::InvalidArgumentError(absl::StrCat(path, ": unknown field '", name, "'"));
    }
  }
  return p;
}

absl::StatusOr<std::vector<CurvePrincipal>> ReadCurvePublicKeys(const std::string& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return absl::NotFoundError(absl::StrCat("cannot read key directory ", dir, ": ", ec.message()));
  std::vector<std::string> paths;
  for (const auto& entry : it) {
    if (entry.path().extension() == ".pub") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<CurvePrincipal> out;
  for (const std::string& path : paths) {
    AGORA_ASSIGN_OR_RETURN(CurvePrincipal p, ReadCurvePublicKey(path));
    out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<std::optional<CurveClient>> LoadCurveClient(const std::string& secret_key_file,
                                                           const std::string& server_public_file) {
  if (secret_key_file.empty() && server_public_file.empty()) return std::nullopt;
  if (secret_key_file.empty() || server_public_file.empty()) {
    return absl::InvalidArgumentError(
        "--curve-secret-key and --master-public-key go together: give both or neither");
  }
  AGORA_ASSIGN_OR_RETURN(CurveKeyPair own, ReadCurveSecretKey(secret_key_file));
  AGORA_ASSIGN_OR_RETURN(CurvePrincipal server, ReadCurvePublicKey(server_public_file));
  return CurveClient{std::move(own), std::move(server.public_key)};
}

void ApplyCurveClient(zmq::socket_t& socket, const CurveClient& curve) {
  socket.set(zmq::sockopt::curve_serverkey, curve.server_public_key);
  socket.set(zmq::sockopt::curve_publickey, curve.own.public_key);
  socket.set(zmq::sockopt::curve_secretkey, curve.own.secret_key);
}

void ApplyCurveServer(zmq::socket_t& socket, const std::string& secret_key) {
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, secret_key);
}

}  // namespace agora
