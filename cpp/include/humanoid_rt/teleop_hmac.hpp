// HMAC-SHA256 (RFC 2104) of the teleop tags, computed by OpenSSL's libcrypto (EVP_MAC "HMAC").
//
// One HmacSha256 holds one keyed EVP_MAC_CTX, set up once (set_key: fetches the algorithm and
// absorbs the key) and re-initialised per message with the same key, so a packet costs its own
// bytes plus the two pad blocks, and no key handling or algorithm lookup. Measured on OpenSSL 3.0:
// re-initialising still makes 2 small heap allocations per message inside libcrypto (the digest
// state is duplicated with malloc, not operator new); they happen on the teleop receiver's thread
// (or the caller's), never on the control loop's. Tag comparison is constant time (CRYPTO_memcmp).
//
// Threads: an HmacSha256 is used by one thread at a time (compute and verify change the context);
// the receiver owns its own. sha256() is a pure function, any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

typedef struct evp_mac_ctx_st EVP_MAC_CTX;  // <openssl/types.h>, without pulling OpenSSL into every includer

namespace humanoid_rt::teleop {

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(const std::uint8_t* data, std::size_t len);

class HmacSha256 {
 public:
  HmacSha256() = default;
  HmacSha256(const std::uint8_t* key, std::size_t key_len) { set_key(key, key_len); }
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;

  // Non-RT: keys the context (any length; RFC 2104 hashes keys over 64 bytes). Throws
  // std::runtime_error naming OpenSSL's error when libcrypto cannot provide HMAC-SHA256.
  void set_key(const std::uint8_t* key, std::size_t key_len);
  // Throws std::runtime_error when no key is set or libcrypto fails.
  Digest compute(const std::uint8_t* data, std::size_t len);
  // Constant-time comparison of compute(data) with tag (32 bytes); false when libcrypto fails.
  bool verify(const std::uint8_t* data, std::size_t len, const std::uint8_t* tag);

 private:
  bool mac(const std::uint8_t* data, std::size_t len, Digest& out);
  EVP_MAC_CTX* ctx_ = nullptr;  // owned; keyed by set_key()
};

}  // namespace humanoid_rt::teleop
