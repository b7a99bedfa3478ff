#include "common/http_client.h"

#include "common/tls_identity.h"

namespace agora {

HttpClient::HttpClient(HttpAccess access, absl::Duration timeout)
    : access_(std::make_unique<HttpAccess>(std::move(access))),
      client_(std::make_unique<httplib::Client>(access_->url)) {
  const auto seconds = absl::ToInt64Seconds(timeout);
  const auto micros = absl::ToInt64Microseconds(timeout - absl::Seconds(seconds));
  client_->set_connection_timeout(seconds, micros);
  client_->set_read_timeout(seconds, micros);
  client_->set_write_timeout(seconds, micros);
  if (SSL_CTX* ctx = client_->ssl_context(); ctx != nullptr) {
    // Not a CA's word: the fingerprint the master vouched for, and no other.
    client_->enable_server_certificate_verification(false);
    PinCertificate(ctx, &access_->cert_sha256);
  }
  if (!access_->token.empty()) client_->set_bearer_token_auth(access_->token);
}

}  // namespace agora
