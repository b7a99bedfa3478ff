#include "common/http_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <zmq.h>

#include <memory>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/openssl_ptr.h"

namespace agora {
namespace {

constexpr absl::string_view kPrefix = "agora1.";
constexpr size_t kMaxTokenBytes = 1024;

absl::StatusOr<std::string> DecodeKey(const std::string& z85) {
  std::string raw(32, '\0');
  if (z85.size() != 40 || zmq_z85_decode(reinterpret_cast<uint8_t*>(raw.data()), z85.c_str()) == nullptr) {
    return absl::InvalidArgumentError("not a Z85 Curve key");
  }
  return raw;
}

// The key both ends of (secret, public) agree on: X25519, hashed with a label
// so that it serves HTTP tokens only.
absl::StatusOr<std::string> MacKey(const std::string& own_secret, const std::string& their_public) {
  auto secret = DecodeKey(own_secret);
  auto pub = DecodeKey(their_public);
  if (!secret.ok()) return secret.status();
  if (!pub.ok()) return pub.status();
  UniqueEvpPkey own(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_X25519, nullptr, reinterpret_cast<const uint8_t*>(secret->data()), 32));
  UniqueEvpPkey peer(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_X25519, nullptr, reinterpret_cast<const uint8_t*>(pub->data()), 32));
  if (!own || !peer) return absl::InternalError("X25519 is not available");
  UniqueEvpPkeyCtx ctx(EVP_PKEY_CTX_new(own.get(), nullptr));
  uint8_t shared[32];
  size_t length = sizeof(shared);
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), shared, &length) != 1 || length != sizeof(shared)) {
    return absl::InvalidArgumentError("the keys do not agree (a low-order public key?)");
  }
  const std::string labelled = absl::StrCat("agora http token v1\n",
                                            absl::string_view(reinterpret_cast<char*>(shared), 32));
  OPENSSL_cleanse(shared, sizeof(shared));
  std::string key(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const uint8_t*>(labelled.data()), labelled.size(),
         reinterpret_cast<uint8_t*>(key.data()));
  return key;
}

std::string Mac(const std::string& key, absl::string_view payload) {
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const uint8_t*>(payload.data()), payload.size(), out, &length);
  return std::string(reinterpret_cast<char*>(out), length);
}

}  // namespace

absl::StatusOr<std::string> HttpTokenIssuer::Issue(const CurvePrincipal& holder,
                                                   const std::string& audience_public_key,
                                                   absl::Time expires) const {
  auto key = MacKey(master_.secret_key, audience_public_key);
  if (!key.ok()) return key.status();
  const std::string payload = absl::StrCat(holder.name, "\n", CurveKindName(holder.kind), "\n",
                                           audience_public_key, "\n", absl::ToUnixSeconds(expires));
  return absl::StrCat(kPrefix, absl::WebSafeBase64Escape(payload), ".",
                      absl::WebSafeBase64Escape(Mac(*key, payload)));
}

absl::StatusOr<HttpTokenVerifier> HttpTokenVerifier::Create(const CurveKeyPair& own,
                                                            const std::string& master_public_key) {
  auto key = MacKey(own.secret_key, master_public_key);
  if (!key.ok()) return key.status();
  return HttpTokenVerifier(*std::move(key), own.public_key);
}

absl::StatusOr<HttpGrant> HttpTokenVerifier::Verify(absl::string_view token, absl::Time now) const {
  auto refuse = [](absl::string_view why) {
    return absl::UnauthenticatedError(absl::StrCat("the bearer token ", why));
  };
  if (token.size() > kMaxTokenBytes || !absl::ConsumePrefix(&token, kPrefix)) {
    return refuse("is not an Agora token");
  }
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  std::string payload, mac;
  if (parts.size() != 2 || !absl::WebSafeBase64Unescape(parts[0], &payload) ||
      !absl::WebSafeBase64Unescape(parts[1], &mac)) {
    return refuse("is malformed");
  }
  const std::string expected = Mac(key_, payload);
  if (mac.size() != expected.size() || CRYPTO_memcmp(mac.data(), expected.data(), mac.size()) != 0) {
    return refuse("was not issued by this cluster's master for this daemon");
  }
  // Genuine from here on: the master wrote what follows.
  std::vector<std::string> fields = absl::StrSplit(payload, '\n');
  int64_t expires = 0;
  auto kind = fields.size() == 4 ? ParseCurveKind(fields[1]) : absl::InvalidArgumentError("fields");
  if (!kind.ok() || !absl::SimpleAtoi(fields[3], &expires)) return refuse("is malformed");
  if (fields[2] != audience_) return refuse("is for another daemon");
  if (absl::FromUnixSeconds(expires) <= now) return refuse("has expired: ask the master for another");
  return HttpGrant{fields[0], *kind, absl::FromUnixSeconds(expires)};
}

}  // namespace agora
