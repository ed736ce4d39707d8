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
 * separate XEdDSA implementation: live in tests/interop/test_xeddsa_interop,
 * stored vectors in tests/kat/test_xeddsa_kat), and the spec's own rules
 * for the strict-verification cases. */
#include "xeddsa_test.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
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
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests_name("xeddsa", tests, NULL, NULL);
}
