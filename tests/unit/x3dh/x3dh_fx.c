/* The X3DH protocol tests' fixture (x3dh_fx.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "x3dh_fx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

veil_secret gen(veil_vault *v)
{
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = VEIL_SECRET_X25519;
    veil_secret s = 0;
    assert_int_equal(veil_vault_generate(v, &a, &s), 0);
    return s;
}

void pub_of(veil_vault *v, veil_secret s, uint8_t out[32])
{
    size_t n = 0;
    assert_int_equal(veil_vault_public_key(v, s, out, 32, &n), 0);
    assert_int_equal(n, 32);
}

int open_fx(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    if (noise_test_vault_open(&f->tv, *state) < 0) {
        fprintf(stderr, "vault %s: %s\n", (const char *)*state, veil_last_error());
        free(f);
        return -1;
    }
    f->v = f->tv.vault;
    f->ik_a = gen(f->v);
    f->ik_b = gen(f->v);
    f->spk = gen(f->v);
    f->opk = gen(f->v);
    f->ek = gen(f->v);
    pub_of(f->v, f->ik_a, f->ik_a_pub);
    pub_of(f->v, f->ik_b, f->ik_b_pub);
    tstore_reset();
    assert_int_equal(tstore_add_spk(f->v, f->ik_b_pub, SPK_ID, f->spk, false), 0);
    assert_int_equal(tstore_add_opk(f->v, f->ik_b_pub, OPK_ID, f->opk), 0);
    x3dh_config_default(&f->cfg);
    *state = f;
    return 0;
}

int close_fx(void **state)
{
    fx *f = *state;
    assert_int_equal(tstore_open_refs(), 0);
    noise_test_vault_close(&f->tv);
    free(f);
    return 0;
}

size_t bundle(fx *f, bool opk, x3dh_bundle *b, uint8_t out[X3DH_BUNDLE_MAX])
{
    size_t n = 0;
    memset(b, 0, sizeof *b);
    b->spk_id = SPK_ID;
    pub_of(f->v, f->spk, b->spk);
    b->has_opk = opk;
    if (opk) {
        b->opk_id = OPK_ID;
        pub_of(f->v, f->opk, b->opk);
    }
    assert_int_equal(x3dh_bundle_sign(f->v, f->ik_b, b), 0);
    assert_int_equal(x3dh_bundle_encode(b, out, X3DH_BUNDLE_MAX, &n), 0);
    return n;
}

veil_ka_params params(fx *f, int role, const uint8_t *bun, size_t blen)
{
    veil_ka_params p;
    memset(&p, 0, sizeof p);
    p.size = sizeof p;
    p.role = role;
    p.vault = f->v;
    p.local_static = role == VEIL_KA_INITIATOR ? f->ik_a : f->ik_b;
    p.peer_bundle = bun;
    p.peer_bundle_len = blen;
    return p;
}


int respond(fx *f, const x3dh_config *c, const uint8_t *m, size_t len)
{
    veil_ka_params p = params(f, VEIL_KA_RESPONDER, NULL, 0);
    x3dh_session *s = NULL;
    uint8_t out[512];
    size_t n = 0;
    assert_int_equal(x3dh_session_new(c, &p, &s), 0);
    int rc = x3dh_session_read(s, m, len, out, sizeof out, &n);
    if (rc < 0)
        assert_int_equal(x3dh_session_next_action(s), VEIL_KA_FAILED);
    x3dh_session_free(s);
    return rc;
}

size_t msg1(fx *f, const uint8_t *bun, size_t blen, veil_secret ek, uint8_t out[512])
{
    veil_ka_params p = params(f, VEIL_KA_INITIATOR, bun, blen);
    p.local_ephemeral = ek;
    x3dh_session *s = NULL;
    size_t n = 0;
    assert_int_equal(x3dh_session_new(&f->cfg, &p, &s), 0);
    assert_int_equal(x3dh_session_write(s, NULL, 0, out, 512, &n), 0);
    x3dh_session_free(s);
    return n;
}
