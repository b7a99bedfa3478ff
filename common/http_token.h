// Bearer tokens for a secured cluster's HTTP. The master vouches for a
// principal it authenticated over CurveZMQ: it issues a short-lived token
// naming the holder, its kind and one audience (the daemon whose HTTP it is
// for); the audience checks it with keys it already holds, its own CurveZMQ
// secret and the master's public key, and nothing else.
//
// The token's MAC key is the X25519 agreement of the master's secret and the
// audience's public key (equal to that of the audience's secret and the
// master's public key), hashed with a label: only the master and that one
// audience can make or check it, so a token shown to one daemon is worth
// nothing at another. Tokens are not secret-free: they ride over TLS only.
//
// Text: "agora1." base64url(payload) "." base64url(HMAC-SHA256(payload)),
// payload "holder\nkind\naudience-public-key-z85\nexpires-unix-seconds".
//
// Example:
//   HttpTokenIssuer issuer(master_keys);
//   std::string token = issuer.Issue(alice, agent_public_key, absl::Now() + absl::Minutes(5));
//   auto verifier = HttpTokenVerifier::Create(agent_keys, master_public_key);
//   absl::StatusOr<HttpGrant> grant = verifier->Verify(token, absl::Now());
// Both classes are immutable after construction and thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/curve.h"

namespace agora {

// Who a verified token speaks for.
struct HttpGrant {
  std::string holder;  // the principal's name (its key file's name)
  CurvePrincipal::Kind kind = CurvePrincipal::Kind::kAny;
  absl::Time expires;
};

class HttpTokenIssuer {
 public:
  explicit HttpTokenIssuer(CurveKeyPair master) : master_(std::move(master)) {}
  // InvalidArgument when `audience_public_key` is not a Z85 Curve key.
  absl::StatusOr<std::string> Issue(const CurvePrincipal& holder,
                                    const std::string& audience_public_key, absl::Time expires) const;

 private:
  CurveKeyPair master_;
};

class HttpTokenVerifier {
 public:
  // `own`: the verifying daemon's keys; `master_public_key`: Z85.
  static absl::StatusOr<HttpTokenVerifier> Create(const CurveKeyPair& own,
                                                  const std::string& master_public_key);
  // Unauthenticated, with the reason (malformed, not for this daemon, forged,
  // expired), for anything but a genuine unexpired token for this daemon.
  absl::StatusOr<HttpGrant> Verify(absl::string_view token, absl::Time now) const;

 private:
  HttpTokenVerifier(std::string key, std::string audience)
      : key_(std::move(key)), audience_(std::move(audience)) {}
  std::string key_;       // the MAC key shared with the master
  std::string audience_;  // this daemon's public key, Z85
};

}  // namespace agora
