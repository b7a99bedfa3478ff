// HTTPS without a certificate authority. A secured daemon makes a self-signed
// certificate when it starts (ECDSA P-256, in memory only) and announces the
// certificate's SHA-256 fingerprint to the master over CurveZMQ; a client
// learns the fingerprint from the master over the same authenticated channel
// and accepts that one certificate and no other (pinning), so a man in the
// middle needs the master's trust, not a CA's.
//
// Example:
//   auto identity = MakeSelfSignedIdentity("agent1");
//   SSL_CTX_use_certificate(ctx, identity->cert.get()); ...
//   PinCertificate(client.ssl_context(), &identity->sha256);
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/openssl_ptr.h"

namespace agora {

struct TlsIdentity {
  UniqueX509 cert;
  UniqueEvpPkey key;
  std::string sha256;  // of the certificate's DER, lowercase hex
};

// Valid from an hour ago for ten years; `common_name` names the daemon (its
// first 64 characters).
absl::StatusOr<TlsIdentity> MakeSelfSignedIdentity(const std::string& common_name);

// Lowercase hex SHA-256 of the certificate's DER encoding.
std::string CertificateSha256(X509* cert);

// Makes every connection of `ctx` (a client's) accept only the certificate
// whose fingerprint is `*sha256`; `sha256` must outlive `ctx`'s handshakes.
void PinCertificate(SSL_CTX* ctx, const std::string* sha256);

}  // namespace agora
