/* Noise plugin: negative tests of the handshake and transport (tampered,
 * truncated, extended messages; wrong psk; wrong expected remote static;
 * low-order keys; nonce rules; rekey; the 65535-byte limit), on every
 * crypto backend built.  The name parser and pattern table are tested in
 * test_noise_names.c.
 *
 * Error mapping checked here (docs/PROTOCOL.md, "Noise"):
 *   tampered byte        → VEIL_EAUTH, at the message when it is
 *                          authenticated, else at the peer's next message;
 *   truncated (empty payload) → VEIL_ETRUNCATED;
 *   extended by a byte   → VEIL_EAUTH (same rule as tampering);
 *   wrong psk / wrong expected remote static → VEIL_EAUTH;
 *   low-order public key → VEIL_ELOWORDER. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include "config.h"
#include "backends.h"
#include "noise.h"
#include "noise-vault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static noise_test_vault tv;
static veil_vault *V;

/* ---- handshake harness --------------------------------------------- */

typedef struct pair {
    noise_protocol proto;
    veil_secret s[2], psk[2][NOISE_MAX_PSKS];
    noise_handshake *hs[2];
    uint8_t spub[2][VEIL_PUBLIC_KEY_MAX_BYTES];
} pair;

static veil_secret gen_key(int type)
{
    veil_secret_attrs a;
    memset(&a, 0, sizeof(a));
    a.type = type;
    veil_secret s = 0;
    assert_int_equal(veil_vault_generate(V, &a, &s), 0);
    return s;
}

static veil_secret make_psk(uint8_t fill)
{
    uint8_t b[32];
    memset(b, fill, sizeof(b));
    veil_secret s = 0;
    assert_int_equal(noise_test_import(V, VEIL_SECRET_BUFFER, b, 32, &s), 0);
    return s;
}

/* psk_fill[1] differing from psk_fill[0] gives the responder a wrong psk;
 * wrong_rs gives the initiator a wrong remote static (expected or pre-known). */
static void pair_new(pair *pr, const char *name, uint8_t psk_fill_resp, bool wrong_rs)
{
    memset(pr, 0, sizeof(*pr));
    assert_int_equal(noise_protocol_parse(name, &pr->proto), 0);
    for (int i = 0; i < 2; i++) {
        size_t len = 0;
        pr->s[i] = gen_key(pr->proto.dh_type);
        assert_int_equal(veil_vault_public_key(V, pr->s[i], pr->spub[i], sizeof(pr->spub[i]), &len), 0);
        for (unsigned k = 0; k < pr->proto.pattern.n_psks; k++)
            pr->psk[i][k] = make_psk(i == 0 ? 0x42 : psk_fill_resp);
    }
    uint8_t other[VEIL_PUBLIC_KEY_MAX_BYTES];
    memcpy(other, pr->spub[1], sizeof(other));
    other[3] ^= 0x10;
    for (int i = 0; i < 2; i++) {
        int role = i == 0 ? VEIL_KA_INITIATOR : VEIL_KA_RESPONDER;
        bool need_s, rs_pre, rs_sent;
        noise_pattern_needs(&pr->proto.pattern, role, &need_s, &rs_pre, &rs_sent);
        const uint8_t *rs = rs_pre ? pr->spub[1 - i] : NULL;
        if (i == 0 && wrong_rs)
            rs = other;
        veil_ka_params p = { .size = sizeof(p), .role = role, .vault = V, .protocol = name,
                             .local_static = need_s ? pr->s[i] : 0,
                             .remote_static = rs, .remote_static_len = rs ? pr->proto.dhlen : 0,
                             .prologue = (const uint8_t *)"test", .prologue_len = 4,
                             .psks = pr->psk[i], .n_psks = pr->proto.pattern.n_psks };
        if (noise_handshake_new(&p, &pr->hs[i]) != 0)
            fail_msg("handshake_new(%s, %d): %s", name, i, veil_last_error());
    }
}

