/* XEdDSA (vaults/common/xeddsa.c) and the encoding checks under it
 * (ed25519_checks.c).
 *
 * Every test that signs or verifies runs twice, once with the hooks the
 * libsodium backend gives XEdDSA (crypto_hash_sha512, crypto_sign_verify_
 * detached) and once with the OpenSSL backend's (EVP SHA-512, EVP Ed25519
 * verification), so both libraries' verifiers are held to the same
 * verdicts.  Independent answers come from: libsodium (Ed25519 keys and
 * their Montgomery form, group and scalar operations for the test's own
 * signers, Ed25519 verification of our signatures), python3-xeddsa (a
 * separate XEdDSA implementation, live through tests/interop/xeddsa_peer.py and
 * stored in tests/vectors/xeddsa.json), and the spec's own rules for the
 * strict-verification cases. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include <veil/error.h>
#include "ed25519_checks.h"
#include "xeddsa.h"
#include "json.h"

#define ORACLE_ROUNDS 1000

/* p = 2^255 - 19 and L, little-endian. */
static const uint8_t P_BYTES[32] = {
    0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
static const uint8_t L_BYTES[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
    0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};

/* ---- the two backends' hooks, straight on their libraries ------------- */

static int sodium_sha512(void *ctx, const veil_iovec *parts, size_t n, uint8_t out[64])
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
static int openssl_ed25519_ok(const uint8_t sig[64], const uint8_t A[32], const uint8_t *m,
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

static const veil_xeddsa_hooks sodium_hooks = { sodium_sha512, sodium_verify, NULL };
static const veil_xeddsa_hooks openssl_hooks = { openssl_sha512, openssl_verify, NULL };

/* The hooks of the test running (its prestate). */
static const veil_xeddsa_hooks *hk = &sodium_hooks;

static void use_hooks(void **state)
{
    hk = *state;
}

static int failing_sha512(void *ctx, const veil_iovec *parts, size_t n, uint8_t out[64])
{
    (void)ctx, (void)parts, (void)n, (void)out;
    return veil_error_set(VEIL_EIO, "test hash refuses");
}

static int failing_verify(void *ctx, const uint8_t sig[64], const uint8_t A[32],
                          const uint8_t *m, size_t len)
{
    (void)ctx, (void)sig, (void)A, (void)m, (void)len;
    return veil_error_set(VEIL_ENOMEM, "test verifier out of memory");
}

/* 256-bit little-endian a + b (carry dropped; callers stay below 2^256). */
static void add256(uint8_t out[32], const uint8_t a[32], const uint8_t b[32])
{
    unsigned c = 0;
    for (int i = 0; i < 32; i++) {
        c += (unsigned)a[i] + b[i];
        out[i] = (uint8_t)c;
        c >>= 8;
    }
}

static void clamp(uint8_t k[32])
{
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
}

/* X25519 public key of a private key (libsodium). */
static void our_x25519_public(uint8_t u[32], const uint8_t priv[32])
{
    assert_int_equal(crypto_scalarmult_base(u, priv), 0);
}

/* E = kB for the clamped k, with its sign bit (libsodium). */
static void edwards_of(uint8_t E[32], const uint8_t priv[32])
{
    uint8_t k[32];
    memcpy(k, priv, 32);
    clamp(k);
    assert_int_equal(crypto_scalarmult_ed25519_base_noclamp(E, k), 0);
}

static int ed_sign_bit(const uint8_t priv[32])
{
    uint8_t E[32];
    edwards_of(E, priv);
    return E[31] >> 7;
}

static void reduce32(uint8_t out[32], const uint8_t in[32])
{
    uint8_t wide[64] = {0};
    memcpy(wide, in, 32);
    crypto_core_ed25519_scalar_reduce(out, wide);
}

static int verify(const uint8_t pub[32], const uint8_t *m, size_t len, const uint8_t sig[64])
{
    return veil_xeddsa_verify(pub, m, len, sig, hk);
}

static void assert_rejected(int rc, const char *detail)
{
    assert_error_contains(rc, VEIL_EAUTH, detail);
}

/* ---- the key conversion and the encoding checks ----------------------- */

/* libsodium converts Ed25519 -> X25519; convert_mont must land on the
 * Ed25519 key with its sign bit cleared. */
static void test_convert_mont_vs_sodium(void **state)
{
    (void)state;
    uint8_t pk[32], sk[64], u[32], y[32];
    for (int i = 0; i < ORACLE_ROUNDS; i++) {
        crypto_sign_keypair(pk, sk);
        assert_int_equal(crypto_sign_ed25519_pk_to_curve25519(u, pk), 0);
        assert_int_equal(veil_xeddsa_convert_mont(y, u), 0);
        pk[31] &= 0x7f;
        assert_memory_equal(y, pk, 32);
    }
}

/* The edges the spec defines: u = 0 gives y = -1, u = 1 gives y = 0, and
 * u = -1 gives y = 0 too (inv(0) = 0); u = 2 is on the twist (8 + 4 *
 * 486662 + 2 is not a square mod p); u >= p is refused. */
static void test_convert_mont_edges(void **state)
{
    (void)state;
    uint8_t u[32] = {0}, y[32], zero[32] = {0}, minus_one[32];
    memcpy(minus_one, P_BYTES, 32);
    minus_one[0]--;
    assert_int_equal(veil_xeddsa_convert_mont(y, u), 0);
    assert_memory_equal(y, minus_one, 32);
    u[0] = 1;
    assert_int_equal(veil_xeddsa_convert_mont(y, u), 0);
    assert_memory_equal(y, zero, 32);
    assert_int_equal(veil_xeddsa_convert_mont(y, minus_one), 0);
    assert_memory_equal(y, zero, 32);
    u[0] = 2;
    assert_rejected(veil_xeddsa_convert_mont(y, u), "A not on curve");
    assert_rejected(veil_xeddsa_convert_mont(y, P_BYTES), "u >= p");
    memcpy(u, minus_one, 32);
    u[31] |= 0x80;
    assert_rejected(veil_xeddsa_convert_mont(y, u), "u >= p");
}

/* The five y of the small-order points (ed25519_checks.c's list, typed in
 * again here): with either sign bit, each encoding that decodes is a point
 * whose 8-fold is the identity (libsodium's point addition), and there are
 * exactly 8 such points, the whole 8-torsion of edwards25519; so the list
 * is right and complete.  Random points of the prime-order subgroup and
 * their negations are not small order. */
static void test_small_order_list(void **state)
{
    (void)state;
    static const uint8_t y8[32] = {
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
        0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05};
    uint8_t ys[5][32] = {{0}, {1}}, id[32] = {1}, enc[32], t[32];
    memcpy(ys[2], P_BYTES, 32);
    ys[2][0]--; /* p - 1 */
    memcpy(ys[3], y8, 32);
    for (int i = 0; i < 32; i++) /* p - y8 */
        ys[4][i] = 0;
    unsigned borrow = 0;
    for (int i = 0; i < 32; i++) {
        int d = (int)P_BYTES[i] - (int)y8[i] - (int)borrow;
        borrow = d < 0;
        ys[4][i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    int points = 0;
    for (int i = 0; i < 5; i++) {
        for (int sign = 0; sign < 2; sign++) {
            memcpy(enc, ys[i], 32);
            enc[31] |= (uint8_t)(sign << 7);
            assert_true(veil_ed25519_small_order(enc));
            if (crypto_core_ed25519_add(t, enc, id) != 0 || memcmp(t, enc, 32) != 0)
                continue; /* no such point ("-0") */
            for (int dbl = 0; dbl < 3; dbl++)
                assert_int_equal(crypto_core_ed25519_add(t, t, t), 0);
            assert_memory_equal(t, id, 32);
            points++;
        }
    }
    assert_int_equal(points, 8);
    for (int i = 0; i < ORACLE_ROUNDS; i++) {
        crypto_core_ed25519_random(enc);
        assert_false(veil_ed25519_small_order(enc));
        enc[31] ^= 0x80;
        assert_false(veil_ed25519_small_order(enc));
    }
}

/* The canonical-range checks sit exactly at L and p. */
static void test_range_edges(void **state)
{
    (void)state;
    uint8_t t[32];
    assert_false(veil_ed25519_scalar_canonical(L_BYTES));
    memcpy(t, L_BYTES, 32);
    t[0]--;
    assert_true(veil_ed25519_scalar_canonical(t));
    assert_false(veil_ed25519_y_canonical(P_BYTES));
    assert_false(veil_x25519_u_canonical(P_BYTES));
    memcpy(t, P_BYTES, 32);
    t[0]--; /* p - 1: canonical, also with bit 255 (the sign) set for y */
    assert_true(veil_ed25519_y_canonical(t));
    assert_true(veil_x25519_u_canonical(t));
    t[31] |= 0x80;
    assert_true(veil_ed25519_y_canonical(t));
    assert_false(veil_x25519_u_canonical(t));
}

/* ---- XEdDSA sign / verify --------------------------------------------- */

typedef struct case_t {
    uint8_t priv[32], pub[32], msg[80], z[64], sig[64];
    size_t len;
} case_t;

static void make_case(case_t *c, size_t len)
{
    randombytes_buf(c->priv, 32);
    randombytes_buf(c->msg, sizeof c->msg);
    randombytes_buf(c->z, 64);
    c->len = len;
    our_x25519_public(c->pub, c->priv);
    assert_int_equal(veil_xeddsa_sign(c->priv, c->msg, len, c->z, hk, c->sig), 0);
}

/* Ours verify, and both libraries' Ed25519 verify under convert_mont(u);
 * both backends' hooks sign the same bytes. */
static void test_sign_verify_roundtrip(void **state)
{
    use_hooks(state);
    case_t c;
    uint8_t ed[32], again[64];
    for (size_t i = 0; i < 100; i++) {
        make_case(&c, i % sizeof c.msg);
        assert_int_equal(verify(c.pub, c.msg, c.len, c.sig), 0);
        assert_int_equal(veil_xeddsa_convert_mont(ed, c.pub), 0);
        assert_int_equal(crypto_sign_verify_detached(c.sig, c.msg, c.len, ed), 0);
        assert_true(openssl_ed25519_ok(c.sig, ed, c.msg, c.len));
        /* The public key is kB with its sign bit cleared. */
        edwards_of(again, c.priv);
        again[31] &= 0x7f;
        assert_memory_equal(again, ed, 32);
        /* Same inputs, same bytes, with either backend's hooks. */
        const veil_xeddsa_hooks *other = hk == &sodium_hooks ? &openssl_hooks : &sodium_hooks;
        assert_int_equal(veil_xeddsa_sign(c.priv, c.msg, c.len, c.z, other, again), 0);
        assert_memory_equal(again, c.sig, 64);
        c.z[0] ^= 1; /* a fresh Z gives a fresh R */
        assert_int_equal(veil_xeddsa_sign(c.priv, c.msg, c.len, c.z, hk, again), 0);
        assert_memory_not_equal(again, c.sig, 32);
    }
    /* NULL message of length 0 is the empty message. */
    assert_int_equal(veil_xeddsa_sign(c.priv, NULL, 0, c.z, hk, c.sig), 0);
    assert_int_equal(verify(c.pub, (const uint8_t *)"", 0, c.sig), 0);
    assert_int_equal(verify(c.pub, NULL, 0, c.sig), 0);
}

static int is_verify_detail(const char *d)
{
    static const char *const known[] = {"R.y not canonical", "s >= 2^253", "s >= L",
                                        "signature mismatch"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strstr(d, known[i]))
            return 1;
    return 0;
}

static void test_tamper_every_byte(void **state)
{
    use_hooks(state);
    case_t c;
    uint8_t sig[64], msg[80];
    make_case(&c, 48);
    for (int i = 0; i < 64; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(sig, c.sig, 64);
            sig[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(verify(c.pub, c.msg, c.len, sig), VEIL_EAUTH);
            if (!is_verify_detail(veil_last_error()))
                fail_msg("sig byte %d: unexpected detail '%s'", i, veil_last_error());
        }
    }
    for (size_t i = 0; i < c.len; i++) {
        memcpy(msg, c.msg, c.len);
        msg[i] ^= 0x40;
        assert_rejected(verify(c.pub, msg, c.len, c.sig), "signature mismatch");
    }
    assert_rejected(verify(c.pub, c.msg, c.len - 1, c.sig), "signature mismatch");
}

static void test_strict_scalar(void **state)
{
    use_hooks(state);
    case_t c;
    uint8_t sig[64];
    make_case(&c, 20);
    for (int bit = 253; bit < 256; bit++) {
        memcpy(sig, c.sig, 64);
        sig[32 + bit / 8] |= (uint8_t)(1u << (bit % 8));
        assert_rejected(verify(c.pub, c.msg, c.len, sig), "s >= 2^253");
    }
    /* s + L passes the spec's 2^253 bound and sB is unchanged, so only the
     * canonical-s rule rejects it (OpenSSL's verifier would too, libsodium's
     * too; the check in xeddsa.c makes the detail precise). */
    memcpy(sig, c.sig, 64);
    add256(sig + 32, c.sig + 32, L_BYTES);
    if (!(sig[63] & 0xe0))
        assert_rejected(verify(c.pub, c.msg, c.len, sig), "s >= L");
    memcpy(sig + 32, L_BYTES, 32);
    assert_rejected(verify(c.pub, c.msg, c.len, sig), "s >= L");
}

static void test_strict_R_and_u(void **state)
{
    use_hooks(state);
    case_t c;
    uint8_t sig[64], u[32];
    make_case(&c, 33);
    for (int j = 0; j < 19; j++) { /* y = p + j for every such 255-bit y */
        memcpy(sig, c.sig, 64);
        memcpy(sig, P_BYTES, 32);
        sig[0] = (uint8_t)(sig[0] + j);
        sig[31] |= (uint8_t)((j & 1) << 7); /* with either sign bit */
        assert_rejected(verify(c.pub, c.msg, c.len, sig), "R.y not canonical");
        memcpy(u, P_BYTES, 32);
        u[0] = (uint8_t)(u[0] + j);
        assert_rejected(verify(u, c.msg, c.len, c.sig), "u >= p");
    }
    memcpy(u, c.pub, 32);
    u[31] |= 0x80; /* X25519 would mask this; the spec's u >= p does not */
    assert_rejected(verify(u, c.msg, c.len, c.sig), "u >= p");
}

static void test_bad_public_keys(void **state)
{
    use_hooks(state);
    case_t c;
    uint8_t u[32] = {0};
    make_case(&c, 10);
    /* u = 0 (y = -1, order 2), u = 1 (y = 0, order 4), u = p - 1 (u + 1 = 0,
     * inv(0) = 0, so y = 0 as well). */
    assert_rejected(verify(u, c.msg, c.len, c.sig), "A has small order");
    u[0] = 1;
    assert_rejected(verify(u, c.msg, c.len, c.sig), "A has small order");
    memcpy(u, P_BYTES, 32);
    u[0]--;
    assert_rejected(verify(u, c.msg, c.len, c.sig), "A has small order");
    /* u = 2 is on the twist: 8 + 4 * 486662 + 2 is not a square mod p. */
    memset(u, 0, 32);
    u[0] = 2;
    assert_rejected(verify(u, c.msg, c.len, c.sig), "A not on curve");
}

/* Where the libraries differ: R of small order.  The key's owner can make
 * R the identity and s = h a (h = SHA-512(R || A || M) mod q), which
 * satisfies the cofactorless equation sB - hA = R.  OpenSSL's Ed25519
 * accepts it, libsodium's refuses small-order R; XEdDSA refuses it before
 * either is asked, with its own detail, so both backends agree.  (No honest
 * signer makes such an R: r = 0 has probability 2^-252, and signing
 * refuses it.)  Other small-order R with any s are refused the same way. */
static void test_small_order_R(void **state)
{
    use_hooks(state);
    case_t c;
    uint8_t sig[64], A[32], k[32], a[32], neg[32], E[32], hh[64], h[32];
    make_case(&c, 24);
    assert_int_equal(veil_xeddsa_convert_mont(A, c.pub), 0);
    edwards_of(E, c.priv);
    memcpy(k, c.priv, 32);
    clamp(k);
    reduce32(a, k);
    if (E[31] >> 7) { /* the spec's a: -k when kB's sign bit is 1 */
        crypto_core_ed25519_scalar_negate(neg, a);
        memcpy(a, neg, 32);
    }
    memset(sig, 0, 32);
    sig[0] = 1; /* R = identity */
    crypto_hash_sha512_state st;
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, sig, 32);
    crypto_hash_sha512_update(&st, A, 32);
    crypto_hash_sha512_update(&st, c.msg, c.len);
    crypto_hash_sha512_final(&st, hh);
    crypto_core_ed25519_scalar_reduce(h, hh);
    crypto_core_ed25519_scalar_mul(sig + 32, h, a);
    assert_true(openssl_ed25519_ok(sig, A, c.msg, c.len));
    assert_int_not_equal(crypto_sign_verify_detached(sig, c.msg, c.len, A), 0);
    assert_rejected(verify(c.pub, c.msg, c.len, sig), "R has small order");
    /* p - 1 (order 2) and 0 (order 4, either sign), any valid s. */
    memcpy(sig, P_BYTES, 32);
    sig[0]--;
    assert_rejected(verify(c.pub, c.msg, c.len, sig), "R has small order");
    memset(sig, 0, 32);
    sig[31] = 0x80;
    assert_rejected(verify(c.pub, c.msg, c.len, sig), "R has small order");
}

static void test_wrong_key_or_message(void **state)
{
    use_hooks(state);
    case_t c, d;
    make_case(&c, 40);
    make_case(&d, 40);
    assert_rejected(verify(d.pub, c.msg, c.len, c.sig), "signature mismatch");
    assert_rejected(verify(c.pub, d.msg, d.len, c.sig), "signature mismatch");
    assert_rejected(verify(c.pub, c.msg, c.len, d.sig), "signature mismatch");
}

static void test_arguments_and_hook_errors(void **state)
{
    use_hooks(state);
    case_t c;
    uint8_t sig[64];
    const veil_xeddsa_hooks no_sha = { NULL, hk->ed25519_verify, NULL };
    const veil_xeddsa_hooks no_verify = { hk->sha512, NULL, NULL };
    const veil_xeddsa_hooks bad_sha = { failing_sha512, hk->ed25519_verify, NULL };
    const veil_xeddsa_hooks bad_verify = { hk->sha512, failing_verify, NULL };
    make_case(&c, 16);
    assert_int_equal(veil_xeddsa_sign(NULL, c.msg, 1, c.z, hk, sig), VEIL_EINVAL);
    assert_int_equal(veil_xeddsa_sign(c.priv, NULL, 1, c.z, hk, sig), VEIL_EINVAL);
    assert_int_equal(veil_xeddsa_sign(c.priv, c.msg, 1, NULL, hk, sig), VEIL_EINVAL);
    assert_int_equal(veil_xeddsa_sign(c.priv, c.msg, 1, c.z, NULL, sig), VEIL_EINVAL);
    assert_int_equal(veil_xeddsa_sign(c.priv, c.msg, 1, c.z, &no_sha, sig), VEIL_EINVAL);
    assert_error_contains(veil_xeddsa_sign(c.priv, c.msg, 1, c.z, hk, NULL), VEIL_EINVAL,
                          "xeddsa_sign: NULL argument");
    assert_int_equal(veil_xeddsa_verify(NULL, c.msg, 1, c.sig, hk), VEIL_EINVAL);
    assert_int_equal(veil_xeddsa_verify(c.pub, NULL, 1, c.sig, hk), VEIL_EINVAL);
    assert_int_equal(veil_xeddsa_verify(c.pub, c.msg, 1, NULL, hk), VEIL_EINVAL);
    assert_int_equal(veil_xeddsa_verify(c.pub, c.msg, 1, c.sig, NULL), VEIL_EINVAL);
    assert_error_contains(veil_xeddsa_verify(c.pub, c.msg, 1, c.sig, &no_verify), VEIL_EINVAL,
                          "xeddsa_verify: NULL argument");
    /* The hash hook's error comes back, and no signature is written. */
    memset(sig, 0xaa, 64);
    assert_error_contains(veil_xeddsa_sign(c.priv, c.msg, c.len, c.z, &bad_sha, sig), VEIL_EIO,
                          "test hash refuses");
    for (int i = 0; i < 64; i++)
        assert_int_equal(sig[i], 0xaa);
    /* A verifier's error other than "does not verify" comes back as is. */
    assert_error_contains(veil_xeddsa_verify(c.pub, c.msg, c.len, c.sig, &bad_verify), VEIL_ENOMEM,
                          "test verifier out of memory");
}

/* ---- python3-xeddsa (libxeddsa) as a live peer and as stored vectors --- */

/* libxeddsa's signer: identical to the spec except that when kB's sign bit
 * is 0 it hashes the clamped k itself instead of k mod q (see
 * docs/XEDDSA.md).  Rebuilt from libsodium's operations to show that this
 * is the only difference. */
static void sign_libxeddsa_variant(const uint8_t priv[32], const uint8_t *m, size_t len,
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

static void hex_put(FILE *f, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", b[i]);
}

static int hex_get(const char *s, size_t slen, uint8_t *out, size_t cap)
{
    if (slen % 2 || slen / 2 > cap)
        return -1;
    for (size_t i = 0; i < slen / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return (int)(slen / 2);
}

/* Runs tests/interop/xeddsa_peer.py MODE with stdin from INPUT; returns its stdout
 * (malloc'd) and its exit status in *status. */
static char *peer_output(const char *mode, const char *input_path, int *status)
{
    const char *py = getenv("PYTHON3"), *top = getenv("VEIL_TOP_SRCDIR");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/interop/xeddsa_peer.py' %s < '%s'", py, top, mode,
             input_path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t cap = 1 << 16, used = 0, n;
    char *out = malloc(cap);
    while (out && (n = fread(out + used, 1, cap - used - 1, p)) > 0) {
        used += n;
        if (cap - used < 1024) {
            char *bigger = realloc(out, cap *= 2);
            if (!bigger)
                free(out);
            out = bigger;
        }
    }
    if (out)
        out[used] = 0;
    *status = pclose(p);
    return out;
}

static char *run_peer(const char *mode, const char *input_path)
{
    int st;
    char *out = peer_output(mode, input_path, &st);
    assert_non_null(out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("xeddsa_peer.py %s failed (status %d): %s", mode, st, out);
    return out;
}

/* NULL when the peer can run; otherwise why the interop tests are skipped
 * (PYTHON3 unset, or the peer's "SKIP: ..." line when the package is
 * missing).  Any other failure is left for the tests to report. */
static const char *peer_skip_reason(void)
{
    static char why[512];
    const char *py = getenv("PYTHON3");
    int st = 0;
    if (!py || !*py)
        return "PYTHON3 not set (run through make check)";
    if (!getenv("VEIL_TOP_SRCDIR"))
        return "VEIL_TOP_SRCDIR not set (run through make check)";
    char *out = peer_output("verify", "/dev/null", &st);
    if (!out)
        return "cannot run $PYTHON3";
    snprintf(why, sizeof why, "%s", out);
    free(out);
    why[strcspn(why, "\n")] = 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 77 ? why : NULL;
}

static FILE *temp_input(char *path)
{
    snprintf(path, 64, "/tmp/veil-xeddsa-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    return f;
}

#define PEER_SIGN_ONE 60  /* keys whose kB has sign bit 1: bytes must match */
#define PEER_SIGN_ZERO 40 /* sign bit 0: match the libxeddsa variant */

static void test_python_signs_we_verify(void **state)
{
    use_hooks(state);
    static case_t cs[PEER_SIGN_ONE + PEER_SIGN_ZERO];
    char path[64];
    int ones = 0, zeros = 0, n = 0, tries = 0;
    FILE *f = temp_input(path);
    while (n < PEER_SIGN_ONE + PEER_SIGN_ZERO) {
        case_t *c = &cs[n];
        assert_true(++tries < 10000); /* each bit value has probability 1/2 */
        randombytes_buf(c->priv, 32);
        int bit = ed_sign_bit(c->priv);
        if (bit ? ones == PEER_SIGN_ONE : zeros == PEER_SIGN_ZERO)
            continue;
        bit ? ones++ : zeros++;
        c->len = (size_t)n % sizeof c->msg;
        randombytes_buf(c->msg, c->len);
        randombytes_buf(c->z, 64);
        hex_put(f, c->priv, 32), fputc(':', f), hex_put(f, c->msg, c->len);
        fputc(':', f), hex_put(f, c->z, 64), fputc('\n', f);
        n++;
    }
    fclose(f);
    char *out = run_peer("sign", path);
    unlink(path);
    char *save = NULL, *line = strtok_r(out, "\n", &save);
    int equal = 0;
    for (int i = 0; i < n; i++, line = strtok_r(NULL, "\n", &save)) {
        uint8_t pub[32], ours[64], variant[64], theirs[64];
        assert_non_null(line);
        assert_int_equal(strlen(line), 64 + 1 + 1 + 1 + 128);
        assert_int_equal(hex_get(line, 64, pub, 32), 32);
        assert_int_equal(hex_get(line + 67, 128, theirs, 64), 64);
        our_x25519_public(cs[i].pub, cs[i].priv);
        assert_memory_equal(pub, cs[i].pub, 32);
        assert_int_equal(line[65] - '0', ed_sign_bit(cs[i].priv));
        assert_int_equal(verify(pub, cs[i].msg, cs[i].len, theirs), 0);
        assert_int_equal(veil_xeddsa_sign(cs[i].priv, cs[i].msg, cs[i].len, cs[i].z, hk,
                                          ours), 0);
        sign_libxeddsa_variant(cs[i].priv, cs[i].msg, cs[i].len, cs[i].z, variant);
        assert_memory_equal(variant, theirs, 64);
        if (line[65] == '1') {
            assert_memory_equal(ours, theirs, 64); /* the spec's exact bytes */
            equal++;
        } else {
            assert_memory_not_equal(ours, theirs, 32); /* other nonce r */
        }
    }
    assert_int_equal(equal, PEER_SIGN_ONE);
    free(out);
}

static void test_we_sign_python_verifies(void **state)
{
    use_hooks(state);
    static case_t cs[64];
    char path[64];
    FILE *f = temp_input(path);
    for (int i = 0; i < 128; i++) { /* second half: one byte of sig flipped */
        case_t *c = &cs[i % 64];
        uint8_t sig[64];
        if (i < 64)
            make_case(c, (size_t)i);
        memcpy(sig, c->sig, 64);
        if (i >= 64)
            sig[i % 64] ^= 0x10;
        hex_put(f, c->pub, 32), fputc(':', f), hex_put(f, c->msg, c->len);
        fputc(':', f), hex_put(f, sig, 64), fputc('\n', f);
    }
    fclose(f);
    char *out = run_peer("verify", path);
    unlink(path);
    char *save = NULL, *line = strtok_r(out, "\n", &save);
    for (int i = 0; i < 128; i++, line = strtok_r(NULL, "\n", &save)) {
        assert_non_null(line);
        if (strcmp(line, i < 64 ? "ok" : "bad") != 0)
            fail_msg("line %d: python says '%s'", i, line);
    }
    free(out);
}

/* tests/vectors/xeddsa.json (see gen_xeddsa.py), through the tests' JSON
 * reader. */
static int vec_hex(const json_t *t, const char *key, uint8_t *out, size_t cap)
{
    size_t n = 0;
    char why[128];
    int rc = tjson_hex(t, key, out, cap, &n, why, sizeof why);
    if (rc == TJSON_BAD)
        fail_msg("%s", why);
    return rc == TJSON_OK ? (int)n : -1;
}

static void check_vector(const json_t *t, int *nvalid, int *ninvalid)
{
    static uint8_t msg[4096];
    uint8_t priv[32], pub[32], z[64], sig[64], ours[64], spec[64];
    bool valid = false;
    long long ed_sign = 0;
    int mlen = vec_hex(t, "msg", msg, sizeof msg);
    assert_true(mlen >= 0);
    assert_int_equal(vec_hex(t, "pub", pub, 32), 32);
    assert_int_equal(vec_hex(t, "sig", sig, 64), 64);
    assert_int_equal(tjson_bool(t, "valid", &valid), TJSON_OK);
    if (valid) {
        assert_int_equal(vec_hex(t, "priv", priv, 32), 32);
        assert_int_equal(vec_hex(t, "nonce", z, 64), 64);
        our_x25519_public(ours, priv);
        assert_memory_equal(ours, pub, 32);
        assert_int_equal(verify(pub, msg, (size_t)mlen, sig), 0);
        assert_int_equal(tjson_int(t, "ed_sign", &ed_sign), TJSON_OK);
        int bit = ed_sign == 1 ? 1 : 0;
        assert_int_equal(ed_sign_bit(priv), bit);
        /* The spec's bytes (Python-integer transcription of the spec). */
        assert_int_equal(vec_hex(t, "spec_sig", spec, 64), 64);
        assert_int_equal(veil_xeddsa_sign(priv, msg, (size_t)mlen, z, hk, ours), 0);
        assert_memory_equal(ours, spec, 64);
        /* libxeddsa's bytes: the same with sign bit 1, its variant with 0. */
        if (!bit)
            sign_libxeddsa_variant(priv, msg, (size_t)mlen, z, ours);
        assert_memory_equal(ours, sig, 64);
        (*nvalid)++;
    } else {
        const char *reason = tjson_str(t, "reason");
        assert_non_null(reason);
        assert_rejected(verify(pub, msg, (size_t)mlen, sig), reason);
        (*ninvalid)++;
    }
}

static void test_stored_vectors(void **state)
{
    use_hooks(state);
    char why[512];
    int nvalid = 0, ninvalid = 0;
    size_t i;
    const json_t *t;
    json_t *doc = tjson_load_src("tests/vectors/xeddsa.json", why, sizeof why);
    if (doc == NULL)
        fail_msg("%s", why);
    json_array_foreach(tjson_array(doc, "vectors"), i, t)
        check_vector(t, &nvalid, &ninvalid);
    json_decref(doc);
    assert_true(nvalid >= 20);
    assert_true(ninvalid >= 9);
}

/* Built twice: test_xeddsa runs everything that needs no Python;
 * test_xeddsa_interop (-DXEDDSA_INTEROP) runs the live python3-xeddsa
 * tests, or reports a whole-file TAP skip with the reason ("not ok # SKIP",
 * which cmocka 1.1.5 prints for skip(), counts as a failure).  The tests
 * that sign or verify run once per backend's hooks. */
#define BOTH(f)                                                         \
    { #f " (sodium)", f, NULL, NULL, (void *)&sodium_hooks },           \
    { #f " (openssl)", f, NULL, NULL, (void *)&openssl_hooks }
int main(void)
{
    const struct CMUnitTest core[] = {
        cmocka_unit_test(test_convert_mont_vs_sodium),
        cmocka_unit_test(test_convert_mont_edges),
        cmocka_unit_test(test_small_order_list),
        cmocka_unit_test(test_range_edges),
        BOTH(test_sign_verify_roundtrip),
        BOTH(test_tamper_every_byte),
        BOTH(test_strict_scalar),
        BOTH(test_strict_R_and_u),
        BOTH(test_bad_public_keys),
        BOTH(test_small_order_R),
        BOTH(test_wrong_key_or_message),
        BOTH(test_arguments_and_hook_errors),
        BOTH(test_stored_vectors),
    };
    const struct CMUnitTest interop[] = {
        BOTH(test_python_signs_we_verify),
        BOTH(test_we_sign_python_verifies),
    };
    if (sodium_init() < 0)
        return 1;
#ifdef XEDDSA_INTEROP
    const char *why = peer_skip_reason();
    (void)core;
    if (why) {
        printf("1..0 # SKIP %s\n", why);
        return 0;
    }
    return cmocka_run_group_tests_name("xeddsa_interop", interop, NULL, NULL);
#else
    (void)interop;
    (void)peer_skip_reason;
    return cmocka_run_group_tests_name("xeddsa", core, NULL, NULL);
#endif
}
