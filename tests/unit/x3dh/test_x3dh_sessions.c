/* X3DH sessions after message 1 (plugins/x3dh/x3dh_session.c): every bad
 * form of messages 2 and 3 fails its reader with the exact code and detail
 * while the honest one passes; NULL arguments are refused and leave the
 * session usable; writers refuse buffers too small; the session's
 * parameters at their bounds; bundles are signed by an X25519 key only.
 * On whichever crypto backend this build has. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include "config.h"

/* The crypto backend of the session tests: whichever this build has. */
#ifdef VEIL_HAVE_OPENSSL
#define TEST_CRYPTO "openssl"
#else
#define TEST_CRYPTO "sodium"
#endif
#include "noise-vault.h"
#include "test_x3dh_store.h"

#include <stdlib.h>
#include <string.h>

static x3dh_session *new_session(veil_vault *v, int role, veil_secret ik, const uint8_t *bun,
                                 size_t blen)
{
    veil_ka_params p;
    x3dh_config c;
    x3dh_session *s = NULL;
    memset(&p, 0, sizeof p);
    p.size = sizeof p;
    p.role = role;
    p.vault = v;
    p.local_static = ik;
    p.peer_bundle = bun;
    p.peer_bundle_len = blen;
    x3dh_config_default(&c);
    assert_int_equal(x3dh_session_new(&c, &p, &s), 0);
    return s;
}

typedef struct pair {
    veil_vault *v;
    veil_secret ik_a, ik_b, spk;
    uint8_t bun[X3DH_BUNDLE_MAX];
    size_t blen;
    x3dh_session *i, *r;
    uint8_t m[128];
    size_t n;
} pair;

/* A fresh matching pair, run until message `upto` (2 or 3) is written
 * into x->m (unread). */
static void pair_to(pair *x, int upto)
{
    uint8_t t[128];
    size_t got = 0;
    tstore_reset();
    assert_int_equal(tstore_add_spk(x->v, x->bun + 3, 5, x->spk, false), 0);
    x->i = new_session(x->v, VEIL_KA_INITIATOR, x->ik_a, x->bun, x->blen);
    x->r = new_session(x->v, VEIL_KA_RESPONDER, x->ik_b, NULL, 0);
    assert_int_equal(x3dh_session_write(x->i, NULL, 0, t, sizeof t, &x->n), 0);
    assert_int_equal(x3dh_session_read(x->r, t, x->n, t, sizeof t, &got), 0);
    assert_int_equal(x3dh_session_write(x->r, NULL, 0, x->m, sizeof x->m, &x->n), 0);
    if (upto == 3) {
        assert_int_equal(x3dh_session_read(x->i, x->m, x->n, t, sizeof t, &got), 0);
        assert_int_equal(x3dh_session_write(x->i, NULL, 0, x->m, sizeof x->m, &x->n), 0);
    }
}

static void pair_free(pair *x)
{
    x3dh_session_free(x->i);
    x3dh_session_free(x->r);
    x->i = x->r = NULL;
}

/* One altered form of message 2 or 3: its length, the byte flipped (-1:
 * none), the expected error and detail (rc 0: the honest message). */
typedef struct bad_msg {
    size_t len;
    int flip;
    int rc;
    const char *what;
} bad_msg;

/* Runs the pair up to message msg (honest_len bytes) and feeds each form to
 * the reader (the initiator for message 2, the responder for 3): a bad form
 * fails the reader, the honest one leaves it at ok_action. */
static void check_bad_reads(pair *x, int msg, size_t honest_len, uint8_t mask,
                            const bad_msg *bad, size_t n_bad, int ok_action)
{
    static uint8_t big[VEIL_KA_MESSAGE_MAX + 1];
    size_t got = 0;
    for (size_t k = 0; k < n_bad; k++) {
        pair_to(x, msg);
        assert_int_equal(x->n, honest_len);
        x3dh_session *reader = msg == 2 ? x->i : x->r;
        memcpy(big, x->m, x->n);
        if (bad[k].flip >= 0)
            big[bad[k].flip] ^= mask;
        assert_int_equal(x3dh_session_read(reader, big, bad[k].len, big, sizeof big, &got),
                         bad[k].rc);
        assert_last_error_contains(bad[k].what);
        assert_int_equal(x3dh_session_next_action(reader),
                         bad[k].rc ? VEIL_KA_FAILED : ok_action);
        pair_free(x);
    }
}

