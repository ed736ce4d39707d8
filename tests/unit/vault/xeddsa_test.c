/* The XEdDSA tests' shared hooks and references (xeddsa_test.h). */
#include "xeddsa_test.h"

#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

/* p = 2^255 - 19 and L, little-endian. */
const uint8_t P_BYTES[32] = {
    0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
const uint8_t L_BYTES[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
    0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};

/* ---- the two backends' hooks, straight on their libraries ------------- */

int sodium_sha512(void *ctx, const veil_iovec *parts, size_t n, uint8_t out[64])
{
    crypto_hash_sha512_state st;
    (void)ctx;
    crypto_hash_sha512_init(&st);
    for (size_t i = 0; i < n; i++)
        crypto_hash_sha512_update(&st, parts[i].data, parts[i].len);
    crypto_hash_sha512_final(&st, out);
    return 0;
}

static int sodium_verify(void *ctx, const uint8_t sig[64], const uint8_t A[32],
                         const uint8_t *m, size_t len)
{
    (void)ctx;
    if (crypto_sign_verify_detached(sig, m, len, A) != 0)
        return veil_error_set(VEIL_EAUTH, "libsodium refuses");
    return 0;
}

static int openssl_sha512(void *ctx, const veil_iovec *parts, size_t n, uint8_t out[64])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c != NULL && EVP_DigestInit_ex2(c, EVP_sha512(), NULL) == 1;
    (void)ctx;
    for (size_t i = 0; i < n && ok; i++)
        ok = EVP_DigestUpdate(c, parts[i].data, parts[i].len) == 1;
    ok = ok && EVP_DigestFinal_ex(c, out, NULL) == 1;
    EVP_MD_CTX_free(c);
    return ok ? 0 : veil_error_set(VEIL_EINVAL, "test: EVP SHA-512 failed");
}

/* 1 when OpenSSL's Ed25519 accepts, 0 when not. */
int openssl_ed25519_ok(const uint8_t sig[64], const uint8_t A[32], const uint8_t *m,
                              size_t len)
{
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, A, 32);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = k != NULL && c != NULL &&
             EVP_DigestVerifyInit_ex(c, NULL, NULL, NULL, NULL, k, NULL) == 1 &&
             EVP_DigestVerify(c, sig, 64, m, len) == 1;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return ok;
}

static int openssl_verify(void *ctx, const uint8_t sig[64], const uint8_t A[32],
                          const uint8_t *m, size_t len)
{
    (void)ctx;
    return openssl_ed25519_ok(sig, A, m, len) ? 0 : veil_error_set(VEIL_EAUTH, "OpenSSL refuses");
}

const veil_xeddsa_hooks sodium_hooks = { sodium_sha512, sodium_verify, NULL };
const veil_xeddsa_hooks openssl_hooks = { openssl_sha512, openssl_verify, NULL };

/* The hooks of the test running (its prestate). */
const veil_xeddsa_hooks *hk = &sodium_hooks;

void use_hooks(void **state)
{
    hk = *state;
}

int failing_sha512(void *ctx, const veil_iovec *parts, size_t n, uint8_t out[64])
{
    (void)ctx, (void)parts, (void)n, (void)out;
    return veil_error_set(VEIL_EIO, "test hash refuses");
}

int failing_verify(void *ctx, const uint8_t sig[64], const uint8_t A[32],
                          const uint8_t *m, size_t len)
{
    (void)ctx, (void)sig, (void)A, (void)m, (void)len;
    return veil_error_set(VEIL_ENOMEM, "test verifier out of memory");
}

/* 256-bit little-endian a + b (carry dropped; callers stay below 2^256). */
void add256(uint8_t out[32], const uint8_t a[32], const uint8_t b[32])
{
    unsigned c = 0;
    for (int i = 0; i < 32; i++) {
        c += (unsigned)a[i] + b[i];
        out[i] = (uint8_t)c;
        c >>= 8;
    }
}

void clamp(uint8_t k[32])
{
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
}

/* X25519 public key of a private key (libsodium). */
void our_x25519_public(uint8_t u[32], const uint8_t priv[32])
{
    assert_int_equal(crypto_scalarmult_base(u, priv), 0);
}

/* E = kB for the clamped k, with its sign bit (libsodium). */
void edwards_of(uint8_t E[32], const uint8_t priv[32])
{
    uint8_t k[32];
    memcpy(k, priv, 32);
    clamp(k);
    assert_int_equal(crypto_scalarmult_ed25519_base_noclamp(E, k), 0);
}

int ed_sign_bit(const uint8_t priv[32])
{
    uint8_t E[32];
    edwards_of(E, priv);
    return E[31] >> 7;
}

void reduce32(uint8_t out[32], const uint8_t in[32])
{
    uint8_t wide[64] = {0};
    memcpy(wide, in, 32);
    crypto_core_ed25519_scalar_reduce(out, wide);
}

int verify(const uint8_t pub[32], const uint8_t *m, size_t len, const uint8_t sig[64])
{
    return veil_xeddsa_verify(pub, m, len, sig, hk);
}

void assert_rejected(int rc, const char *detail)
{
    assert_error_contains(rc, VEIL_EAUTH, detail);
}

/* libxeddsa's signer: identical to the spec except that when kB's sign bit
 * is 0 it hashes the clamped k itself instead of k mod q (see
 * docs/XEDDSA.md).  Rebuilt from libsodium's operations to show that this
 * is the only difference. */
void sign_libxeddsa_variant(const uint8_t priv[32], const uint8_t *m, size_t len,
                                   const uint8_t z[64], uint8_t sig[64])
{
    static const uint8_t prefix[32] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint8_t a[32], a_red[32], A[32], hash[64], r[32], h[32], ha[32];
    memcpy(a, priv, 32);
    clamp(a);
    edwards_of(A, priv);
    reduce32(a_red, a);
    if (A[31] & 0x80) {
        crypto_core_ed25519_scalar_negate(a, a_red);
        memcpy(a_red, a, 32);
    }
    A[31] &= 0x7f;
    veil_iovec n[4] = {{prefix, 32}, {a, 32}, {m, len}, {z, 64}};
    sodium_sha512(NULL, n, 4, hash);
    crypto_core_ed25519_scalar_reduce(r, hash);
    assert_int_equal(crypto_scalarmult_ed25519_base_noclamp(sig, r), 0);
    veil_iovec hp[3] = {{sig, 32}, {A, 32}, {m, len}};
    sodium_sha512(NULL, hp, 3, hash);
    crypto_core_ed25519_scalar_reduce(h, hash);
    crypto_core_ed25519_scalar_mul(ha, h, a_red);
    crypto_core_ed25519_scalar_add(sig + 32, ha, r);
}

void make_case(case_t *c, size_t len)
{
    randombytes_buf(c->priv, 32);
    randombytes_buf(c->msg, sizeof c->msg);
    randombytes_buf(c->z, 64);
    c->len = len;
    our_x25519_public(c->pub, c->priv);
    assert_int_equal(veil_xeddsa_sign(c->priv, c->msg, len, c->z, hk, c->sig), 0);
}
