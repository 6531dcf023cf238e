#include "humanoid_rt/teleop_hmac.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <stdexcept>
#include <string>

namespace humanoid_rt::teleop {

namespace {

std::string openssl_error(const char* what) {
  char text[256] = "no detail";
  if (const unsigned long code = ERR_get_error(); code != 0) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return std::string("teleop HMAC-SHA256: ") + what + " failed (OpenSSL: " + text + ")";
}

}  // namespace

Digest sha256(const std::uint8_t* data, std::size_t len) {
  Digest out{};
  unsigned int n = 0;
  if (EVP_Digest(data, len, out.data(), &n, EVP_sha256(), nullptr) != 1 || n != out.size())
    throw std::runtime_error(openssl_error("EVP_Digest(SHA256)"));
  return out;
}

HmacSha256::~HmacSha256() { EVP_MAC_CTX_free(ctx_); }

void HmacSha256::set_key(const std::uint8_t* key, std::size_t key_len) {
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (hmac == nullptr) throw std::runtime_error(openssl_error("EVP_MAC_fetch(HMAC)"));
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmac);
  EVP_MAC_free(hmac);  // the context keeps its own reference
  if (ctx == nullptr) throw std::runtime_error(openssl_error("EVP_MAC_CTX_new"));
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  static const std::uint8_t kEmpty = 0;  // OpenSSL takes an empty key only as a non-null pointer
  if (EVP_MAC_init(ctx, key_len ? key : &kEmpty, key_len, params) != 1) {
    EVP_MAC_CTX_free(ctx);
    throw std::runtime_error(openssl_error("EVP_MAC_init(key)"));
  }
  EVP_MAC_CTX_free(ctx_);
  ctx_ = ctx;
}

bool HmacSha256::mac(const std::uint8_t* data, std::size_t len, Digest& out) {
  // A null key re-initialises with the key set_key() gave (no key schedule or fetch again).
  std::size_t n = 0;
  return ctx_ != nullptr && EVP_MAC_init(ctx_, nullptr, 0, nullptr) == 1 && EVP_MAC_update(ctx_, data, len) == 1 &&
         EVP_MAC_final(ctx_, out.data(), &n, out.size()) == 1 && n == out.size();
}

Digest HmacSha256::compute(const std::uint8_t* data, std::size_t len) {
  if (ctx_ == nullptr) throw std::runtime_error("teleop HMAC-SHA256: no key set");
  Digest out{};
  if (!mac(data, len, out)) throw std::runtime_error(openssl_error("EVP_MAC update/final"));
  return out;
}

bool HmacSha256::verify(const std::uint8_t* data, std::size_t len, const std::uint8_t* tag) {
  Digest expected{};
  if (!mac(data, len, expected)) {
    ERR_clear_error();  // a failed check is a rejection, not a thread's leftover error
    return false;
  }
  return CRYPTO_memcmp(expected.data(), tag, expected.size()) == 0;
}

}  // namespace humanoid_rt::teleop
