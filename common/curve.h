// CurveZMQ keys: making them, the key files, and the socket options that turn
// encryption and authentication on (ZeroMQ's CURVE mechanism, libsodium
// underneath). Keys are Z85 text, 40 characters.
//
// Files (written by `agora keys generate NAME --dir DIR`):
//   DIR/NAME.key   the secret key, mode 0600:   secret: <Z85>
//   DIR/NAME.pub   the public key and what its holder may do:
//                    key: <Z85>
//                    kind: any | agent | framework | operator   (default any:
//                          agent or framework)
//                    roles: batch,services   (frameworks: the roles it may
//                          subscribe with; default * = any role)
// Lines starting with # are comments. A master trusts every .pub file of its
// --trusted_keys and --operator_keys directories (see ZapAuthenticator).
//
// Example:
//   auto pair = GenerateCurveKeyPair();
//   WriteCurveKeyFiles("/etc/agora/keys", "agent1", pair, {});
//   auto secret = ReadCurveSecretKey("/etc/agora/keys/agent1.key");
//   ApplyCurveClient(socket, {*secret, master_public_key});
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "absl/status/statusor.h"

namespace agora {

struct CurveKeyPair {
  std::string public_key;  // Z85
  std::string secret_key;  // Z85
};

// What the holder of a public key may do at the master.
struct CurvePrincipal {
  enum class Kind { kAny, kAgent, kFramework, kOperator };
  std::string name;  // the file's name without .pub: the principal's name in logs
  std::string public_key;
  Kind kind = Kind::kAny;
  std::vector<std::string> roles = {"*"};  // frameworks: roles it may subscribe with

  bool MayActAsAgent() const { return kind == Kind::kAny || kind == Kind::kAgent; }
  bool MayActAsFramework() const { return kind == Kind::kAny || kind == Kind::kFramework; }
  bool MayUseRole(const std::string& role) const;
};
absl::StatusOr<CurvePrincipal::Kind> ParseCurveKind(const std::string& text);
const char* CurveKindName(CurvePrincipal::Kind kind);

CurveKeyPair GenerateCurveKeyPair();

// Writes DIR/NAME.key (0600) and DIR/NAME.pub; refuses to overwrite either.
// `principal` gives the .pub file's kind and roles (its key is `pair`'s).
absl::Status WriteCurveKeyFiles(const std::string& dir, const std::string& name,
                                const CurveKeyPair& pair, const CurvePrincipal& principal);

// Reads a .key file; the public half is derived from the secret.
absl::StatusOr<CurveKeyPair> ReadCurveSecretKey(const std::string& path);
// Reads a .pub file (its name, without .pub, names the principal).
absl::StatusOr<CurvePrincipal> ReadCurvePublicKey(const std::string& path);
// Every .pub file of `dir`; an error names the first bad file.
absl::StatusOr<std::vector<CurvePrincipal>> ReadCurvePublicKeys(const std::string& dir);

// A client of a secured server: its own keys and the server's public key.
struct CurveClient {
  CurveKeyPair own;
  std::string server_public_key;
};
// Reads --curve_secret_key and --master_public_key: both or neither (nullopt).
absl::StatusOr<std::optional<CurveClient>> LoadCurveClient(const std::string& secret_key_file,
                                                           const std::string& server_public_file);

// Socket options; set before connect() / bind().
void ApplyCurveClient(zmq::socket_t& socket, const CurveClient& curve);
void ApplyCurveServer(zmq::socket_t& socket, const std::string& secret_key);

}  // namespace agora
