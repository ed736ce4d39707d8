/* The X3DH prekey store (plugins/x3dh/x3dh_store.c, x3dh_opk.c) through
 * its own API, on both crypto backends: OPKs handed out once in increasing
 * order, consumed once (then a replay), never-issued and never-handed-out
 * ids, refill at the low-water mark, exhaustion and require_opk, SPK lookup
 * and signature, batches for a directory and the directory's reports, the
 * hold time of a handed-out OPK (kept whatever is handed out after it,
 * expired after it), the cap on handed-out OPKs, the registry (lookup,
 * last close destroys the secrets), argument errors.  Time-based rotation and grace:
 * tests/unit/x3dh/test_channel_x3dh.c (spk_rotate_s has a 1-second resolution). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"

/* The backend of the single-backend tests: whichever this build has. */
#ifdef VEIL_HAVE_OPENSSL
#define TEST_CRYPTO "openssl"
#else
#define TEST_CRYPTO "sodium"
#endif

#include <veil/veil.h>

#include "x3dh_prekeys.h"

typedef struct fx {
    veil_node *node;
    veil_context *app;
    veil_vault *v;
    veil_secret ik;
    uint8_t ik_pub[32];
} fx;

static void fx_up(fx *f, const char *crypto)
{
    char text[128];
    veil_config *cfg;
    snprintf(text, sizeof text, "[vault]\nplugin = software\ncrypto = %s\n", crypto);
    assert_int_equal(veil_config_new_from_text(&cfg, text, "<test>"), 0);
    veil_node_options o = { .size = sizeof o, .config = cfg };
    assert_int_equal(veil_node_new(&f->node, &f->app, &o), 0);
    veil_config_free(cfg);
    assert_int_equal(veil_vault_open(f->node, NULL, &f->v), 0);
    veil_secret_attrs a = { .type = VEIL_SECRET_X25519 };
    size_t n;
    assert_int_equal(veil_vault_generate(f->v, &a, &f->ik), 0);
    assert_int_equal(veil_vault_public_key(f->v, f->ik, f->ik_pub, 32, &n), 0);
}

static void fx_down(fx *f)
{
    veil_vault_close(f->v);
    assert_int_equal(veil_node_free(f->node), 0);
}