static void pair_free(pair *pr)
{
    for (int i = 0; i < 2; i++) {
        noise_handshake_free(pr->hs[i]);
        veil__secret_drop(V, &pr->s[i]);
        for (unsigned k = 0; k < NOISE_MAX_PSKS; k++)
            veil__secret_drop(V, &pr->psk[i][k]);
    }
}

static int sender_of(const pair *pr, unsigned m)
{
    return pr->proto.pattern.one_way ? 0 : (int)(m % 2);
}

static uint8_t msg[VEIL_KA_MESSAGE_MAX + 64], pl[VEIL_KA_MESSAGE_MAX + 64];

/* Exchange message m normally. */
static void step(pair *pr, unsigned m)
{
    int s = sender_of(pr, m);
    size_t n = 0, pn = 0;
    assert_int_equal(noise_handshake_write(pr->hs[s], (const uint8_t *)"hi", 2, msg, sizeof(msg), &n), 0);
    if (noise_handshake_read(pr->hs[1 - s], msg, n, pl, sizeof(pl), &pn) != 0)
        fail_msg("step %u: %s", m, veil_last_error());
    assert_int_equal(pn, 2);
}

static void assert_failed(noise_handshake *hs)
{
    veil_ka_result res;
    size_t n = 0;
    assert_int_equal(noise_handshake_next_action(hs), VEIL_KA_FAILED);
    assert_error(noise_handshake_split(hs, &res), VEIL_ESTATE,
                 "noise: split after a failed handshake");
    assert_error_contains(noise_handshake_write(hs, NULL, 0, msg, sizeof(msg), &n), VEIL_ESTATE,
                          "failed earlier");
    assert_error_contains(noise_handshake_read(hs, msg, 64, pl, sizeof(pl), &n), VEIL_ESTATE,
                          "failed earlier");
    assert_int_equal(hs->sym.ck, 0);     /* secrets destroyed */
    assert_int_equal(hs->sym.cs.k, 0);
}

enum mutation { FLIP_FIRST, FLIP_MIDDLE, FLIP_LAST, TRUNCATE, EXTEND };

/* Deliver message m mutated; expect code at this read, or — when the
 * message is not authenticated — at the original sender's next read. */
static void mutate_at(const char *name, unsigned m, enum mutation mu)
{
    pair pr;
    pair_new(&pr, name, 0x42, false);
    for (unsigned i = 0; i < m; i++)
        step(&pr, i);
    int s = sender_of(&pr, m);
    size_t n = 0, pn = 0;
    const uint8_t *payload = mu == TRUNCATE ? NULL : (const uint8_t *)"payload";
    assert_int_equal(noise_handshake_write(pr.hs[s], payload, payload ? 7 : 0, msg, sizeof(msg), &n), 0);
    switch (mu) {
    case FLIP_FIRST: msg[0] ^= 0x01; break;
    case FLIP_MIDDLE: msg[n / 2] ^= 0x01; break;
    case FLIP_LAST: msg[n - 1] ^= 0x01; break;
    case TRUNCATE: n--; break;
    case EXTEND: msg[n++] = 0; break;
    }
    int rc = noise_handshake_read(pr.hs[1 - s], msg, n, pl, sizeof(pl), &pn);
    int expect = mu == TRUNCATE ? VEIL_ETRUNCATED : VEIL_EAUTH;
    noise_handshake *failed = pr.hs[1 - s];
    if (rc == 0) {
        /* Unauthenticated message (no key yet): the change shows when the
         * receiver answers and the sender checks the answer. */
        assert_int_not_equal(mu, TRUNCATE);
        assert_true(m + 1 < pr.proto.pattern.n_messages);
        assert_int_equal(noise_handshake_write(pr.hs[1 - s], NULL, 0, msg, sizeof(msg), &n), 0);
        rc = noise_handshake_read(pr.hs[s], msg, n, pl, sizeof(pl), &pn);
        failed = pr.hs[s];
    }
    if (rc != expect)
        fail_msg("%s message %u mutation %d: got %d (%s), expected %d", name, m + 1, mu, rc,
                 veil_last_error(), expect);
    assert_last_error_contains("message");
    assert_failed(failed);
    pair_free(&pr);
}

