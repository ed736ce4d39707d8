/* X3DH handshake tests on each crypto backend: full handshakes with and
 * without an OPK, both ciphers, and every rejection the protocol owes
 * (docs/X3DH.md "Security rules"), each with its exact code and a detail
 * naming what was wrong.  The responder's prekeys come from the in-test
 * store (test_x3dh_store.c); the OPK/SPK rules are in
 * test_x3dh_prekey_rules.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include "config.h"
#include "backends.h"
#include "noise-vault.h"
#include "test_x3dh_store.h"
#include "x3dh_fx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct run {
    x3dh_session *i, *r;
    uint8_t m[3][512];
    size_t mlen[3];
    veil_ka_result ri, rr;
} run;

/* Messages 1..3 with payloads "one", "two", "three"; each payload must
 * arrive intact.  Returns the first error (the failing session is left
 * in r for inspection), 0 when both sides are DONE and split. */
static int handshake(fx *f, run *x, const uint8_t *bun, size_t blen, const x3dh_config *ci,
                     const x3dh_config *cr, veil_secret preset_ek)
{
    static const char *pl[3] = { "one", "two", "three" };
    uint8_t got[512];
    size_t n = 0;
    memset(x, 0, sizeof *x);
    veil_ka_params pi = params(f, VEIL_KA_INITIATOR, bun, blen);
    veil_ka_params pr = params(f, VEIL_KA_RESPONDER, NULL, 0);
    pi.local_ephemeral = preset_ek;
    int rc = x3dh_session_new(ci, &pi, &x->i);
    if (rc < 0)
        return rc;
    assert_int_equal(x3dh_session_new(cr, &pr, &x->r), 0);
    for (int k = 0; k < 3; k++) {
        x3dh_session *w = k == 1 ? x->r : x->i, *rd = k == 1 ? x->i : x->r;
        assert_int_equal(x3dh_session_next_action(w), VEIL_KA_WRITE);
        assert_int_equal(x3dh_session_next_action(rd), VEIL_KA_READ);
        assert_int_equal(x3dh_session_write(w, (const uint8_t *)pl[k], strlen(pl[k]), x->m[k],
                                            sizeof x->m[k], &x->mlen[k]), 0);
        if ((rc = x3dh_session_read(rd, x->m[k], x->mlen[k], got, sizeof got, &n)) < 0)
            return rc;
        assert_int_equal(n, strlen(pl[k]));
        assert_memory_equal(got, pl[k], n);
    }
    assert_int_equal(x3dh_session_next_action(x->i), VEIL_KA_DONE);
    assert_int_equal(x3dh_session_next_action(x->r), VEIL_KA_DONE);
    assert_int_equal(x3dh_session_split(x->i, &x->ri), 0);
    assert_int_equal(x3dh_session_split(x->r, &x->rr), 0);
    return 0;
}

static void run_free(fx *f, run *x)
{
    x3dh_session_free(x->i);
    x3dh_session_free(x->r);
    veil_secret ks[4] = { x->ri.send_key, x->ri.recv_key, x->rr.send_key, x->rr.recv_key };
    for (int i = 0; i < 4; i++)
        if (ks[i] != 0)
            assert_int_equal(veil_vault_secret_destroy(f->v, ks[i]), 0);
    memset(x, 0, sizeof *x);
}

/* ct = AEAD(key, nonce n, "ad", "transport") */
static void seal_with(veil_vault *v, veil_secret key, int fmt, uint8_t ct[9 + 16])
{
    uint8_t nonce[VEIL_AEAD_NONCE_BYTES];
    veil_nonce_encode(fmt, 5, nonce);
    memcpy(ct, "transport", 9);
    assert_int_equal(veil_vault_aead_encrypt(v, key, nonce, (const uint8_t *)"ad", 2, ct, 9), 0);
}

static void keys_pair(veil_vault *v, veil_secret send, veil_secret recv, int fmt)
{
    uint8_t ct[25], nonce[VEIL_AEAD_NONCE_BYTES];
    seal_with(v, send, fmt, ct);
    veil_nonce_encode(fmt, 5, nonce);
    assert_int_equal(veil_vault_aead_decrypt(v, recv, nonce, (const uint8_t *)"ad", 2, ct, 25), 0);
    assert_memory_equal(ct, "transport", 9);
}

