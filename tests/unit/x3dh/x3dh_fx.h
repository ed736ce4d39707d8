/* The X3DH protocol tests' fixture (test_x3dh.c, test_x3dh_prekey_rules.c):
 * a vault on the backend named by the test's prestate, IK_A, IK_B, an SPK
 * and an OPK in the in-test store, and the helpers that build bundles and
 * first messages and feed them to a fresh responder. */
#ifndef VEIL_TESTS_X3DH_FX_H
#define VEIL_TESTS_X3DH_FX_H

#include "noise-vault.h"
#include "test_x3dh_store.h"

#define SPK_ID 7u
#define OPK_ID 42u

typedef struct fx {
    noise_test_vault tv;
    veil_vault *v;
    veil_secret ik_a, ik_b, spk, opk, ek;
    uint8_t ik_a_pub[32], ik_b_pub[32];
    x3dh_config cfg;
} fx;

veil_secret gen(veil_vault *v);
void pub_of(veil_vault *v, veil_secret s, uint8_t out[32]);
/* cmocka setup/teardown; the prestate names the crypto backend. */
int open_fx(void **state);
int close_fx(void **state);
/* The responder's bundle, signed by IK_B (with the OPK when opk). */
size_t bundle(fx *f, bool opk, x3dh_bundle *b, uint8_t out[X3DH_BUNDLE_MAX]);
veil_ka_params params(fx *f, int role, const uint8_t *bun, size_t blen);
/* Responder reads m (message 1) with a fresh session. */
int respond(fx *f, const x3dh_config *c, const uint8_t *m, size_t len);
/* Message 1 of a new initiator (the session is freed). */
size_t msg1(fx *f, const uint8_t *bun, size_t blen, veil_secret ek, uint8_t out[512]);

#endif