static const char *const mutated_protocols[] = {
    "Noise_XX_25519_AESGCM_SHA256", "Noise_IK_25519_ChaChaPoly_BLAKE2b",
    "Noise_NK_25519_AESGCM_SHA512", "Noise_KK_25519_ChaChaPoly_SHA256",
    "Noise_NNpsk0_25519_AESGCM_BLAKE2s", "Noise_XXpsk3_25519_ChaChaPoly_SHA256",
};

static void test_mutations(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(mutated_protocols) / sizeof(mutated_protocols[0]); i++) {
        noise_protocol p;
        assert_int_equal(noise_protocol_parse(mutated_protocols[i], &p), 0);
        for (unsigned m = 0; m < p.pattern.n_messages; m++)
            for (int mu = FLIP_FIRST; mu <= EXTEND; mu++)
                mutate_at(mutated_protocols[i], m, (enum mutation)mu);
    }
}

static void test_wrong_psk(void **state)
{
    (void)state;
    pair pr;
    size_t n = 0, pn = 0;
    pair_new(&pr, "Noise_NNpsk0_25519_AESGCM_SHA256", 0x43, false);
    assert_int_equal(noise_handshake_write(pr.hs[0], NULL, 0, msg, sizeof(msg), &n), 0);
    assert_error_contains(noise_handshake_read(pr.hs[1], msg, n, pl, sizeof(pl), &pn), VEIL_EAUTH,
                          "message 1: payload does not decrypt");
    assert_failed(pr.hs[1]);
    pair_free(&pr);
}

static void test_wrong_remote_static(void **state)
{
    (void)state;
    pair pr;
    size_t n = 0, pn = 0;
    /* XX: the responder's key arrives in message 2 and differs from the
     * one the initiator expects. */
    pair_new(&pr, "Noise_XX_25519_AESGCM_SHA256", 0x42, false);
    noise_handshake_free(pr.hs[0]);
    uint8_t other[32];
    memcpy(other, pr.spub[1], 32);
    other[0] ^= 1;
    veil_ka_params p = { .size = sizeof(p), .role = VEIL_KA_INITIATOR, .vault = V,
                         .protocol = "Noise_XX_25519_AESGCM_SHA256", .local_static = pr.s[0],
                         .remote_static = other, .remote_static_len = 32,
                         .prologue = (const uint8_t *)"test", .prologue_len = 4 };
    assert_int_equal(noise_handshake_new(&p, &pr.hs[0]), 0);
    step(&pr, 0);
    assert_int_equal(noise_handshake_write(pr.hs[1], NULL, 0, msg, sizeof(msg), &n), 0);
    assert_error_contains(noise_handshake_read(pr.hs[0], msg, n, pl, sizeof(pl), &pn), VEIL_EAUTH,
                          "differs from the expected remote_static");
    assert_failed(pr.hs[0]);
    pair_free(&pr);
    /* IK: the initiator pre-knows a wrong responder key; the responder
     * cannot decrypt message 1. */
    pair_new(&pr, "Noise_IK_25519_AESGCM_SHA256", 0x42, true);
    assert_int_equal(noise_handshake_write(pr.hs[0], NULL, 0, msg, sizeof(msg), &n), 0);
    assert_error_contains(noise_handshake_read(pr.hs[1], msg, n, pl, sizeof(pl), &pn), VEIL_EAUTH,
                          "message 1: static key does not decrypt");
    assert_failed(pr.hs[1]);
    pair_free(&pr);
}