static void check_agreement(fx *f, run *x, int fmt)
{
    assert_int_equal(x->ri.handshake_hash_len, 32);
    assert_memory_equal(x->ri.handshake_hash, x->rr.handshake_hash, 32);
    assert_int_equal(x->ri.remote_static_len, 32);
    assert_memory_equal(x->ri.remote_static, f->ik_b_pub, 32);
    assert_memory_equal(x->rr.remote_static, f->ik_a_pub, 32);
    assert_int_equal(x->ri.nonce_format, fmt);
    assert_int_equal(x->rr.nonce_format, fmt);
    keys_pair(f->v, x->ri.send_key, x->rr.recv_key, fmt);
    keys_pair(f->v, x->rr.send_key, x->ri.recv_key, fmt);
    /* Each direction has its own key. */
    uint8_t a[25], b[25];
    seal_with(f->v, x->ri.send_key, fmt, a);
    seal_with(f->v, x->ri.recv_key, fmt, b);
    assert_memory_not_equal(a, b, sizeof a);
}

static void test_handshake(void **state)
{
    fx *f = *state;
    x3dh_bundle b;
    uint8_t bun[X3DH_BUNDLE_MAX];
    run x;
    for (int opk = 0; opk <= 1; opk++) {
        size_t blen = bundle(f, opk, &b, bun);
        assert_int_equal(blen, opk ? 173 : 136);
        assert_int_equal(handshake(f, &x, bun, blen, &f->cfg, &f->cfg, 0), 0);
        assert_int_equal(x.mlen[0], (opk ? 76u : 72u) + 3 + 16);
        assert_int_equal(x.mlen[1], 33u + 3 + 16);
        check_agreement(f, &x, VEIL_NONCE_ZERO32_BE64);
        run_free(f, &x);
    }
    assert_int_equal(tstore_opk_available(f->v, f->ik_b_pub, OPK_ID), 0);
    /* ChaCha20-Poly1305 and an AD appendix. */
    x3dh_config c = f->cfg;
    c.cipher_type = VEIL_SECRET_CHACHAPOLY;
    memcpy(c.appendix, "alice|bob", 9);
    c.appendix_len = 9;
    size_t blen = bundle(f, false, &b, bun);
    assert_int_equal(handshake(f, &x, bun, blen, &c, &c, 0), 0);
    check_agreement(f, &x, VEIL_NONCE_ZERO32_LE64);
    run_free(f, &x);
    /* Different appendix or info on the two sides: message 1 fails. */
    x3dh_config c2 = c;
    c2.appendix_len = 8;
    assert_error_contains(handshake(f, &x, bun, blen, &c, &c2, 0), VEIL_EAUTH,
                          "message 1 does not authenticate");
    run_free(f, &x);
    c2 = f->cfg;
    c2.info[0] ^= 1;
    assert_int_equal(handshake(f, &x, bun, blen, &f->cfg, &c2, 0), VEIL_EAUTH);
    assert_int_equal(x3dh_session_next_action(x.r), VEIL_KA_FAILED);
    run_free(f, &x);
}

/* New initiator from a tampered bundle: the exact error at session_new. */
static int init_with(fx *f, const x3dh_bundle *b, const x3dh_config *c)
{
    uint8_t bun[X3DH_BUNDLE_MAX];
    size_t n = 0;
    assert_int_equal(x3dh_bundle_encode(b, bun, sizeof bun, &n), 0);
    veil_ka_params p = params(f, VEIL_KA_INITIATOR, bun, n);
    x3dh_session *s = NULL;
    int rc = x3dh_session_new(c, &p, &s);
    x3dh_session_free(s);
    return rc;
}

static const uint8_t L[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
};

