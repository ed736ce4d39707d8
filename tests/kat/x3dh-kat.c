/* X3DH known-answer runner: reads a JSON file of fixed keys and expected
 * results (tests/vectors/x3dh-python.json, made by python3-x3dh with
 * tests/vectors/gen_x3dh.py; any file of the same shape works) and checks
 * veil on one crypto backend:
 *   - the bundle decodes, its keys are the public keys of the private keys;
 *   - the SPK signature verifies exactly when "sig_valid" is true;
 *   - for valid ones: SK from the initiator's side (IK_A, EK, bundle) and
 *     from the responder's (IK_B, SPK, OPK, IK_A, EK_A), and AD, equal
 *     the expected bytes.
 * Prints "ok NAME" / "FAIL NAME: why" per vector and a summary line;
 * exit 0 when every vector passed.
 *
 * usage: x3dh-kat --crypto openssl|sodium FILE.json */
#include "config.h"
#include "json.h"
#include "noise-vault.h"
#include "x3dh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char why[512];

#define CHECK(cond, ...)                                  \
    do {                                                  \
        if (!(cond)) {                                    \
            snprintf(why, sizeof why, __VA_ARGS__);       \
            goto out;                                     \
        }                                                 \
    } while (0)

/* hex -> bytes; -1 when absent, malformed or too long. */
static long hex(const json_t *v, const char *k, uint8_t *out, size_t cap)
{
    size_t n = 0;
    char bad[128];
    return tjson_hex(v, k, out, cap, &n, bad, sizeof bad) == TJSON_OK ? (long)n : -1;
}

static int import(veil_vault *v, const json_t *t, const char *k, veil_secret *s,
                  uint8_t pub[32])
{
    uint8_t priv[32];
    size_t n = 0;
    if (hex(t, k, priv, sizeof priv) != 32 ||
        noise_test_import(v, VEIL_SECRET_X25519, priv, 32, s) < 0 ||
        veil_vault_public_key(v, *s, pub, 32, &n) < 0)
        return -1;
    return 0;
}

static bool same_secret(veil_vault *v, veil_secret s, const uint8_t *want)
{
    uint8_t got[32];
    size_t n = 0;
    return veil_vault_export(v, s, got, sizeof got, &n) == 0 && n == 32 &&
           memcmp(got, want, 32) == 0;
}

static int run_one(veil_vault *v, const json_t *t)
{
    veil_secret ik_a = 0, ik_b = 0, spk = 0, opk = 0, ek = 0, sk_i = 0, sk_r = 0;
    uint8_t pa[32], pb[32], ps[32], po[32], pe[32], raw[X3DH_BUNDLE_MAX + 1];
    uint8_t want_sk[32], want_ad[X3DH_AD_MAX], ad[X3DH_AD_MAX], app[X3DH_APPENDIX_MAX];
    size_t ad_len = 0;
    x3dh_bundle b;
    bool valid = false;
    int valid_rc = tjson_bool(t, "sig_valid", &valid);
    const char *info = tjson_str(t, "info");
    long blen = hex(t, "bundle", raw, sizeof raw), alen = hex(t, "appendix", app, sizeof app);
    bool has_opk = tjson_str(t, "opk_priv") != NULL;
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = VEIL_SECRET_BUFFER;
    a.exportable = true;
    a.length = 32;
    why[0] = '\0';
    CHECK(info != NULL && blen > 0 && alen >= 0 && valid_rc == TJSON_OK,
          "malformed vector (info, bundle, appendix, sig_valid)");
    CHECK(import(v, t, "ik_a_priv", &ik_a, pa) == 0 && import(v, t, "ik_b_priv", &ik_b, pb) == 0 &&
          import(v, t, "spk_priv", &spk, ps) == 0 && import(v, t, "ek_priv", &ek, pe) == 0 &&
          (!has_opk || import(v, t, "opk_priv", &opk, po) == 0),
          "importing the private keys: %s", veil_last_error());
    CHECK(x3dh_bundle_decode(raw, (size_t)blen, &b) == 0, "bundle: %s", veil_last_error());
    CHECK(memcmp(b.spk, ps, 32) == 0 && b.has_opk == has_opk && (!has_opk || !memcmp(b.opk, po, 32)),
          "the bundle's SPK/OPK are not the public keys of spk_priv/opk_priv");
    int rc = x3dh_bundle_verify(v, &b);
    if (!valid) {
        CHECK(rc == VEIL_EAUTH, "signature accepted (rc %d), expected rejection", rc);
        goto out;
    }
    CHECK(rc == 0, "signature rejected: %s", veil_last_error());
    CHECK(memcmp(b.ik, pb, 32) == 0, "the bundle's IK is not the public key of ik_b_priv");
    CHECK(hex(t, "sk", want_sk, sizeof want_sk) == 32, "malformed sk");
    long want_ad_len = hex(t, "ad", want_ad, sizeof want_ad);
    CHECK(x3dh_derive_initiator(v, ik_a, ek, &b, (const uint8_t *)info, strlen(info), &a, &sk_i) == 0,
          "initiator SK: %s", veil_last_error());
    CHECK(same_secret(v, sk_i, want_sk), "initiator SK differs");
    CHECK(x3dh_derive_responder(v, ik_b, spk, opk, pa, pe, (const uint8_t *)info, strlen(info), &a,
                                &sk_r) == 0, "responder SK: %s", veil_last_error());
    CHECK(same_secret(v, sk_r, want_sk), "responder SK differs");
    CHECK(x3dh_make_ad(pa, pb, app, (size_t)alen, ad, sizeof ad, &ad_len) == 0 &&
          (long)ad_len == want_ad_len && memcmp(ad, want_ad, ad_len) == 0, "AD differs");
out:;
    veil_secret all[7] = { ik_a, ik_b, spk, opk, ek, sk_i, sk_r };
    for (int i = 0; i < 7; i++)
        if (all[i] != 0 && veil_vault_secret_destroy(v, all[i]) < 0)
            snprintf(why, sizeof why, "destroy: %s", veil_last_error());
    return why[0] ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc != 4 || strcmp(argv[1], "--crypto") != 0) {
        fprintf(stderr, "usage: x3dh-kat --crypto openssl|sodium FILE.json\n");
        return 2;
    }
    char err[512];
    json_t *doc = tjson_load(argv[3], err, sizeof err);
    if (doc == NULL) {
        fprintf(stderr, "x3dh-kat: %s\n", err);
        return 2;
    }
    noise_test_vault tv;
    if (noise_test_vault_open(&tv, argv[2]) < 0) {
        fprintf(stderr, "x3dh-kat: vault %s: %s\n", argv[2], veil_last_error());
        json_decref(doc);
        return 2;
    }
    const json_t *vs = tjson_array(doc, "vectors"), *t;
    size_t pass = 0, total = json_array_size(vs), i;
    json_array_foreach(vs, i, t) {
        const char *name = tjson_str(t, "name");
        if (run_one(tv.vault, t) == 0) {
            pass++;
            printf("ok %s\n", name ? name : "?");
        } else {
            printf("FAIL %s: %s\n", name ? name : "?", why);
        }
    }
    printf("%zu/%zu x3dh vectors passed on %s\n", pass, total, argv[2]);
    noise_test_vault_close(&tv);
    json_decref(doc);
    return total > 0 && pass == total ? 0 : 1;
}