/* Different prologues: the first authenticated message fails. */
static void test_wrong_prologue(void **state)
{
    (void)state;
    pair pr;
    size_t n = 0, pn = 0;
    pair_new(&pr, "Noise_NN_25519_ChaChaPoly_SHA512", 0x42, false);
    noise_handshake_free(pr.hs[1]);
    veil_ka_params p = { .size = sizeof(p), .role = VEIL_KA_RESPONDER, .vault = V,
                         .protocol = "Noise_NN_25519_ChaChaPoly_SHA512",
                         .prologue = (const uint8_t *)"tesT", .prologue_len = 4 };
    assert_int_equal(noise_handshake_new(&p, &pr.hs[1]), 0);
    step(&pr, 0);                                   /* "e": not authenticated */
    assert_int_equal(noise_handshake_write(pr.hs[1], NULL, 0, msg, sizeof(msg), &n), 0);
    assert_error_contains(noise_handshake_read(pr.hs[0], msg, n, pl, sizeof(pl), &pn), VEIL_EAUTH,
                          "message 2: payload does not decrypt");
    assert_failed(pr.hs[0]);
    pair_free(&pr);
}

/* u = 0, u = 1 and a point of order 8 (RFC 7748 §6.1 / the usual
 * small-order list): each makes the DH all zero. */
static const uint8_t low_order[3][32] = {
    { 0 },
    { 1 },
    { 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
      0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00 },
};

static void test_low_order(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) {
        pair pr;
        size_t n = 0, pn = 0;
        /* NK: "e, es" — the responder's es with the injected e. */
        pair_new(&pr, "Noise_NK_25519_AESGCM_SHA256", 0x42, false);
        memcpy(msg, low_order[k], 32);
        memset(msg + 32, 0, 16);
        assert_error_contains(noise_handshake_read(pr.hs[1], msg, 48, pl, sizeof(pl), &pn),
                              VEIL_ELOWORDER, "low-order");
        assert_failed(pr.hs[1]);
        pair_free(&pr);
        /* XX: message 1 is just "e"; the responder's ee fails on write. */
        pair_new(&pr, "Noise_XX_25519_AESGCM_SHA256", 0x42, false);
        memcpy(msg, low_order[k], 32);
        assert_int_equal(noise_handshake_read(pr.hs[1], msg, 32, pl, sizeof(pl), &pn), 0);
        assert_error_contains(noise_handshake_write(pr.hs[1], NULL, 0, msg, sizeof(msg), &n),
                              VEIL_ELOWORDER, "low-order");
        assert_failed(pr.hs[1]);
        pair_free(&pr);
    }
}

/* ---- transport ------------------------------------------------------ */

typedef struct channel {
    noise_cipher send[2], recv[2];
    veil_ka_result res[2];
} channel;

static void channel_open(channel *ch, const char *name)
{
    pair pr;
    pair_new(&pr, name, 0x42, false);
    for (unsigned m = 0; m < pr.proto.pattern.n_messages; m++)
        step(&pr, m);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(noise_handshake_next_action(pr.hs[i]), VEIL_KA_DONE);
        assert_int_equal(noise_handshake_split(pr.hs[i], &ch->res[i]), 0);
        assert_error_contains(noise_handshake_split(pr.hs[i], &ch->res[i]), VEIL_ESTATE,
                              "called twice");
        noise_cipher_init(&ch->send[i], V, ch->res[i].nonce_format);
        noise_cipher_init(&ch->recv[i], V, ch->res[i].nonce_format);
        noise_cipher_set_key(&ch->send[i], ch->res[i].send_key, true);
        noise_cipher_set_key(&ch->recv[i], ch->res[i].recv_key, true);
    }
    /* Channel binding and identities agree on both sides. */
    assert_int_equal(ch->res[0].handshake_hash_len, pr.proto.hashlen);
    assert_memory_equal(ch->res[0].handshake_hash, ch->res[1].handshake_hash, pr.proto.hashlen);
    bool need_s, rs_pre, rs_sent;
    noise_pattern_needs(&pr.proto.pattern, VEIL_KA_INITIATOR, &need_s, &rs_pre, &rs_sent);
    assert_int_equal(ch->res[0].remote_static_len, rs_pre || rs_sent ? pr.proto.dhlen : 0);
    if (rs_pre || rs_sent)
        assert_memory_equal(ch->res[0].remote_static, pr.spub[1], pr.proto.dhlen);
    pair_free(&pr);
}