static void test_bad_signatures(void **state)
{
    fx *f = *state;
    x3dh_bundle good, b;
    uint8_t bun[X3DH_BUNDLE_MAX];
    bundle(f, true, &good, bun);
    assert_int_equal(init_with(f, &good, &f->cfg), 0);

    b = good; /* a bit flipped in R */
    b.spk_sig[3] ^= 0x10;
    assert_error(init_with(f, &b, &f->cfg), VEIL_EAUTH,
                 "x3dh: bundle: the signature of SPK 7 is not a valid XEdDSA signature by IK "
                 "over Encode(SPK): xeddsa_verify: signature mismatch (R != sB - hA)");
    b = good; /* a bit flipped in s */
    b.spk_sig[40] ^= 0x01;
    assert_error(init_with(f, &b, &f->cfg), VEIL_EAUTH,
                 "x3dh: bundle: the signature of SPK 7 is not a valid XEdDSA signature by IK "
                 "over Encode(SPK): xeddsa_verify: signature mismatch (R != sB - hA)");
    b = good; /* a valid signature, but by another identity key */
    assert_int_equal(x3dh_bundle_sign(f->v, f->ik_a, &b), 0);
    memcpy(b.ik, f->ik_b_pub, 32);
    assert_error(init_with(f, &b, &f->cfg), VEIL_EAUTH,
                 "x3dh: bundle: the signature of SPK 7 is not a valid XEdDSA signature by IK "
                 "over Encode(SPK): xeddsa_verify: signature mismatch (R != sB - hA)");
    b = good; /* over the raw 32-byte key instead of Encode(SPK) */
    assert_int_equal(veil_vault_sign(f->v, f->ik_b, b.spk, 32, b.spk_sig), 0);
    assert_error(init_with(f, &b, &f->cfg), VEIL_EAUTH,
                 "x3dh: bundle: the signature of SPK 7 is not a valid XEdDSA signature by IK "
                 "over Encode(SPK): xeddsa_verify: signature mismatch (R != sB - hA)");
    b = good; /* non-canonical s: s + L verifies the same equation */
    unsigned carry = 0;
    for (int i = 0; i < 32; i++) {
        unsigned t = b.spk_sig[32 + i] + L[i] + carry;
        b.spk_sig[32 + i] = (uint8_t)t;
        carry = t >> 8;
    }
    assert_error(init_with(f, &b, &f->cfg), VEIL_EAUTH,
                 "x3dh: bundle: the signature of SPK 7 is not a valid XEdDSA signature by IK "
                 "over Encode(SPK): xeddsa_verify: s >= L (non-canonical scalar)");
    b = good; /* tampered SPK */
    b.spk[5] ^= 0x40;
    assert_error(init_with(f, &b, &f->cfg), VEIL_EAUTH,
                 "x3dh: bundle: the signature of SPK 7 is not a valid XEdDSA signature by IK "
                 "over Encode(SPK): xeddsa_verify: signature mismatch (R != sB - hA)");
    b = good; /* require_opk with a bundle without one */
    b.has_opk = false;
    x3dh_config c = f->cfg;
    c.require_opk = true;
    assert_error(init_with(f, &b, &c), VEIL_EDENIED,
                 "x3dh: the bundle has no one-time prekey and require_opk is set (the prekey "
                 "service ran out?)");
    /* The expected remote static key must be the bundle's IK. */
    size_t n = 0;
    assert_int_equal(x3dh_bundle_encode(&good, bun, sizeof bun, &n), 0);
    veil_ka_params p = params(f, VEIL_KA_INITIATOR, bun, n);
    p.remote_static = f->ik_a_pub;
    p.remote_static_len = 32;
    x3dh_session *s = NULL;
    assert_error_contains(x3dh_session_new(&f->cfg, &p, &s), VEIL_EAUTH,
                          "expected remote static key");
    p = params(f, VEIL_KA_INITIATOR, NULL, 0);
    assert_error(x3dh_session_new(&f->cfg, &p, &s), VEIL_EINVAL,
                 "x3dh: the initiator needs the responder's prekey bundle "
                 "(veil_ka_params.peer_bundle)");
}

/* Without an OPK a replayed message 1 is accepted, but the responder's
 * fresh ephemeral makes every run's keys different.  The "replay" here is
 * even stronger than an attacker's: a second initiator with the same
 * preset EK_A produces byte-identical message 1 and completes. */
static void test_replay_without_opk(void **state)
{
    fx *f = *state;
    x3dh_bundle b;
    uint8_t bun[X3DH_BUNDLE_MAX], ct1[25], ct2[25];
    size_t blen = bundle(f, false, &b, bun);
    run x, y;
    assert_int_equal(handshake(f, &x, bun, blen, &f->cfg, &f->cfg, f->ek), 0);
    assert_int_equal(handshake(f, &y, bun, blen, &f->cfg, &f->cfg, f->ek), 0);
    assert_int_equal(x.mlen[0], y.mlen[0]);
    assert_memory_equal(x.m[0], y.m[0], x.mlen[0]);
    assert_memory_not_equal(x.m[1], y.m[1], 33); /* a new ER each time */
    assert_memory_not_equal(x.rr.handshake_hash, y.rr.handshake_hash, 32);
    for (int dir = 0; dir < 2; dir++) {
        seal_with(f->v, dir ? x.rr.send_key : x.rr.recv_key, VEIL_NONCE_ZERO32_BE64, ct1);
        seal_with(f->v, dir ? y.rr.send_key : y.rr.recv_key, VEIL_NONCE_ZERO32_BE64, ct2);
        assert_memory_not_equal(ct1, ct2, sizeof ct1);
    }
    run_free(f, &x);
    run_free(f, &y);
}

