/* X3DH prekey rules on each crypto backend, one per test (docs/X3DH.md
 * "Security rules"): a forged message 1 leaves the OPK; an OPK is consumed
 * once; OPKs never issued, unknown and expired SPKs are refused;
 * require_opk on the responder; no store at all.  Each with its exact code
 * and detail. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include "config.h"
#include "backends.h"
#include "x3dh_fx.h"

#include <string.h>

/* A bundle (with the OPK when opk) and a first message made from it. */
typedef struct first {
    x3dh_bundle b;
    uint8_t bun[X3DH_BUNDLE_MAX], m[512];
    size_t blen, n;
} first;

static void first_new(fx *f, bool opk, first *x)
{
    x->blen = bundle(f, opk, &x->b, x->bun);
    x->n = msg1(f, x->bun, x->blen, 0, x->m);
}

/* After a change to x->b: encode it again (signed again when sign) and
 * make a new first message from it. */
static void first_again(fx *f, first *x, bool sign)
{
    if (sign)
        assert_int_equal(x3dh_bundle_sign(f->v, f->ik_b, &x->b), 0);
    assert_int_equal(x3dh_bundle_encode(&x->b, x->bun, sizeof x->bun, &x->blen), 0);
    x->n = msg1(f, x->bun, x->blen, 0, x->m);
}

/* Wrong IK_A in the header: AEAD fails, the OPK stays. */
static void test_opk_forged_header_keeps_it(void **state)
{
    fx *f = *state;
    first x;
    uint8_t forged[512];
    first_new(f, true, &x);
    memcpy(forged, x.m, x.n);
    forged[3] ^= 0x02; /* still a valid key, just another one */
    assert_error_contains(respond(f, &f->cfg, forged, x.n), VEIL_EAUTH,
                          "message 1 does not authenticate");
    assert_int_equal(tstore_opk_available(f->v, f->ik_b_pub, OPK_ID), 1);
}

/* The genuine message is accepted and consumes the OPK, so its replay is
 * refused, as is any new message naming it. */
static void test_opk_consumed_once(void **state)
{
    static const char used[] = "x3dh: message 1 names one-time prekey 42: test store: one-time "
                               "prekey 42 was already used";
    fx *f = *state;
    first x;
    first_new(f, true, &x);
    assert_int_equal(respond(f, &f->cfg, x.m, x.n), 0);
    assert_int_equal(tstore_opk_available(f->v, f->ik_b_pub, OPK_ID), 0);
    assert_error(respond(f, &f->cfg, x.m, x.n), VEIL_EREPLAY, used);
    x.n = msg1(f, x.bun, x.blen, 0, x.m);
    assert_error(respond(f, &f->cfg, x.m, x.n), VEIL_EREPLAY, used);
}

/* An OPK the store never issued. */
static void test_opk_never_issued(void **state)
{
    fx *f = *state;
    first x;
    first_new(f, true, &x);
    x.b.opk_id = 43;
    first_again(f, &x, true);
    assert_error(respond(f, &f->cfg, x.m, x.n), VEIL_ENOTFOUND,
                 "x3dh: message 1 names one-time prekey 43: test store: no one-time prekey 43");
}

/* Unknown and expired SPKs. */
static void test_spk_unknown_or_expired(void **state)
{
    fx *f = *state;
    first x;
    first_new(f, true, &x);
    x.b.has_opk = false;
    x.b.spk_id = 8;
    first_again(f, &x, false);
    assert_error(respond(f, &f->cfg, x.m, x.n), VEIL_ENOTFOUND,
                 "x3dh: message 1 names signed prekey 8: test store: no signed prekey 8");
    veil_secret old = gen(f->v);
    assert_int_equal(tstore_add_spk(f->v, f->ik_b_pub, 9, old, true), 0);
    pub_of(f->v, old, x.b.spk);
    x.b.spk_id = 9;
    first_again(f, &x, true);
    assert_error(respond(f, &f->cfg, x.m, x.n), VEIL_ETIMEDOUT,
                 "x3dh: message 1 names signed prekey 9: test store: signed prekey 9 expired "
                 "beyond its grace period");
}

/* require_opk on the responder refuses a bundle without an OPK; without
 * it, the same message is accepted. */
static void test_require_opk_on_responder(void **state)
{
    fx *f = *state;
    first x;
    first_new(f, false, &x);
    x3dh_config c = f->cfg;
    c.require_opk = true;
    assert_error(respond(f, &c, x.m, x.n), VEIL_EDENIED,
                 "x3dh: message 1 uses no one-time prekey and require_opk is set");
    assert_int_equal(respond(f, &f->cfg, x.m, x.n), 0);
}

/* No store at all for this identity key. */
static void test_no_prekey_store(void **state)
{
    fx *f = *state;
    first x;
    first_new(f, false, &x);
    tstore_reset();
    assert_error(respond(f, &f->cfg, x.m, x.n), VEIL_ENOTFOUND,
                 "x3dh: no prekey store for this identity key: test store: no store for this "
                 "identity key");
}

#define RULE(f, b) cmocka_unit_test_prestate_setup_teardown(f, open_fx, close_fx, b)
#define CRYPTO_TESTS(b) \
    RULE(test_opk_forged_header_keeps_it, b), \
    RULE(test_opk_consumed_once, b), \
    RULE(test_opk_never_issued, b), \
    RULE(test_spk_unknown_or_expired, b), \
    RULE(test_require_opk_on_responder, b), \
    RULE(test_no_prekey_store, b)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FOR_EACH_BACKEND(CRYPTO_TESTS)
    };
    return cmocka_run_group_tests_name("x3dh_prekey_rules", tests, NULL, NULL);
}