static void channel_close(channel *ch)
{
    for (int i = 0; i < 2; i++) {
        noise_cipher_clear(&ch->send[i]);
        noise_cipher_clear(&ch->recv[i]);
    }
}

/* from → to, one message; returns the receiver's result. */
static int send_one(channel *ch, int from, const char *text)
{
    size_t len = strlen(text), n = 0, pn = 0;
    memcpy(msg, text, len);
    assert_int_equal(noise_cipher_encrypt(&ch->send[from], NULL, 0, msg, len, &n), 0);
    assert_int_equal(n, len + 16);
    int rc = noise_cipher_decrypt(&ch->recv[1 - from], NULL, 0, msg, n, &pn);
    if (rc == 0) {
        assert_int_equal(pn, len);
        assert_memory_equal(msg, text, len);
    }
    return rc;
}

static void test_nonce_rules(void **state)
{
    (void)state;
    channel ch;
    size_t n = 0, pn = 0;
    channel_open(&ch, "Noise_XX_25519_AESGCM_SHA256");
    /* A forged message leaves the receiver's counter where it was. */
    uint8_t saved[19];
    memcpy(msg, "abc", 3);
    assert_int_equal(noise_cipher_encrypt(&ch.send[0], NULL, 0, msg, 3, &n), 0);
    memcpy(saved, msg, n);
    msg[1] ^= 1;
    assert_error(noise_cipher_decrypt(&ch.recv[1], NULL, 0, msg, n, &pn), VEIL_EAUTH,
                 "aead_decrypt: authentication tag does not verify (wrong key, nonce, AD, or "
                 "tampered data)");
    assert_int_equal(ch.recv[1].n, 0);
    memcpy(msg, saved, n);          /* the vault zeroed the rejected buffer */
    assert_int_equal(noise_cipher_decrypt(&ch.recv[1], NULL, 0, msg, n, &pn), 0);
    assert_int_equal(ch.recv[1].n, 1);
    /* Explicit nonces: out of order, counter untouched. */
    memcpy(msg, "xyz", 3);
    assert_int_equal(noise_cipher_encrypt_at(&ch.send[1], 7, NULL, 0, msg, 3, &n), 0);
    assert_int_equal(ch.send[1].n, 0);
    memcpy(saved, msg, n);
    assert_error_contains(noise_cipher_decrypt_at(&ch.recv[0], 6, NULL, 0, msg, n, &pn), VEIL_EAUTH,
                          "");
    memcpy(msg, saved, n);
    assert_int_equal(noise_cipher_decrypt_at(&ch.recv[0], 7, NULL, 0, msg, n, &pn), 0);
    assert_memory_equal(msg, "xyz", 3);
    /* 2^64-1 is reserved. */
    assert_error_contains(noise_cipher_encrypt_at(&ch.send[0], UINT64_MAX, NULL, 0, msg, 3, &n),
                          VEIL_ENONCE, "reserved");
    assert_error_contains(noise_cipher_decrypt_at(&ch.recv[0], UINT64_MAX, NULL, 0, msg, 19, &pn),
                          VEIL_ENONCE, "reserved");
    ch.send[0].n = UINT64_MAX;
    assert_error_contains(noise_cipher_encrypt(&ch.send[0], NULL, 0, msg, 3, &n), VEIL_ENONCE,
                          "reserved");
    assert_int_equal(ch.send[0].n, UINT64_MAX);
    assert_error_contains(noise_cipher_decrypt(&ch.recv[0], NULL, 0, msg, 15, &pn), VEIL_ETRUNCATED,
                          "shorter than");
    channel_close(&ch);
}