static void test_bad_keys_on_the_wire(void **state)
{
    fx *f = *state;
    x3dh_bundle b;
    uint8_t bun[X3DH_BUNDLE_MAX], m[512], t[512];
    static const uint8_t order8[32] = {
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00 };
    size_t blen = bundle(f, true, &b, bun);
    size_t n = msg1(f, bun, blen, 0, m);
    /* EK_A zero / of order 8 / wrong type byte. */
    memcpy(t, m, n);
    memset(t + 36, 0, 32);
    assert_error(respond(f, &f->cfg, t, n), VEIL_ELOWORDER,
                 "x3dh: initial message EK_A is a low-order X25519 point (DH with it does not "
                 "depend on the private key)");
    memcpy(t + 36, order8, 32);
    assert_int_equal(respond(f, &f->cfg, t, n), VEIL_ELOWORDER);
    memcpy(t, m, n);
    t[35] = 0x06;
    assert_error(respond(f, &f->cfg, t, n), VEIL_EFORMAT,
                 "x3dh: initial message EK_A: key type byte 0x06, expected 0x05 (Curve25519)");
    memcpy(t, m, n);
    t[2] = 0x00;
    assert_error(respond(f, &f->cfg, t, n), VEIL_EFORMAT,
                 "x3dh: initial message IK_A: key type byte 0x00, expected 0x05 (Curve25519)");
    assert_int_equal(tstore_opk_available(f->v, f->ik_b_pub, OPK_ID), 1);
    /* Message 2 with ER = 1 (low order) and with a bad type byte. */
    for (int k = 0; k < 2; k++) {
        veil_ka_params p = params(f, VEIL_KA_INITIATOR, bun, blen);
        x3dh_session *s = NULL;
        size_t w = 0, got = 0;
        assert_int_equal(x3dh_session_new(&f->cfg, &p, &s), 0);
        assert_int_equal(x3dh_session_write(s, NULL, 0, t, sizeof t, &w), 0);
        memset(t, 0, 49);
        t[0] = k ? 0x07 : 0x05;
        t[1] = 1;
        assert_int_equal(x3dh_session_read(s, t, 49, t, sizeof t, &got),
                         k ? VEIL_EFORMAT : VEIL_ELOWORDER);
        assert_last_error_contains("message 2 ER");
        assert_int_equal(x3dh_session_next_action(s), VEIL_KA_FAILED);
        assert_int_equal(x3dh_session_write(s, NULL, 0, t, sizeof t, &w), VEIL_ESTATE);
        x3dh_session_free(s);
    }
    /* Truncated and oversized messages. */
    assert_int_equal(respond(f, &f->cfg, m, n - 1), VEIL_ETRUNCATED);
    assert_error_contains(respond(f, &f->cfg, m, 60), VEIL_ETRUNCATED,
                          "initial message is 60 bytes");
    uint8_t *big = calloc(1, VEIL_KA_MESSAGE_MAX + 1);
    assert_non_null(big);
    memcpy(big, m, n);
    assert_int_equal(respond(f, &f->cfg, big, VEIL_KA_MESSAGE_MAX + 1), VEIL_ELIMIT);
    free(big);
    assert_int_equal(tstore_opk_available(f->v, f->ik_b_pub, OPK_ID), 1);
}

