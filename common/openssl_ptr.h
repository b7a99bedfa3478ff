// Owning pointers for the OpenSSL objects Agora holds (each freed with its
// own OpenSSL function). Move-only, like std::unique_ptr.
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>

namespace agora {

template <typename T, void (*Free)(T*)>
struct OpenSslFree {
  void operator()(T* p) const { Free(p); }
};

using UniqueX509 = std::unique_ptr<X509, OpenSslFree<X509, X509_free>>;
using UniqueEvpPkey = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY, EVP_PKEY_free>>;
using UniqueEvpPkeyCtx = std::unique_ptr<EVP_PKEY_CTX, OpenSslFree<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using UniqueSslCtx = std::unique_ptr<SSL_CTX, OpenSslFree<SSL_CTX, SSL_CTX_free>>;

}  // namespace agora