static void test_rekey(void **state)
{
    (void)state;
    channel ch;
    channel_open(&ch, "Noise_XX_25519_ChaChaPoly_BLAKE2b");
    assert_int_equal(send_one(&ch, 0, "before"), 0);
    assert_int_equal(send_one(&ch, 1, "before"), 0);
    veil_secret old = ch.send[0].k;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(noise_cipher_rekey(&ch.send[i]), 0);
        assert_int_equal(noise_cipher_rekey(&ch.recv[1 - i]), 0);
    }
    assert_int_not_equal(ch.send[0].k, old);
    assert_int_equal(ch.send[0].n, 1);             /* Rekey keeps n */
    for (int r = 0; r < 3; r++) {
        assert_int_equal(send_one(&ch, 0, "after"), 0);
        assert_int_equal(send_one(&ch, 1, "after"), 0);
    }
    /* Only one side rekeys: the other cannot read it. */
    assert_int_equal(noise_cipher_rekey(&ch.send[0]), 0);
    assert_int_equal(send_one(&ch, 0, "one-sided"), VEIL_EAUTH);
    channel_close(&ch);
}

static void test_limits(void **state)
{
    (void)state;
    pair pr;
    size_t n = 0, pn = 0;
    static uint8_t big[VEIL_KA_MESSAGE_MAX + 1];
    /* NN message 1 = e (32) + plaintext payload: 65503 fits exactly. */
    pair_new(&pr, "Noise_NN_25519_AESGCM_SHA256", 0x42, false);
    assert_int_equal(noise_handshake_write(pr.hs[0], big, VEIL_KA_MESSAGE_MAX - 32, msg, sizeof(msg), &n), 0);
    assert_int_equal(n, VEIL_KA_MESSAGE_MAX);
    assert_int_equal(noise_handshake_read(pr.hs[1], msg, n, pl, sizeof(pl), &pn), 0);
    assert_int_equal(pn, VEIL_KA_MESSAGE_MAX - 32);
    /* Message 2 = e + tagged payload: one byte too many. */
    assert_error_contains(noise_handshake_write(pr.hs[1], big, VEIL_KA_MESSAGE_MAX - 32 - 16 + 1, msg, sizeof(msg), &n),
                          VEIL_ELIMIT, "limit 65535");
    assert_failed(pr.hs[1]);
    assert_error_contains(noise_handshake_read(pr.hs[0], msg, VEIL_KA_MESSAGE_MAX + 1, pl, sizeof(pl), &pn),
                          VEIL_ELIMIT, "limit 65535");
    pair_free(&pr);
    /* A too-small output buffer, and calls out of turn. */
    pair_new(&pr, "Noise_NN_25519_AESGCM_SHA256", 0x42, false);
    assert_error_contains(noise_handshake_read(pr.hs[0], msg, 48, pl, sizeof(pl), &pn), VEIL_ESTATE,
                          "to write, not read");
    assert_failed(pr.hs[0]);
    assert_error_contains(noise_handshake_write(pr.hs[1], NULL, 0, msg, 31, &n), VEIL_ESTATE,
                          "to read, not write");
    pair_free(&pr);
    pair_new(&pr, "Noise_NN_25519_AESGCM_SHA256", 0x42, false);
    assert_error_contains(noise_handshake_write(pr.hs[0], NULL, 0, msg, 31, &n), VEIL_ELIMIT,
                          "needs 32");
    pair_free(&pr);
    channel ch;
    channel_open(&ch, "Noise_NN_25519_AESGCM_SHA256");
    assert_error_contains(noise_cipher_encrypt(&ch.send[0], NULL, 0, big, VEIL_KA_MESSAGE_MAX - 15, &n),
                          VEIL_ELIMIT, "65535");
    channel_close(&ch);
}