static void test_state_and_limits(void **state)
{
    fx *f = *state;
    x3dh_bundle b;
    uint8_t bun[X3DH_BUNDLE_MAX], m[512], small[8];
    size_t blen = bundle(f, false, &b, bun), n = 0, got = 0;
    veil_ka_params p = params(f, VEIL_KA_INITIATOR, bun, blen);
    x3dh_session *s = NULL;
    assert_int_equal(x3dh_session_new(&f->cfg, &p, &s), 0);
    assert_error_contains(x3dh_session_read(s, m, 100, m, sizeof m, &got), VEIL_ESTATE,
                          "expects a write");
    /* Any error fails the session (key_agreement.h). */
    assert_int_equal(x3dh_session_next_action(s), VEIL_KA_FAILED);
    assert_error_contains(x3dh_session_write(s, NULL, 0, m, sizeof m, &n), VEIL_ESTATE,
                          "expects nothing (it failed)");
    x3dh_session_free(s);
    assert_int_equal(x3dh_session_new(&f->cfg, &p, &s), 0);
    assert_error_contains(x3dh_session_write(s, (const uint8_t *)"x", 1, m, 72 + 16, &n),
                          VEIL_ELIMIT, "needs 89 bytes");
    assert_int_equal(x3dh_session_next_action(s), VEIL_KA_FAILED);
    x3dh_session_free(s);
    /* The payload buffer must hold the ciphertext. */
    n = msg1(f, bun, blen, 0, m);
    veil_ka_params pr = params(f, VEIL_KA_RESPONDER, NULL, 0);
    assert_int_equal(x3dh_session_new(&f->cfg, &pr, &s), 0);
    assert_error_contains(x3dh_session_read(s, m, n, small, sizeof small, &got), VEIL_ELIMIT,
                          "payload buffer");
    x3dh_session_free(s);
    /* Parameter checks. */
    p.size = 8;
    char want[128];
    snprintf(want, sizeof want, "x3dh: veil_ka_params.size is 8, smaller than the smallest (%zu)",
             VEIL_ABI_SIZE(veil_ka_params, n_psks));
    assert_error(x3dh_session_new(&f->cfg, &p, &s), VEIL_EINVAL, want);
    p = params(f, 3, bun, blen);
    assert_error(x3dh_session_new(&f->cfg, &p, &s), VEIL_EINVAL,
                 "x3dh: role 3 is neither initiator (1) nor responder (2)");
    p = params(f, VEIL_KA_INITIATOR, bun, blen);
    p.local_static = 0;
    assert_error(x3dh_session_new(&f->cfg, &p, &s), VEIL_EINVAL,
                 "x3dh: a vault and the local identity key (local_static) are required");
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = VEIL_SECRET_ED25519;
    assert_int_equal(veil_vault_generate(f->v, &a, &p.local_static), 0);
    assert_error(x3dh_session_new(&f->cfg, &p, &s), VEIL_ETYPE,
                 "x3dh: local identity key is a ed25519 key, expected X25519");
    p.local_ephemeral = p.local_static;
    p.local_static = f->ik_a;
    assert_error_contains(x3dh_session_new(&f->cfg, &p, &s), VEIL_ETYPE,
                          "preset ephemeral key is a");
    assert_error_contains(x3dh_bundle_sign(f->v, p.local_ephemeral, &b), VEIL_ETYPE,
                          "the identity key is a");
}

/* Rekey = first 32 bytes of ENCRYPT(k, 2^64-1, "", 32 zeros), computed
 * here with the plain AEAD and compared by use. */
static void test_rekey(void **state)
{
    fx *f = *state;
    for (int c = 0; c < 2; c++) {
        int type = c ? VEIL_SECRET_CHACHAPOLY : VEIL_SECRET_AES256GCM;
        int fmt = c ? VEIL_NONCE_ZERO32_LE64 : VEIL_NONCE_ZERO32_BE64;
        uint8_t raw[32], z[48] = { 0 }, nonce[VEIL_AEAD_NONCE_BYTES], a[25], b2[25];
        memset(raw, 0x5a + c, sizeof raw);
        veil_secret k = 0, nk = 0, expect = 0;
        assert_int_equal(noise_test_import(f->v, type, raw, 32, &k), 0);
        assert_int_equal(veil_key_agreement_rekey(NULL, f->v, k, &nk), 0);
        veil_nonce_encode(fmt, UINT64_MAX, nonce);
        assert_int_equal(veil_vault_aead_encrypt(f->v, k, nonce, NULL, 0, z, 32), 0);
        assert_int_equal(noise_test_import(f->v, type, z, 32, &expect), 0);
        seal_with(f->v, nk, fmt, a);
        seal_with(f->v, expect, fmt, b2);
        assert_memory_equal(a, b2, sizeof a);
        seal_with(f->v, k, fmt, b2); /* the old key is still usable */
        assert_memory_not_equal(a, b2, sizeof a);
        veil_secret buf = 0;
        assert_int_equal(noise_test_import(f->v, VEIL_SECRET_BUFFER, raw, 32, &buf), 0);
        assert_error_contains(veil_key_agreement_rekey(NULL, f->v, buf, &nk), VEIL_ETYPE,
                              "needs an AEAD key");
    }
}

#define CRYPTO_TESTS(b)                                                                        \
    cmocka_unit_test_prestate_setup_teardown(test_handshake, open_fx, close_fx, b),            \
    cmocka_unit_test_prestate_setup_teardown(test_bad_signatures, open_fx, close_fx, b),       \
    cmocka_unit_test_prestate_setup_teardown(test_replay_without_opk, open_fx, close_fx, b),   \
    cmocka_unit_test_prestate_setup_teardown(test_bad_keys_on_the_wire, open_fx, close_fx, b), \
    cmocka_unit_test_prestate_setup_teardown(test_state_and_limits, open_fx, close_fx, b),     \
    cmocka_unit_test_prestate_setup_teardown(test_rekey, open_fx, close_fx, b)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FOR_EACH_BACKEND(CRYPTO_TESTS)
    };
    return cmocka_run_group_tests_name("x3dh", tests, NULL, NULL);
}
