// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), self-contained.
//
// Why not OpenSSL's libcrypto: the runtime builds from a fresh clone with no
// development packages beyond a compiler (.ci/run installs none), and a
// teleop receiver needs exactly one primitive at 1-2 kB per packet. This file
// is checked against hashlib/hmac and the RFC 4231 vectors in
// tests/test_teleop_protocol.py. Tag comparison is constant time.
//
// Threads: pure functions and value types; any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace humanoid_rt::teleop {

using Digest = std::array<std::uint8_t, 32>;

class Sha256 {
 public:
  Sha256() { reset(); }
  void reset();
  void update(const std::uint8_t* data, std::size_t len);
  Digest finish();  // the object must be reset() before reuse

 private:
  void block(const std::uint8_t* p);
  std::uint32_t h_[8];
  std::uint8_t buffer_[64];
  std::size_t buffered_ = 0;
  std::uint64_t total_ = 0;
};

Digest sha256(const std::uint8_t* data, std::size_t len);

// HMAC with a precomputed key schedule: the inner and outer states after the
// padded key block, so each packet costs its own length plus two blocks.
class HmacSha256 {
 public:
  HmacSha256() = default;
  HmacSha256(const std::uint8_t* key, std::size_t key_len) { set_key(key, key_len); }
  void set_key(const std::uint8_t* key, std::size_t key_len);
  Digest compute(const std::uint8_t* data, std::size_t len) const;
  // Constant-time comparison of compute(data) with tag (32 bytes).
  bool verify(const std::uint8_t* data, std::size_t len, const std::uint8_t* tag) const;

 private:
  Sha256 inner_, outer_;
};

}  // namespace humanoid_rt::teleop