/* Each test: a vault on the build's backend, IK_A, IK_B and an SPK, and
 * Bob's bundle naming SPK 5 (no OPK). */
typedef struct later {
    noise_test_vault tv;
    pair x;
    x3dh_bundle b;
} later;

static int later_up(void **state)
{
    later *l = calloc(1, sizeof *l);
    assert_non_null(l);
    assert_int_equal(noise_test_vault_open(&l->tv, TEST_CRYPTO), 0);
    pair *x = &l->x;
    x->v = l->tv.vault;
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = VEIL_SECRET_X25519;
    assert_int_equal(veil_vault_generate(x->v, &a, &x->ik_a), 0);
    assert_int_equal(veil_vault_generate(x->v, &a, &x->ik_b), 0);
    assert_int_equal(veil_vault_generate(x->v, &a, &x->spk), 0);
    size_t n = 0;
    l->b.spk_id = 5;
    assert_int_equal(veil_vault_public_key(x->v, x->spk, l->b.spk, 32, &n), 0);
    assert_int_equal(x3dh_bundle_sign(x->v, x->ik_b, &l->b), 0);
    assert_int_equal(x3dh_bundle_encode(&l->b, x->bun, sizeof x->bun, &x->blen), 0);
    *state = l;
    return 0;
}

static int later_down(void **state)
{
    later *l = *state;
    pair_free(&l->x);
    assert_int_equal(tstore_open_refs(), 0);
    noise_test_vault_close(&l->tv);
    free(l);
    return 0;
}

static uint8_t big[VEIL_KA_MESSAGE_MAX + 1];

/* Message 2 (49 bytes: Encode(ER) + tag): each bad form fails the
 * initiator; the honest one passes. */
static void test_message2_bad_forms(void **state)
{
    later *l = *state;
    const bad_msg bad2[] = {
        { 48, -1, VEIL_ETRUNCATED, "message 2 is 48 bytes" },
        { VEIL_KA_MESSAGE_MAX + 1, -1, VEIL_ELIMIT, "message 2 is 65536 bytes" },
        { 49, 40, VEIL_EAUTH, "message 2 does not authenticate" }, /* the tag */
        { 49, 5, VEIL_EAUTH, "message 2 does not authenticate" },  /* another ER */
        { 49, -1, 0, "" },
    };
    check_bad_reads(&l->x, 2, 49, 0x04, bad2, sizeof bad2 / sizeof bad2[0], VEIL_KA_WRITE);
}

/* Message 3 (a bare tag here): the same for the responder. */
static void test_message3_bad_forms(void **state)
{
    later *l = *state;
    const bad_msg bad3[] = {
        { 15, -1, VEIL_ETRUNCATED, "less than the 16-byte tag" },
        { 16, 3, VEIL_EAUTH, "message 3 does not authenticate" },
        { VEIL_KA_MESSAGE_MAX + 1, -1, VEIL_ELIMIT, "message 3 is 65536 bytes" },
        { 16, -1, 0, "" },
    };
    check_bad_reads(&l->x, 3, 16, 0x01, bad3, sizeof bad3 / sizeof bad3[0], VEIL_KA_DONE);
}

/* NULL arguments: refused, and the session stays usable. */
static void test_null_arguments_keep_session_usable(void **state)
{
    later *l = *state;
    size_t n = 0, got = 0;
    pair_to(&l->x, 2);
    assert_error_contains(x3dh_session_read(NULL, l->x.m, l->x.n, big, sizeof big, &got),
                          VEIL_EINVAL, "read_message: NULL argument");
    assert_error_contains(x3dh_session_read(l->x.i, NULL, l->x.n, big, sizeof big, &got),
                          VEIL_EINVAL, "read_message: NULL argument");
    assert_error_contains(x3dh_session_write(NULL, NULL, 0, big, sizeof big, &n), VEIL_EINVAL,
                          "write_message: NULL argument");
    assert_error_contains(x3dh_session_write(l->x.i, NULL, 1, big, sizeof big, &n), VEIL_EINVAL,
                          "write_message: NULL argument");
    assert_error(x3dh_session_split(NULL, NULL), VEIL_EINVAL, "x3dh: split: NULL argument");
    assert_error_contains(x3dh_session_new(NULL, NULL, NULL), VEIL_EINVAL,
                          "session_new: NULL argument");
    assert_int_equal(x3dh_session_next_action(l->x.i), VEIL_KA_READ);
    assert_int_equal(x3dh_session_read(l->x.i, l->x.m, l->x.n, big, sizeof big, &got), 0);
    pair_free(&l->x);
}

