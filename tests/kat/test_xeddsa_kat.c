/* XEdDSA known answers: python3-xeddsa's vectors (tests/vectors/xeddsa.json,
 * made by tests/vectors/gen_xeddsa.py), read through the tests' JSON reader,
 * on both backends' hooks: every valid vector's public key, signature (and
 * the spec's own bytes) match; every invalid one is rejected naming the
 * spec check that fails. */
#include "xeddsa_test.h"
#include "json.h"

#include <sodium.h>

/* tests/vectors/xeddsa.json (see gen_xeddsa.py), through the tests' JSON
 * reader. */
static int vec_hex(const json_t *t, const char *key, uint8_t *out, size_t cap)
{
    size_t n = 0;
    char why[128];
    int rc = tjson_hex(t, key, out, cap, &n, why, sizeof why);
    if (rc == TJSON_BAD)
        fail_msg("%s", why);
    return rc == TJSON_OK ? (int)n : -1;
}

static void check_vector(const json_t *t, int *nvalid, int *ninvalid)
{
    static uint8_t msg[4096];
    uint8_t priv[32], pub[32], z[64], sig[64], ours[64], spec[64];
    bool valid = false;
    long long ed_sign = 0;
    int mlen = vec_hex(t, "msg", msg, sizeof msg);
    assert_true(mlen >= 0);
    assert_int_equal(vec_hex(t, "pub", pub, 32), 32);
    assert_int_equal(vec_hex(t, "sig", sig, 64), 64);
    assert_int_equal(tjson_bool(t, "valid", &valid), TJSON_OK);
    if (valid) {
        assert_int_equal(vec_hex(t, "priv", priv, 32), 32);
        assert_int_equal(vec_hex(t, "nonce", z, 64), 64);
        our_x25519_public(ours, priv);
        assert_memory_equal(ours, pub, 32);
        assert_int_equal(verify(pub, msg, (size_t)mlen, sig), 0);
        assert_int_equal(tjson_int(t, "ed_sign", &ed_sign), TJSON_OK);
        int bit = ed_sign == 1 ? 1 : 0;
        assert_int_equal(ed_sign_bit(priv), bit);
        /* The spec's bytes (Python-integer transcription of the spec). */
        assert_int_equal(vec_hex(t, "spec_sig", spec, 64), 64);
        assert_int_equal(veil_xeddsa_sign(priv, msg, (size_t)mlen, z, hk, ours), 0);
        assert_memory_equal(ours, spec, 64);
        /* libxeddsa's bytes: the same with sign bit 1, its variant with 0. */
        if (!bit)
            sign_libxeddsa_variant(priv, msg, (size_t)mlen, z, ours);
        assert_memory_equal(ours, sig, 64);
        (*nvalid)++;
    } else {
        const char *reason = tjson_str(t, "reason");
        assert_non_null(reason);
        assert_rejected(verify(pub, msg, (size_t)mlen, sig), reason);
        (*ninvalid)++;
    }
}

static void test_stored_vectors(void **state)
{
    use_hooks(state);
    char why[512];
    int nvalid = 0, ninvalid = 0;
    size_t i;
    const json_t *t;
    json_t *doc = tjson_load_src("tests/vectors/xeddsa.json", why, sizeof why);
    if (doc == NULL)
        fail_msg("%s", why);
    json_array_foreach(tjson_array(doc, "vectors"), i, t)
        check_vector(t, &nvalid, &ninvalid);
    json_decref(doc);
    assert_true(nvalid >= 20);
    assert_true(ninvalid >= 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_stored_vectors),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests_name("xeddsa_kat", tests, NULL, NULL);
}
