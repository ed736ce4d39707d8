/* ECDSA P-256 with SHA-256 on every vault row (part of the conformance
 * suite).  Known answers: RFC 6979 A.2.5 (key, public point, the
 * signatures of "sample" and "test" with SHA-256), re-checked against
 * python3-cryptography; the signature of "sample" there has a high s, so
 * veil (low S only, docs/PROTOCOL.md "Identity key types") refuses it as
 * published and accepts it with s replaced by n - s. */
#include "test_vault.h"

#define RFC6979_D "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721"
/* Uy ends ...99: odd, so the compressed prefix is 03. */
#define RFC6979_PUB "0360FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
#define SAMPLE_R "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
#define SAMPLE_S_HIGH "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"
#define SAMPLE_S_LOW "0834E36AD29A83BF2BC9385E491D6099C8FDF9D1ED67AA7EA5F51F93782857A9"
#define TEST_R "F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367"
#define TEST_S "019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083"
#define ORDER_N "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"

static void sig_of(const char *r, const char *s, uint8_t sig[64])
{
    assert_int_equal(unhex(r, sig, 32), 32);
    assert_int_equal(unhex(s, sig + 32, 32), 32);
}

static int verify(veil_vault *v, const uint8_t *pub, const char *msg, const uint8_t sig[64])
{
    return veil_vault_verify(v, VEIL_SECRET_P256, pub, VEIL_P256_PUBLIC_BYTES,
                             (const uint8_t *)msg, strlen(msg), sig);
}

void test_p256_rfc6979(void **state)
{
    veil_vault *v = V(state);
    uint8_t pub[VEIL_P256_PUBLIC_BYTES], want[VEIL_P256_PUBLIC_BYTES], sig[64];
    size_t n;
    veil_secret k = import_hex(v, VEIL_SECRET_P256, RFC6979_D, false);
    assert_int_equal(veil_vault_public_key(v, k, pub, sizeof pub, &n), 0);
    assert_int_equal(n, VEIL_P256_PUBLIC_BYTES);
    unhex(RFC6979_PUB, want, sizeof want);
    assert_memory_equal(pub, want, sizeof want);

    sig_of(TEST_R, TEST_S, sig);
    assert_int_equal(verify(v, pub, "test", sig), 0);
    assert_error_contains(verify(v, pub, "tesu", sig), VEIL_EAUTH, "not a valid P-256 signature");
    sig_of(SAMPLE_R, SAMPLE_S_LOW, sig);
    assert_int_equal(verify(v, pub, "sample", sig), 0);
    sig_of(SAMPLE_R, SAMPLE_S_HIGH, sig);   /* as published: high S */
    assert_error_contains(verify(v, pub, "sample", sig), VEIL_EAUTH, "low S only");

    /* Our own signature verifies, has a low s, and is of the key. */
    assert_int_equal(veil_vault_sign(v, k, (const uint8_t *)"sample", 6, sig), 0);
    assert_true(sig[32] < 0x80);
    assert_int_equal(verify(v, pub, "sample", sig), 0);
    assert_int_equal(veil_vault_secret_destroy(v, k), 0);
}

void test_p256_generate_sign(void **state)
{
    veil_vault *v = V(state);
    veil_secret_attrs a = attrs_of(VEIL_SECRET_P256, 0, false);
    uint8_t pub[VEIL_P256_PUBLIC_BYTES], sig[64], sig2[64], out[64];
    const uint8_t msg[] = "veil p256";
    size_t n;
    veil_secret k;
    assert_int_equal(veil_vault_generate(v, &a, &k), 0);
    assert_int_equal(veil_vault_public_key(v, k, pub, sizeof pub, &n), 0);
    assert_int_equal(n, 33);
    assert_true(pub[0] == 0x02 || pub[0] == 0x03);
    char id[VEIL_KEY_ID_TEXT_BYTES];
    assert_int_equal(veil_vault_key_id(v, k, id), 0);
    assert_int_equal(strlen(id), 64);
    assert_int_equal(veil_vault_sign(v, k, msg, sizeof msg, sig), 0);
    assert_int_equal(veil_vault_sign(v, k, msg, sizeof msg, sig2), 0);
    assert_memory_not_equal(sig, sig2, 64);           /* random nonces */
    assert_int_equal(veil_vault_verify(v, VEIL_SECRET_P256, pub, 33, msg, sizeof msg, sig), 0);
    assert_int_equal(veil_vault_verify(v, VEIL_SECRET_P256, pub, 33, msg, sizeof msg, sig2), 0);
    assert_int_equal(veil_vault_sign(v, k, NULL, 0, sig), 0);   /* empty message */
    assert_int_equal(veil_vault_verify(v, VEIL_SECRET_P256, pub, 33, NULL, 0, sig), 0);
    /* Not exportable; the attributes say p256. */
    assert_int_equal(veil_vault_export(v, k, out, sizeof out, &n), VEIL_EPERM);
    veil_secret_attrs got;
    assert_int_equal(veil_vault_attributes(v, k, &got), 0);
    assert_int_equal(got.type, VEIL_SECRET_P256);
    assert_string_equal(veil_secret_type_name(got.type), "p256");
    /* A P-256 key does no DH and no AEAD. */
    veil_secret shared;
    assert_int_equal(veil_vault_dh(v, k, pub, 32, NULL, &shared), VEIL_ETYPE);
    assert_int_equal(veil_vault_secret_destroy(v, k), 0);
}

