/* Vault conformance, known answers for hashing: SHA-2 (FIPS 180-4
 * examples), HMAC (RFC 4231) and HKDF (RFC 5869), every expected value typed
 * in from its specification and re-checked against python3-cryptography.
 * Run for every vault row by tests/unit/vault/test_vault_conformance.c. */
#include "test_vault.h"
#include "assert_error.h"

/* ---- hashes ------------------------------------------------------------------- */

void test_hash_abc(void **state)
{
    static const struct { int alg; const char *want; } t[] = {
        /* FIPS 180-4 examples (SHA256.pdf, SHA512.pdf): "abc" */
        { VEIL_HASH_SHA256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { VEIL_HASH_SHA512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" },
        /* RFC 7693 Appendix A (BLAKE2b-512) and Appendix B (BLAKE2s-256) */
        { VEIL_HASH_BLAKE2B, "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
                             "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923" },
        { VEIL_HASH_BLAKE2S, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint8_t out[64], want[64];
        size_t n = unhex(t[i].want, want, sizeof want);
        assert_int_equal(veil_hash_len(t[i].alg), n);
        /* split in two parts to exercise streaming */
        veil_iovec parts[2] = { { "a", 1 }, { "bc", 2 } };
        assert_int_equal(veil_vault_hash(V(state), t[i].alg, parts, 2, out), 0);
        assert_memory_equal(out, want, n);
    }
}

/* Every hash over inputs crossing the block edges, checked against the
 * one-shot of the same vault (and by test_vault_crossbackend across
 * libraries: libsodium's SHA-256, SHA-512 and BLAKE2b against OpenSSL's;
 * BLAKE2s is OpenSSL's on both backends). */
void test_hash_streaming(void **state)
{
    uint8_t data[300], a[64], b[64];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    static const int algs[] = { VEIL_HASH_SHA256, VEIL_HASH_SHA512, VEIL_HASH_BLAKE2S,
                                VEIL_HASH_BLAKE2B };
    for (size_t k = 0; k < 4; k++) {
        veil_iovec one = { data, sizeof data };
        veil_iovec three[3] = { { data, 64 }, { data + 64, 65 }, { data + 129, 171 } };
        assert_int_equal(veil_vault_hash(V(state), algs[k], &one, 1, a), 0);
        assert_int_equal(veil_vault_hash(V(state), algs[k], three, 3, b), 0);
        assert_memory_equal(a, b, veil_hash_len(algs[k]));
    }
}

/* ---- HMAC: RFC 4231 §4.2-4.8 (test cases 1-4, 6, 7; 5 is truncated output) --- */

void test_hmac_rfc4231(void **state)
{
    uint8_t key131[131];
    memset(key131, 0xaa, sizeof key131);
    static const char d7[] = "This is a test using a larger than block-size key and a larger "
                             "than block-size data. The key needs to be hashed before being "
                             "used by the HMAC algorithm.";
    static const struct {
        const char *key_hex; /* NULL: key131 */
        const char *data;    /* text, or hex when data_hex */
        bool data_hex;
        const char *sha256, *sha512;
    } t[] = {
        { "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There", false,
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
          "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
          "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854" },
        { "4a656665", "what do ya want for nothing?", false,
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
          "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
          "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737" },
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
          "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
          "dddddddddddddddddddddddddddddddd", true,
          "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
          "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
          "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb" },
        { "0102030405060708090a0b0c0d0e0f10111213141516171819",
          "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
          "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", true,
          "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
          "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
          "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd" },
        { NULL, "Test Using Larger Than Block-Size Key - Hash Key First", false,
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
          "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
          "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598" },
        { NULL, d7, false, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
          "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
          "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint8_t key[64], data[200], out[64], want[64];
        veil_vault_input k = { 0, key131, sizeof key131 };
        if (t[i].key_hex != NULL)
            k.len = unhex(t[i].key_hex, key, sizeof key), k.data = key;
        veil_iovec part = { data, 0 };
        if (t[i].data_hex)
            part.len = unhex(t[i].data, data, sizeof data);
        else
            part.data = t[i].data, part.len = strlen(t[i].data);
        assert_int_equal(veil_vault_hmac(V(state), VEIL_HASH_SHA256, &k, &part, 1, out), 0);
        assert_memory_equal(out, want, unhex(t[i].sha256, want, sizeof want));
        assert_int_equal(veil_vault_hmac(V(state), VEIL_HASH_SHA512, &k, &part, 1, out), 0);
        assert_memory_equal(out, want, unhex(t[i].sha512, want, sizeof want));
    }
    /* The key as a vault secret gives the same MAC (test case 2). */
    veil_vault_input ks = { import_hex(V(state), VEIL_SECRET_BUFFER, "4a656665", false), NULL, 0 };
    veil_iovec p2 = { "what do ya want for nothing?", 28 };
    uint8_t out[64], want[64];
    assert_int_equal(veil_vault_hmac(V(state), VEIL_HASH_SHA256, &ks, &p2, 1, out), 0);
    assert_memory_equal(out, want, unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want, 64));
}

/* ---- HKDF: RFC 5869 Appendix A.1-A.3 (SHA-256) --------------------------------- */

static void hkdf_case(void **state, const uint8_t *ikm, size_t ikm_len, bool ikm_secret,
                      const uint8_t *salt, size_t salt_len, const uint8_t *info,
                      size_t info_len, const char *okm_hex)
{
    veil_vault *v = V(state);
    uint8_t okm[128];
    size_t L = unhex(okm_hex, okm, sizeof okm), n_out = (L + 31) / 32;
    veil_secret_attrs oa[4];
    veil_secret out[4] = { 0 };
    for (size_t i = 0; i < n_out; i++)
        oa[i] = attrs_of(VEIL_SECRET_BUFFER, (uint16_t)(L - 32 * i > 32 ? 32 : L - 32 * i), true);
    veil_vault_input in[2] = { { 0, ikm, ikm_len / 2 }, { 0, ikm + ikm_len / 2, ikm_len - ikm_len / 2 } };
    veil_secret held = 0;
    if (ikm_secret) {
        veil_secret_attrs a = attrs_of(VEIL_SECRET_BUFFER, (uint16_t)(ikm_len - ikm_len / 2), false);
        assert_int_equal(veil_vault_import(v, &a, in[1].data, in[1].len, &held), 0);
        in[1].secret = held, in[1].data = NULL, in[1].len = 0;
    }
    veil_vault_input s = { 0, salt, salt_len };
    assert_int_equal(veil_vault_hkdf(v, VEIL_HASH_SHA256, &s, in, 2, info, info_len, oa, n_out, out), 0);
    for (size_t i = 0; i < n_out; i++) {
        uint8_t got[64];
        size_t gn;
        assert_int_equal(veil_vault_export(v, out[i], got, sizeof got, &gn), 0);
        assert_int_equal(gn, oa[i].length);
        assert_memory_equal(got, okm + 32 * i, gn);
    }
}

void test_hkdf_rfc5869(void **state)
{
    uint8_t ikm[80], salt[80], info[80];
    memset(ikm, 0x0b, 22);
    for (int i = 0; i < 13; i++)
        salt[i] = (uint8_t)i;
    for (int i = 0; i < 10; i++)
        info[i] = (uint8_t)(0xf0 + i);
    /* A.1 basic; also with half of the IKM held as a secret */
    for (int sec = 0; sec < 2; sec++)
        hkdf_case(state, ikm, 22, sec, salt, 13, info, 10,
                  "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                  "34007208d5b887185865");
    /* A.3 zero-length salt and info */
    hkdf_case(state, ikm, 22, false, NULL, 0, NULL, 0,
              "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
              "9d201395faa4b61a96c8");
    /* A.2 longer inputs/outputs */
    for (int i = 0; i < 80; i++) {
        ikm[i] = (uint8_t)i;
        salt[i] = (uint8_t)(0x60 + i);
        info[i] = (uint8_t)(0xb0 + i);
    }
    hkdf_case(state, ikm, 80, false, salt, 80, info, 80,
              "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
              "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
              "cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

void test_hkdf_typed_outputs(void **state)
{
    /* Outputs straight into typed keys; a too-long output is refused. */
    veil_vault *v = V(state);
    veil_secret_attrs oa[2] = { attrs_of(VEIL_SECRET_CHACHAPOLY, 0, false),
                                attrs_of(VEIL_SECRET_BUFFER, 33, false) };
    veil_secret out[2];
    veil_vault_input ikm = { 0, (const uint8_t *)"ikm", 3 };
    assert_error_contains(veil_vault_hkdf(v, VEIL_HASH_SHA256, NULL, &ikm, 1, NULL, 0, oa, 2, out),
                          VEIL_EINVAL, "out_attrs[1] wants 33 bytes; each output is 1..32 bytes");
    oa[1].length = 32;
    /* An attribute error names the output by its index too. */
    oa[0].type = 99;
    assert_error_contains(veil_vault_hkdf(v, VEIL_HASH_SHA256, NULL, &ikm, 1, NULL, 0, oa, 2, out),
                          VEIL_EINVAL, "veil_vault_hkdf: out_attrs[0].type 99 is not a known "
                          "secret type");
    oa[0].type = VEIL_SECRET_CHACHAPOLY;
    assert_int_equal(veil_vault_hkdf(v, VEIL_HASH_SHA256, NULL, &ikm, 1, NULL, 0, oa, 2, out), 0);
    veil_secret_attrs got;
    assert_int_equal(veil_vault_attributes(v, out[0], &got), 0);
    assert_int_equal(got.type, VEIL_SECRET_CHACHAPOLY);
    assert_error_contains(veil_vault_hkdf(v, VEIL_HASH_SHA256, NULL, &ikm, 1, NULL, 0, oa, 5, out),
                          VEIL_EINVAL, "n_out");
}