static void test_params(void **state)
{
    (void)state;
    noise_handshake *hs = NULL;
    veil_secret s = gen_key(VEIL_SECRET_X25519), psk = make_psk(1);
    uint8_t rs[32] = { 9 };
    veil_ka_params p = { .size = sizeof(p), .role = VEIL_KA_INITIATOR, .vault = V,
                         .protocol = "Noise_XX_25519_AESGCM_SHA256" };
    assert_error_contains(noise_handshake_new(&p, &hs), VEIL_EINVAL,
                          "needs the initiator's static key");
    p.protocol = "Noise_NK_25519_AESGCM_SHA256";
    assert_error_contains(noise_handshake_new(&p, &hs), VEIL_EINVAL,
                          "needs the peer's static public key");
    p.protocol = "Noise_NN_25519_AESGCM_SHA256";
    p.remote_static = rs;
    p.remote_static_len = 32;
    assert_error(noise_handshake_new(&p, &hs), VEIL_EINVAL,
                 "noise: pattern NN never authenticates a peer static key, but remote_static was "
                 "given");
    p.protocol = "Noise_NK_25519_AESGCM_SHA256";
    p.remote_static_len = 31;
    assert_error(noise_handshake_new(&p, &hs), VEIL_EINVAL,
                 "noise: remote_static is 31 bytes, Noise_NK_25519_AESGCM_SHA256 needs 32");
    p.remote_static_len = 32;
    p.protocol = "Noise_NKpsk0+psk2_25519_AESGCM_SHA256";
    p.psks = &psk;
    p.n_psks = 1;
    assert_error(noise_handshake_new(&p, &hs), VEIL_EINVAL,
                 "noise: Noise_NKpsk0+psk2_25519_AESGCM_SHA256 uses 2 psks, 1 given");
    p.protocol = "Noise_XX_448_AESGCM_SHA256";
    p.remote_static = NULL;
    p.remote_static_len = 0;
    p.n_psks = 0;
    p.local_static = s;
    assert_error_contains(noise_handshake_new(&p, &hs), VEIL_ETYPE,
                          "secret but Noise_XX_448_AESGCM_SHA256 needs");
    p.role = 3;
    assert_error(noise_handshake_new(&p, &hs), VEIL_EINVAL,
                 "noise: role 3 is neither initiator (1) nor responder (2)");
    assert_null(hs);
    veil__secret_drop(V, &s);
    veil__secret_drop(V, &psk);
}

/* Each crypto test opens a vault on the backend named by its prestate, so
 * one TAP plan covers every backend built. */
static int open_vault(void **state)
{
    const char *backend = *state;
    if (noise_test_vault_open(&tv, backend) != 0) {
        fprintf(stderr, "cannot open a software vault (crypto=%s): %s\n", backend, veil_last_error());
        return -1;
    }
    V = tv.vault;
    return 0;
}

static int close_vault(void **state)
{
    (void)state;
    noise_test_vault_close(&tv);
    V = NULL;
    return 0;
}

#define CRYPTO_TESTS(b)                                                              \
    cmocka_unit_test_prestate_setup_teardown(test_mutations, open_vault, close_vault, b),        \
    cmocka_unit_test_prestate_setup_teardown(test_wrong_psk, open_vault, close_vault, b),        \
    cmocka_unit_test_prestate_setup_teardown(test_wrong_prologue, open_vault, close_vault, b),   \
    cmocka_unit_test_prestate_setup_teardown(test_wrong_remote_static, open_vault, close_vault, b), \
    cmocka_unit_test_prestate_setup_teardown(test_low_order, open_vault, close_vault, b),        \
    cmocka_unit_test_prestate_setup_teardown(test_nonce_rules, open_vault, close_vault, b),      \
    cmocka_unit_test_prestate_setup_teardown(test_rekey, open_vault, close_vault, b),            \
    cmocka_unit_test_prestate_setup_teardown(test_limits, open_vault, close_vault, b),           \
    cmocka_unit_test_prestate_setup_teardown(test_params, open_vault, close_vault, b)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FOR_EACH_BACKEND(CRYPTO_TESTS)
    };
    return cmocka_run_group_tests_name("noise", tests, NULL, NULL);
}