/* r, s out of range, high S, the other type's signature and key, bad
 * points: exact codes. */
void test_p256_strict(void **state)
{
    veil_vault *v = V(state);
    uint8_t pub[33], sig[64], bad[64], ed_pub[32], ed_sig[64];
    const uint8_t msg[] = "strict";
    size_t n;
    veil_secret k = import_hex(v, VEIL_SECRET_P256, RFC6979_D, false);
    assert_int_equal(veil_vault_public_key(v, k, pub, sizeof pub, &n), 0);
    assert_int_equal(veil_vault_sign(v, k, msg, sizeof msg, sig), 0);
#define VERIFY(p, pl, s) veil_vault_verify(v, VEIL_SECRET_P256, p, pl, msg, sizeof msg, s)
    memcpy(bad, sig, 64);
    memset(bad, 0, 32);                                /* r = 0 */
    assert_error_contains(VERIFY(pub, 33, bad), VEIL_EAUTH, "r is out of range");
    memcpy(bad, sig, 64);
    unhex(ORDER_N, bad, 32);                           /* r = n */
    assert_error_contains(VERIFY(pub, 33, bad), VEIL_EAUTH, "r is out of range");
    memcpy(bad, sig, 64);
    memset(bad + 32, 0, 32);                           /* s = 0 */
    assert_error_contains(VERIFY(pub, 33, bad), VEIL_EAUTH, "s is out of range");
    memcpy(bad, sig, 64);
    memset(bad + 32, 0xff, 32);                        /* s > n */
    assert_error_contains(VERIFY(pub, 33, bad), VEIL_EAUTH, "s is out of range");
    memcpy(bad, sig, 64);
    bad[63] ^= 1;
    assert_error_contains(VERIFY(pub, 33, bad), VEIL_EAUTH, "not a valid P-256 signature");
    /* Bad points: the format is checked before any signature. */
    uint8_t pt[33];
    memcpy(pt, pub, 33);
    pt[0] = 0x04;
    assert_error_contains(VERIFY(pt, 33, sig), VEIL_EFORMAT, "SEC1 compressed");
    pt[0] = 0x00;
    assert_error_contains(VERIFY(pt, 33, sig), VEIL_EFORMAT, "SEC1 compressed");
    memset(pt, 0, 33);
    pt[0] = 0x02, pt[32] = 1;                          /* x = 1: no y on the curve */
    assert_error_contains(VERIFY(pt, 33, sig), VEIL_EFORMAT, "not a point of the curve");
    memset(pt + 1, 0xff, 32);                          /* x = 2^256 - 1 >= p */
    assert_error_contains(VERIFY(pt, 33, sig), VEIL_EFORMAT, "not a point of the curve");
    assert_error_contains(VERIFY(pub, 32, sig), VEIL_EINVAL, "public_len 32, expected 33 for p256");
    assert_error_contains(VERIFY(pub, 65, sig), VEIL_EINVAL, "public_len 65, expected 33 for p256");
    /* The other type: an Ed25519 signature under a P-256 key, and back. */
    veil_secret_attrs a = attrs_of(VEIL_SECRET_ED25519, 0, false);
    veil_secret ek;
    assert_int_equal(veil_vault_generate(v, &a, &ek), 0);
    assert_int_equal(veil_vault_public_key(v, ek, ed_pub, sizeof ed_pub, &n), 0);
    assert_int_equal(veil_vault_sign(v, ek, msg, sizeof msg, ed_sig), 0);
    assert_int_equal(VERIFY(pub, 33, ed_sig) == VEIL_EAUTH, 1);
    assert_int_equal(veil_vault_verify(v, VEIL_SECRET_ED25519, ed_pub, 32, msg, sizeof msg, sig),
                     VEIL_EAUTH);
    assert_int_equal(veil_vault_verify(v, VEIL_SECRET_ED25519, pub + 1, 32, msg, sizeof msg,
                                       sig), VEIL_EAUTH);
#undef VERIFY
    /* Scalars out of 1..n-1 are no P-256 keys. */
    veil_secret s;
    uint8_t d[32];
    veil_secret_attrs pa = attrs_of(VEIL_SECRET_P256, 0, false);
    memset(d, 0, sizeof d);
    assert_error_contains(veil_vault_import(v, &pa, d, 32, &s), VEIL_EINVAL, "out of range");
    unhex(ORDER_N, d, 32);
    assert_error_contains(veil_vault_import(v, &pa, d, 32, &s), VEIL_EINVAL, "out of range");
    assert_error_contains(veil_vault_import(v, &pa, d, 31, &s), VEIL_EINVAL, "expected 32");
    assert_int_equal(veil_vault_secret_destroy(v, ek), 0);
    assert_int_equal(veil_vault_secret_destroy(v, k), 0);
}
