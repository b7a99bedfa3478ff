#include "common/tls_identity.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"

namespace agora {

absl::StatusOr<TlsIdentity> MakeSelfSignedIdentity(const std::string& common_name) {
  TlsIdentity id;
  id.key.reset(EVP_EC_gen("P-256"));
  id.cert.reset(X509_new());
  if (!id.key || !id.cert) return absl::InternalError("cannot make a TLS key");
  // X.509 caps a common name at 64 characters; clients pin, and ignore it.
  const std::string cn = common_name.empty() ? "agora" : common_name.substr(0, 64);
  X509* cert = id.cert.get();
  uint8_t serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;  // a positive serial number
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  const bool ok =
      X509_set_version(cert, 2) == 1 && bn != nullptr &&
      BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr &&
      X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != nullptr &&
      X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 24 * 3600) != nullptr &&
      X509_set_pubkey(cert, id.key.get()) == 1 &&
      X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const uint8_t*>(cn.c_str()), -1, -1,
                                 0) == 1 &&
      X509_set_issuer_name(cert, X509_get_subject_name(cert)) == 1 &&
      X509_sign(cert, id.key.get(), EVP_sha256()) > 0;
  BN_free(bn);
  if (!ok) return absl::InternalError("cannot sign a TLS certificate");
  id.sha256 = CertificateSha256(cert);
  return id;
}

std::string CertificateSha256(X509* cert) {
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  if (cert == nullptr || X509_digest(cert, EVP_sha256(), digest, &length) != 1) return "";
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), length));
}

void PinCertificate(SSL_CTX* ctx, const std::string* sha256) {
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(
      ctx,
      [](X509_STORE_CTX* store, void* pin) -> int {
        const std::string& expected = *static_cast<const std::string*>(pin);
        const bool match = !expected.empty() && CertificateSha256(X509_STORE_CTX_get0_cert(store)) == expected;
        if (!match) X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return match ? 1 : 0;
      },
      const_cast<std::string*>(sha256));
}

}  // namespace agora