static x3dh_store_config cfg_of(unsigned count, unsigned low, bool require)
{
    x3dh_store_config c = { .spk_rotate_ms = 3600000, .spk_grace_ms = 3600000,
                            .opk_count = count, .opk_low_water = low, .opk_hold_ms = 60000,
                            .opk_issued_max = 1000, .require_opk = require };
    return c;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void opks_once(const char *crypto)
{
    fx f;
    fx_up(&f, crypto);
    x3dh_store_config c = cfg_of(3, 0, false);
    x3dh_store *s, *same;
    x3dh_bundle b[4];
    assert_int_equal(x3dh_store_open(f.v, f.ik, &c, &s), 0);
    assert_int_equal(x3dh_store_lookup(f.v, f.ik_pub, &same), 0);
    assert_ptr_equal(same, s);
    for (int i = 0; i < 4; i++)
        assert_int_equal(x3dh_store_bundle(s, &b[i]), 0);
    for (int i = 0; i < 3; i++) {
        assert_true(b[i].has_opk);
        assert_memory_equal(b[i].ik, f.ik_pub, 32);
        assert_int_equal(x3dh_bundle_verify(f.v, &b[i]), 0); /* XEdDSA by IK */
        if (i > 0)
            assert_int_equal(b[i].opk_id, b[i - 1].opk_id + 1);
    }
    assert_false(b[3].has_opk); /* exhausted, no refill: 3-DH */
    x3dh_store_stats st;
    x3dh_store_get_stats(s, &st);
    assert_int_equal(st.opk_fresh, 0);
    assert_int_equal(st.opk_issued, 3);
    assert_int_equal(st.bundles_without_opk, 1);
    /* Handed out: found; consumed: destroyed, then a replay. */
    veil_secret k;
    uint8_t pub[32];
    assert_int_equal(x3dh_store_find_opk(s, b[0].opk_id, &k, pub), 0);
    assert_memory_equal(pub, b[0].opk, 32);
    assert_int_equal(x3dh_store_consume_opk(s, b[0].opk_id), 0);
    veil_secret_attrs attrs;
    assert_int_equal(veil_vault_attributes(f.v, k, &attrs), VEIL_EBADHANDLE);
    assert_error_contains(x3dh_store_find_opk(s, b[0].opk_id, &k, pub), VEIL_EREPLAY,
                          "already used");
    assert_int_equal(x3dh_store_consume_opk(s, b[0].opk_id), VEIL_EREPLAY);
    assert_error_contains(x3dh_store_find_opk(s, b[2].opk_id + 1, &k, pub), VEIL_ENOTFOUND,
                          "never issued");
    assert_int_equal(x3dh_store_find_opk(s, b[0].opk_id - 1, &k, pub), VEIL_ENOTFOUND);
    x3dh_store_get_stats(s, &st);
    assert_int_equal(st.opk_consumed, 1);
    assert_int_equal(st.opk_issued, 2);
    /* SPK: the bundle's, by id; another id is unknown. */
    assert_int_equal(x3dh_store_find_spk(s, b[0].spk_id, &k, pub), 0);
    assert_memory_equal(pub, b[0].spk, 32);
    assert_int_equal(st.spk_id, b[0].spk_id);
    assert_error_contains(x3dh_store_find_spk(s, b[0].spk_id + 1, &k, pub), VEIL_ENOTFOUND,
                          "unknown");
    /* The last reference frees the store and destroys its secrets. */
    veil_secret opk1;
    assert_int_equal(x3dh_store_find_opk(s, b[1].opk_id, &opk1, pub), 0);
    x3dh_store_release(same);
    assert_int_equal(x3dh_store_lookup(f.v, f.ik_pub, &same), 0);
    x3dh_store_release(same);
    x3dh_store_close(s, true);
    assert_error_contains(x3dh_store_lookup(f.v, f.ik_pub, &same), VEIL_ENOTFOUND,
                          "no prekey store");
    assert_int_equal(veil_vault_attributes(f.v, opk1, &attrs), VEIL_EBADHANDLE);
    assert_int_equal(veil_vault_attributes(f.v, k, &attrs), VEIL_EBADHANDLE);
    fx_down(&f);
}

#ifdef VEIL_HAVE_SODIUM
static void test_opks_once_sodium(void **state)
{
    (void)state;
    opks_once("sodium");
}
#endif

#ifdef VEIL_HAVE_OPENSSL
static void test_opks_once_openssl(void **state)
{
    (void)state;
    opks_once("openssl");
}
#endif

/* A fresh OPK that no bundle named cannot be used or consumed. */
static void test_not_handed_out(void **state)
{
    (void)state;
    fx f;
    fx_up(&f, TEST_CRYPTO);
    x3dh_store_config c = cfg_of(2, 0, false);
    x3dh_store *s;
    x3dh_bundle spk;
    uint32_t ids[2];
    uint8_t pubs[2][32], pub[32];
    unsigned n;
    veil_secret k;
    assert_int_equal(x3dh_store_open(f.v, f.ik, &c, &s), 0);
    assert_int_equal(x3dh_store_batch(s, 1, &spk, 1, ids, pubs, &n), 0);
    assert_int_equal(n, 1);
    assert_false(spk.has_opk);
    assert_int_equal(x3dh_bundle_verify(f.v, &spk), 0);
    assert_error_contains(x3dh_store_find_opk(s, ids[0] + 1, &k, pub), VEIL_ENOTFOUND,
                          "never handed out");
    assert_int_equal(x3dh_store_consume_opk(s, ids[0] + 1), VEIL_ENOTFOUND);
    assert_int_equal(x3dh_store_find_opk(s, ids[0], &k, pub), 0);
    assert_memory_equal(pub, pubs[0], 32);
    /* The batch takes what is left: one more, then none. */
    assert_int_equal(x3dh_store_batch(s, 1, &spk, 5, ids, pubs, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(x3dh_store_batch(s, 1, &spk, 5, ids, pubs, &n), 0);
    assert_int_equal(n, 0);
    x3dh_store_close(s, true);
    fx_down(&f);
}

/* opk_count 5, low water 2: no refill while 2 are fresh; the bundle that
 * leaves 1 refills to 5. */
static void test_refill(void **state)
{
    (void)state;
    fx f;
    fx_up(&f, TEST_CRYPTO);
    x3dh_store_config c = cfg_of(5, 2, false);
    x3dh_store *s;
    x3dh_bundle b;
    x3dh_store_stats st;
    assert_int_equal(x3dh_store_open(f.v, f.ik, &c, &s), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(x3dh_store_bundle(s, &b), 0);
    x3dh_store_get_stats(s, &st);
    assert_int_equal(st.opk_fresh, 2);
    assert_int_equal(st.opk_issued, 3);
    assert_int_equal(x3dh_store_bundle(s, &b), 0);
    x3dh_store_get_stats(s, &st);
    assert_int_equal(st.opk_fresh, 5);
    assert_int_equal(st.opk_issued, 4);
    assert_int_equal(st.bundles_without_opk, 0);
    x3dh_store_close(s, true);
    fx_down(&f);
}

static void test_require_opk(void **state)
{
    (void)state;
    fx f;
    fx_up(&f, TEST_CRYPTO);
    x3dh_store_config c = cfg_of(1, 0, true);
    x3dh_store *s;
    x3dh_bundle b;
    assert_int_equal(x3dh_store_open(f.v, f.ik, &c, &s), 0);
    assert_int_equal(x3dh_store_bundle(s, &b), 0);
    assert_true(b.has_opk);
    assert_error(x3dh_store_bundle(s, &b), VEIL_EAGAIN,
                 "x3dh prekeys: no one-time prekey can be handed out (0 fresh, 1 of "
                 "opk_issued_max 1000 handed out and inside their hold time) and require_opk is "
                 "set: no bundle handed out");
    x3dh_store_close(s, true);
    fx_down(&f);
}

/* The FETCH flood of issue #10 (item 5), at the store: an OPK handed out
 * stays usable however many bundles follow it.  opk_count 2 refilled at 1,
 * opk_issued_max 4: after the first 4 bundles (one of them ours), the
 * next 1000 carry no OPK (3-DH) instead of retiring ours; ours is still
 * found and consumed.  Before the fix the store kept 4 x opk_count issued
 * OPKs and retired the oldest: ours was gone ("already used"). */
static void test_handed_out_opk_survives_flood(void **state)
{
    (void)state;
    fx f;
    fx_up(&f, TEST_CRYPTO);
    x3dh_store_config c = cfg_of(2, 1, false);
    c.opk_issued_max = 4;
    x3dh_store *s;
    x3dh_bundle mine, b;
    x3dh_store_stats st;
    veil_secret k;
    uint8_t pub[32];
    assert_int_equal(x3dh_store_open(f.v, f.ik, &c, &s), 0);
    assert_int_equal(x3dh_store_bundle(s, &mine), 0);
    assert_true(mine.has_opk);
    for (int i = 0; i < 1003; i++) {
        assert_int_equal(x3dh_store_bundle(s, &b), 0);
        assert_int_equal(b.has_opk, i < 3);
    }
    x3dh_store_get_stats(s, &st);
    assert_int_equal(st.opk_issued, 4);
    assert_int_equal(st.opk_fresh, 2);
    assert_int_equal(st.bundles_without_opk, 1000);
    assert_int_equal(st.opk_expired, 0);
    assert_int_equal(x3dh_store_find_opk(s, mine.opk_id, &k, pub), 0);
    assert_memory_equal(pub, mine.opk, 32);
    assert_int_equal(x3dh_store_consume_opk(s, mine.opk_id), 0);
    /* A slot is free again: the next bundle has an OPK. */
    assert_int_equal(x3dh_store_bundle(s, &b), 0);
    assert_true(b.has_opk);
    x3dh_store_close(s, true);
    fx_down(&f);
}

/* opk_hold_ms 100: a handed-out OPK is usable inside its hold time and
 * gone after it (VEIL_EREPLAY naming the hold time), its secret destroyed;
 * the cap it took is free again.  With require_opk a full cap refuses
 * bundles (VEIL_EAGAIN naming opk_issued_max). */
static void test_hold_time(void **state)
{
    (void)state;
    fx f;
    fx_up(&f, TEST_CRYPTO);
    x3dh_store_config c = cfg_of(3, 1, true);
    c.opk_hold_ms = 100;
    c.opk_issued_max = 1;
    x3dh_store *s;
    x3dh_bundle a, b;
    x3dh_store_stats st;
    veil_secret k;
    veil_secret_attrs attrs;
    uint8_t pub[32];
    assert_int_equal(x3dh_store_open(f.v, f.ik, &c, &s), 0);
    assert_int_equal(x3dh_store_bundle(s, &a), 0);
    assert_error_contains(x3dh_store_bundle(s, &b), VEIL_EAGAIN,
                          "1 of opk_issued_max 1 handed out");
    assert_last_error("x3dh prekeys: no one-time prekey can be handed out (2 fresh, 1 of "
                      "opk_issued_max 1 handed out and inside their hold time) and require_opk "
                      "is set: no bundle handed out");
    sleep_ms(50);
    assert_int_equal(x3dh_store_find_opk(s, a.opk_id, &k, pub), 0);
    sleep_ms(80);
    assert_error_contains(x3dh_store_find_opk(s, a.opk_id, &k, pub), VEIL_EREPLAY,
                          "or expired unused (its hold time of 100 ms, opk_hold_s, ran out)");
    assert_int_equal(veil_vault_attributes(f.v, k, &attrs), VEIL_EBADHANDLE);
    assert_int_equal(x3dh_store_consume_opk(s, a.opk_id), VEIL_EREPLAY);
    x3dh_store_get_stats(s, &st);
    assert_int_equal(st.opk_expired, 1);
    assert_int_equal(st.opk_issued, 0);
    assert_int_equal(x3dh_store_bundle(s, &b), 0);
    assert_true(b.has_opk);
    assert_int_equal(b.opk_id, a.opk_id + 1);
    x3dh_store_close(s, true);
    fx_down(&f);
}

/* Published OPKs (a directory's) are usable until the directory reports
 * them gone, then for the hold time; a report concerns only its tag. */
static void test_directory_reports(void **state)
{
    (void)state;
    fx f;
    fx_up(&f, TEST_CRYPTO);
    x3dh_store_config c = cfg_of(4, 0, false);
    c.opk_hold_ms = 100;
    x3dh_store *s;
    x3dh_bundle spk;
    x3dh_store_stats st;
    uint32_t ids[4], other[1];
    uint8_t pubs[4][32], pub[32];
    unsigned n;
    veil_secret k;
    assert_int_equal(x3dh_store_open(f.v, f.ik, &c, &s), 0);
    uint32_t t1 = x3dh_store_new_tag(s), t2 = x3dh_store_new_tag(s);
    assert_int_not_equal(t1, t2);
    assert_int_equal(x3dh_store_batch(s, t1, &spk, 3, ids, pubs, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(x3dh_store_batch(s, t2, &spk, 1, other, pubs + 3, &n), 0);
    assert_int_equal(n, 1);
    x3dh_store_get_stats(s, &st);
    assert_int_equal(st.opk_published, 4);
    /* The directory of t1 holds 1, the oldest ids[2]: ids[0], ids[1] went. */
    assert_int_equal(x3dh_store_report(s, t1, 1, ids[2]), 2);
    x3dh_store_get_stats(s, &st);
    assert_int_equal(st.opk_published, 2);
    assert_int_equal(st.opk_issued, 2);
    sleep_ms(150);
    assert_int_equal(x3dh_store_find_opk(s, ids[0], &k, pub), VEIL_EREPLAY);
    assert_int_equal(x3dh_store_find_opk(s, ids[1], &k, pub), VEIL_EREPLAY);
    assert_int_equal(x3dh_store_find_opk(s, ids[2], &k, pub), 0);
    assert_int_equal(x3dh_store_find_opk(s, other[0], &k, pub), 0);
    /* held 0: every OPK of t1 went; t2's stays published. */
    assert_int_equal(x3dh_store_report(s, t1, 0, 0), 1);
    assert_int_equal(x3dh_store_report(s, t1, 0, 0), 0);
    sleep_ms(150);
    assert_int_equal(x3dh_store_find_opk(s, ids[2], &k, pub), VEIL_EREPLAY);
    assert_int_equal(x3dh_store_find_opk(s, other[0], &k, pub), 0);
    assert_int_equal(x3dh_store_consume_opk(s, other[0]), 0);
    x3dh_store_close(s, true);
    fx_down(&f);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    fx f;
    fx_up(&f, TEST_CRYPTO);
    x3dh_store_config c = cfg_of(1, 0, false);
    x3dh_store *s;
    c.spk_rotate_ms = 0;
    assert_error(x3dh_store_open(f.v, f.ik, &c, &s), VEIL_EINVAL,
                 "x3dh_store_open: spk_rotate_ms, opk_hold_ms and opk_issued_max must be > 0 and "
                 "opk_count <= 10000 (got 1)");
    c = cfg_of(X3DH_OPK_COUNT_MAX + 1, 0, false);
    assert_error_contains(x3dh_store_open(f.v, f.ik, &c, &s), VEIL_EINVAL,
                          "opk_count <= 10000 (got 10001)");
    c = cfg_of(1, 0, false);
    c.opk_hold_ms = 0;
    assert_error_contains(x3dh_store_open(f.v, f.ik, &c, &s), VEIL_EINVAL,
                          "opk_hold_ms and opk_issued_max must be > 0");
    c = cfg_of(1, 0, false);
    c.opk_issued_max = 0;
    assert_int_equal(x3dh_store_open(f.v, f.ik, &c, &s), VEIL_EINVAL);
    c = cfg_of(1, 0, false);
    veil_secret ed;
    veil_secret_attrs a = { .type = VEIL_SECRET_ED25519 };
    assert_int_equal(veil_vault_generate(f.v, &a, &ed), 0);
    assert_error(x3dh_store_open(f.v, ed, &c, &s), VEIL_ETYPE,
                 "x3dh store: the identity key is ed25519, not X25519");
    fx_down(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#ifdef VEIL_HAVE_SODIUM
        cmocka_unit_test(test_opks_once_sodium),
#endif
#ifdef VEIL_HAVE_OPENSSL
        cmocka_unit_test(test_opks_once_openssl),
#endif
        cmocka_unit_test(test_not_handed_out),
        cmocka_unit_test(test_refill),
        cmocka_unit_test(test_require_opk),
        cmocka_unit_test(test_handed_out_opk_survives_flood),
        cmocka_unit_test(test_hold_time),
        cmocka_unit_test(test_directory_reports),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