/* Writers refuse buffers that are too small. */
static void test_writers_refuse_small_buffers(void **state)
{
    later *l = *state;
    size_t n = 0, got = 0;
    pair_to(&l->x, 2);
    assert_int_equal(x3dh_session_read(l->x.i, l->x.m, l->x.n, big, sizeof big, &got), 0);
    assert_error_contains(x3dh_session_write(l->x.i, NULL, 0, big, 15, &n), VEIL_ELIMIT,
                          "message 3 needs 16 bytes");
    pair_free(&l->x);
    tstore_reset();
    assert_int_equal(tstore_add_spk(l->x.v, l->x.bun + 3, 5, l->x.spk, false), 0);
    l->x.i = new_session(l->x.v, VEIL_KA_INITIATOR, l->x.ik_a, l->x.bun, l->x.blen);
    l->x.r = new_session(l->x.v, VEIL_KA_RESPONDER, l->x.ik_b, NULL, 0);
    assert_int_equal(x3dh_session_write(l->x.i, NULL, 0, l->x.m, sizeof l->x.m, &l->x.n), 0);
    assert_int_equal(x3dh_session_read(l->x.r, l->x.m, l->x.n, l->x.m, sizeof l->x.m, &got), 0);
    assert_error_contains(x3dh_session_write(l->x.r, NULL, 0, l->x.m, 48, &n), VEIL_ELIMIT,
                          "message 2 needs 49 bytes");
    pair_free(&l->x);
}

/* Parameters: prologue (AD appendix) too long, remote_static length. */
static void test_session_parameters(void **state)
{
    later *l = *state;
    veil_ka_params p;
    x3dh_config c;
    x3dh_session *s = NULL;
    static uint8_t app[X3DH_APPENDIX_MAX + 1];
    x3dh_config_default(&c);
    memset(&p, 0, sizeof p);
    p.size = sizeof p;
    p.role = VEIL_KA_RESPONDER;
    p.vault = l->x.v;
    p.local_static = l->x.ik_b;
    p.prologue = app;
    p.prologue_len = sizeof app;
    assert_error_contains(x3dh_session_new(&c, &p, &s), VEIL_ELIMIT,
                          "prologue (AD appendix) of 1025 bytes");
    p.prologue_len = 0;
    p.remote_static = l->b.ik;
    p.remote_static_len = 31;
    assert_error(x3dh_session_new(&c, &p, &s), VEIL_EINVAL,
                 "x3dh: remote_static is 31 bytes, expected 32");
}

/* Bundles are signed with an X25519 identity key only (XEdDSA). */
static void test_bundle_signed_by_x25519_only(void **state)
{
    later *l = *state;
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    veil_secret ed = 0;
    a.type = VEIL_SECRET_ED25519;
    assert_int_equal(veil_vault_generate(l->x.v, &a, &ed), 0);
    assert_error_contains(x3dh_bundle_sign(l->x.v, ed, &l->b), VEIL_ETYPE,
                          "signing a bundle: the identity key is a");
}

#define LATER_TEST(f) cmocka_unit_test_setup_teardown(f, later_up, later_down)
int main(void)
{
    const struct CMUnitTest tests[] = {
        LATER_TEST(test_message2_bad_forms),
        LATER_TEST(test_message3_bad_forms),
        LATER_TEST(test_null_arguments_keep_session_usable),
        LATER_TEST(test_writers_refuse_small_buffers),
        LATER_TEST(test_session_parameters),
        LATER_TEST(test_bundle_signed_by_x25519_only),
    };
    return cmocka_run_group_tests_name("x3dh_sessions", tests, NULL, NULL);
}
