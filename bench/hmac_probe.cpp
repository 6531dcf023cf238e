// HMAC-SHA256 through OpenSSL's libcrypto: heap allocations and time per 200-byte message for the ways
// the API can be driven (why cpp/src/teleop_hmac.cpp re-initialises one keyed EVP_MAC_CTX per packet).
// Counts every libcrypto allocation via CRYPTO_set_mem_functions, so it must run as its own process:
//   g++ -O2 -std=c++17 bench/hmac_probe.cpp -o /tmp/hmac_probe -lcrypto && /tmp/hmac_probe
// The time per call is a figure of the machine; the allocation counts are the point.
#define OPENSSL_SUPPRESS_DEPRECATED  // before any OpenSSL header
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>  // the deprecated low-level API, measured for comparison
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
static long g_allocs = 0;
static void* m(size_t n, const char*, int) { ++g_allocs; return malloc(n); }
static void* r(void* p, size_t n, const char*, int) { ++g_allocs; return realloc(p, n); }
static void f(void* p, const char*, int) { free(p); }
int main() {
  if (!CRYPTO_set_mem_functions(m, r, f)) { puts("set_mem_functions failed"); return 1; }
  unsigned char key[32], msg[200], out[32]; size_t outl; unsigned int outu;
  for (int i = 0; i < 32; ++i) key[i] = i;
  memset(msg, 7, sizeof msg);
  const int N = 200000;
  auto run = [&](const char* name, auto&& fn) {
    fn(); fn();
    long a0 = g_allocs;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < N; ++i) fn();
    auto t1 = std::chrono::steady_clock::now();
    printf("%-40s allocs/op %.2f  ns/op %.0f\n", name, double(g_allocs - a0) / N,
           std::chrono::duration<double, std::nano>(t1 - t0).count() / N);
  };
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char*)"SHA256", 0), OSSL_PARAM_construct_end()};
  EVP_MAC_CTX* tmpl = EVP_MAC_CTX_new(mac);
  EVP_MAC_init(tmpl, key, 32, params);
  EVP_MAC_CTX* reuse = EVP_MAC_CTX_dup(tmpl);
  run("EVP_MAC_init(NULL key) reuse", [&] { EVP_MAC_init(reuse, nullptr, 0, nullptr); EVP_MAC_update(reuse, msg, 200); EVP_MAC_final(reuse, out, &outl, 32); });
  run("EVP_MAC_CTX_dup(template)", [&] { EVP_MAC_CTX* c = EVP_MAC_CTX_dup(tmpl); EVP_MAC_update(c, msg, 200); EVP_MAC_final(c, out, &outl, 32); EVP_MAC_CTX_free(c); });
  run("HMAC() one-shot", [&] { HMAC(EVP_sha256(), key, 32, msg, 200, out, &outu); });
  EVP_MD* sha = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* inner = EVP_MD_CTX_new(); EVP_MD_CTX* outer = EVP_MD_CTX_new(); EVP_MD_CTX* work = EVP_MD_CTX_new();
  unsigned char ipad[64], opad[64];
  for (int i = 0; i < 64; ++i) { ipad[i] = (i < 32 ? key[i] : 0) ^ 0x36; opad[i] = (i < 32 ? key[i] : 0) ^ 0x5c; }
  EVP_DigestInit_ex2(inner, sha, nullptr); EVP_DigestUpdate(inner, ipad, 64);
  EVP_DigestInit_ex2(outer, sha, nullptr); EVP_DigestUpdate(outer, opad, 64);
  EVP_DigestInit_ex2(work, sha, nullptr);
  run("EVP_MD_CTX_copy_ex(precomputed pads)", [&] { EVP_MD_CTX_copy_ex(work, inner); EVP_DigestUpdate(work, msg, 200); unsigned char h[32]; EVP_DigestFinal_ex(work, h, &outu);
                                                    EVP_MD_CTX_copy_ex(work, outer); EVP_DigestUpdate(work, h, 32); EVP_DigestFinal_ex(work, out, &outu); });
  run("EVP_DigestInit_ex2 reuse (pads per call)", [&] { EVP_DigestInit_ex2(work, sha, nullptr); EVP_DigestUpdate(work, ipad, 64); EVP_DigestUpdate(work, msg, 200); unsigned char h[32]; EVP_DigestFinal_ex(work, h, &outu);
                                                    EVP_DigestInit_ex2(work, sha, nullptr); EVP_DigestUpdate(work, opad, 64); EVP_DigestUpdate(work, h, 32); EVP_DigestFinal_ex(work, out, &outu); });
  SHA256_CTX li, lo;
  SHA256_Init(&li); SHA256_Update(&li, ipad, 64); SHA256_Init(&lo); SHA256_Update(&lo, opad, 64);
  run("SHA256_CTX copy (deprecated low-level)", [&] { SHA256_CTX c = li; SHA256_Update(&c, msg, 200); unsigned char h[32]; SHA256_Final(h, &c);
                                                   c = lo; SHA256_Update(&c, h, 32); SHA256_Final(out, &c); });
  printf("OpenSSL %s\n", OpenSSL_version(OPENSSL_VERSION));
}
