/* The vault core's persistence hooks (what the file vault builds on),
 * exercised directly on libvaultcore for every backend: the change hook
 * fires once per change to the set of persistent secrets and never for
 * ephemeral ones or vc_insert; a failing hook undoes a creation;
 * vc_foreach_persistent hands out exactly the persistent secrets with
 * their bytes; vc_insert re-creates them with the same key ids. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include "config.h"

#include <string.h>

#include <veil/error.h>
#include <veil/vault.h>

#include "vault_core.h"

static const char *const backends[] = {
#ifdef VEIL_HAVE_SODIUM
    "sodium",
#endif
#ifdef VEIL_HAVE_OPENSSL
    "openssl",
#endif
};
#define N_BACKENDS (sizeof backends / sizeof backends[0])

typedef struct hook_state {
    int calls;
    int fail_with;
} hook_state;

static int hook(void *arg, vc_vault *v)
{
    hook_state *h = arg;
    (void)v;
    h->calls++;
    return h->fail_with ? veil_error_set(h->fail_with, "test hook refuses") : 0;
}

static veil_secret_attrs attrs(int type, int persistence, const char *label)
{
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = type;
    a.persistence = persistence;
    a.exportable = true;
    strcpy(a.label, label);
    return a;
}

typedef struct dump {
    int n;
    veil_secret_attrs a[8];
    uint8_t bytes[8][64];
    size_t len[8];
} dump;

static int collect(void *arg, veil_secret h, const veil_secret_attrs *a, const uint8_t *b, size_t n)
{
    dump *d = arg;
    (void)h;
    assert_true(d->n < 8);
    d->a[d->n] = *a;
    memcpy(d->bytes[d->n], b, n);
    d->len[d->n] = n;
    d->n++;
    return 0;
}

static void one_backend(const char *name)
{
    const vc_backend *be;
    vc_vault *v, *v2;
    hook_state hs = { 0, 0 };
    veil_secret s, eph, outs[2];
    assert_int_equal(vc_backend_by_name(name, &be), 0);
    assert_string_equal(be->name, name);
    assert_int_equal(vc_new(be, &v), 0);
    vc_set_change_hook(v, hook, &hs);

    veil_secret_attrs id = attrs(VEIL_SECRET_ED25519, VEIL_PERSISTENT, "identity");
    assert_int_equal(vc_op_generate(v, &id, &s), 0);
    assert_int_equal(hs.calls, 1);
    veil_secret_attrs e = attrs(VEIL_SECRET_X25519, VEIL_EPHEMERAL, "");
    assert_int_equal(vc_op_generate(v, &e, &eph), 0);
    assert_int_equal(hs.calls, 1); /* ephemeral: no call */

    /* HKDF with two persistent outputs: one change, one call */
    veil_secret_attrs oa[2] = { attrs(VEIL_SECRET_BUFFER, VEIL_PERSISTENT, "k1"),
                                attrs(VEIL_SECRET_CHACHAPOLY, VEIL_PERSISTENT, "k2") };
    oa[0].length = 32;
    veil_vault_input ikm = { 0, (const uint8_t *)"ikm", 3 }, salt = { 0, NULL, 0 };
    assert_int_equal(vc_op_hkdf(v, VEIL_HASH_SHA256, &salt, &ikm, 1, NULL, 0, oa, 2, outs), 0);
    assert_int_equal(hs.calls, 2);

    /* a failing hook undoes the creation */
    hs.fail_with = VEIL_EIO;
    veil_secret_attrs p = attrs(VEIL_SECRET_AES256GCM, VEIL_PERSISTENT, "doomed");
    veil_secret doomed = 0;
    assert_int_equal(vc_op_generate(v, &p, &doomed), VEIL_EIO);
    assert_int_equal(doomed, 0);
    assert_int_equal(vc_op_find_by_label(v, "doomed", &doomed), VEIL_ENOTFOUND);
    hs.fail_with = 0;

    /* destroy of a persistent secret is a change */
    int before = hs.calls;
    assert_int_equal(vc_op_secret_destroy(v, outs[0]), 0);
    assert_int_equal(hs.calls, before + 1);

    /* enumerate: identity and k2 only */
    dump d;
    memset(&d, 0, sizeof d);
    assert_int_equal(vc_foreach_persistent(v, collect, &d), 0);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.a[0].label, "identity");
    assert_string_equal(d.a[1].label, "k2");

    /* re-insert into a fresh vault: same key id, no hook call */
    hook_state hs2 = { 0, 0 };
    assert_int_equal(vc_new(be, &v2), 0);
    vc_set_change_hook(v2, hook, &hs2);
    veil_secret r[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(vc_insert(v2, &d.a[i], d.bytes[i], d.len[i], &r[i]), 0);
    assert_int_equal(hs2.calls, 0);
    uint8_t pa[32], pb[32];
    size_t n;
    assert_int_equal(vc_op_public_key(v, s, pa, sizeof pa, &n), 0);
    assert_int_equal(vc_op_public_key(v2, r[0], pb, sizeof pb, &n), 0);
    assert_memory_equal(pa, pb, 32);
    veil_secret found;
    assert_int_equal(vc_op_find_by_label(v2, "k2", &found), 0);
    assert_int_equal(found, r[1]);
    /* labels stay unique on insert too */
    assert_int_equal(vc_insert(v2, &d.a[0], d.bytes[0], d.len[0], &found), VEIL_EEXIST);
    memset(&d, 0, sizeof d);
    vc_free(v2);
    vc_free(v);
}

static void test_hooks_every_backend(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_BACKENDS; i++)
        one_backend(backends[i]);
}

static void test_backend_names(void **state)
{
    (void)state;
    const vc_backend *be;
    assert_error_contains(vc_backend_by_name("gnutls", &be), VEIL_EINVAL,
                          "accepted: sodium, openssl");
#ifndef VEIL_HAVE_SODIUM
    assert_int_equal(vc_backend_by_name("sodium", &be), VEIL_EUNSUPPORTED);
#endif
#ifndef VEIL_HAVE_OPENSSL
    assert_int_equal(vc_backend_by_name("openssl", &be), VEIL_EUNSUPPORTED);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hooks_every_backend),
        cmocka_unit_test(test_backend_names),
    };
    return cmocka_run_group_tests_name("vault core", tests, NULL, NULL);
}
