/* Vault conformance, known answers: every expected value is a published
 * vector typed in from its specification (section cited at each), re-checked
 * against python3-cryptography.  Run for every vault row by
 * test_vault_conformance.c. */
#include "test_vault.h"
#include "assert_error.h"
#include "json.h"

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
                          VEIL_EINVAL, "veil_vault_hkdf: out_attrs[0].type 99 is not a known secret type");
    oa[0].type = VEIL_SECRET_CHACHAPOLY;
    assert_int_equal(veil_vault_hkdf(v, VEIL_HASH_SHA256, NULL, &ikm, 1, NULL, 0, oa, 2, out), 0);
    veil_secret_attrs got;
    assert_int_equal(veil_vault_attributes(v, out[0], &got), 0);
    assert_int_equal(got.type, VEIL_SECRET_CHACHAPOLY);
    assert_error_contains(veil_vault_hkdf(v, VEIL_HASH_SHA256, NULL, &ikm, 1, NULL, 0, oa, 5, out),
                          VEIL_EINVAL, "n_out");
}

/* ---- X25519: RFC 7748 ---------------------------------------------------------- */

static void x25519_once(veil_vault *v, const uint8_t k[32], const uint8_t u[32], uint8_t out[32])
{
    veil_secret_attrs a = attrs_of(VEIL_SECRET_X25519, 0, false);
    veil_secret_attrs oa = attrs_of(VEIL_SECRET_BUFFER, 0, true);
    veil_secret s, d;
    size_t n;
    assert_int_equal(veil_vault_import(v, &a, k, 32, &s), 0);
    assert_int_equal(veil_vault_dh(v, s, u, 32, &oa, &d), 0);
    assert_int_equal(veil_vault_export(v, d, out, 32, &n), 0);
    assert_int_equal(veil_vault_destroy(v, s), 0);
    assert_int_equal(veil_vault_destroy(v, d), 0);
}

void test_x25519_rfc7748_vectors(void **state)
{
    /* §5.2, the two single test vectors (the second u has its top bit set,
     * which X25519 must mask). */
    static const char *t[2][3] = {
        { "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
          "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
          "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552" },
        { "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
          "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
          "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957" },
    };
    for (int i = 0; i < 2; i++) {
        uint8_t k[32], u[32], want[32], out[32];
        unhex(t[i][0], k, 32), unhex(t[i][1], u, 32), unhex(t[i][2], want, 32);
        x25519_once(V(state), k, u, out);
        assert_memory_equal(out, want, 32);
    }
}

void test_x25519_rfc7748_iterated(void **state)
{
    /* §5.2: k = u = 9; repeat: k, u = X25519(k, u), k. */
    uint8_t k[32] = { 9 }, u[32] = { 9 }, r[32], want[32];
    for (int i = 1; i <= 1000; i++) {
        x25519_once(V(state), k, u, r);
        memcpy(u, k, 32);
        memcpy(k, r, 32);
        if (i == 1) {
            unhex("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079", want, 32);
            assert_memory_equal(k, want, 32);
        }
    }
    unhex("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51", want, 32);
    assert_memory_equal(k, want, 32);
}

void test_x25519_rfc7748_dh(void **state)
{
    /* §6.1 Alice and Bob. */
    veil_vault *v = V(state);
    veil_secret a = import_hex(v, VEIL_SECRET_X25519,
                               "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", false);
    veil_secret b = import_hex(v, VEIL_SECRET_X25519,
                               "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", false);
    uint8_t pa[32], pb[32], want[32];
    size_t n;
    assert_int_equal(veil_vault_public_key(v, a, pa, sizeof pa, &n), 0);
    assert_int_equal(n, 32);
    assert_memory_equal(pa, want, unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", want, 32));
    assert_int_equal(veil_vault_public_key(v, b, pb, sizeof pb, &n), 0);
    assert_memory_equal(pb, want, unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", want, 32));
    veil_secret_attrs oa = attrs_of(VEIL_SECRET_BUFFER, 32, true);
    veil_secret sa, sb;
    assert_int_equal(veil_vault_dh(v, a, pb, 32, &oa, &sa), 0);
    assert_int_equal(veil_vault_dh(v, b, pa, 32, &oa, &sb), 0);
    assert_secret_hex(v, sa, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    assert_secret_hex(v, sb, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    /* Default out_attrs: an ephemeral, non-exportable buffer. */
    veil_secret sd;
    assert_int_equal(veil_vault_dh(v, a, pb, 32, NULL, &sd), 0);
    uint8_t tmp[32];
    assert_int_equal(veil_vault_export(v, sd, tmp, sizeof tmp, &n), VEIL_EPERM);
}

void test_x25519_low_order(void **state)
{
    /* The small-order points of Curve25519 (and their non-canonical forms
     * p and p+1), as published with RFC 7748's §6.1 all-zero check
     * (cr.yp.to/ecdh.html "Which public keys are weak"). */
    static const char *pts[] = {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    };
    veil_vault *v = V(state);
    veil_secret_attrs a = attrs_of(VEIL_SECRET_X25519, 0, false);
    veil_secret k;
    assert_int_equal(veil_vault_generate(v, &a, &k), 0);
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        uint8_t u[32];
        unhex(pts[i], u, 32);
        veil_secret out = 0;
        veil_secret_attrs oa = attrs_of(VEIL_SECRET_BUFFER, 0, false);
        memcpy(oa.label, "dh-out", 7);
        assert_error_contains(veil_vault_dh(v, k, u, 32, &oa, &out), VEIL_ELOWORDER, "low order");
        assert_int_equal(out, 0);
        /* nothing was created: the label is still free */
        assert_int_equal(veil_vault_find_by_label(v, "dh-out", &out), VEIL_ENOTFOUND);
    }
}

/* ---- X448: RFC 7748 §5.2 / §6.2 (openssl only) ---------------------------------- */

void test_x448(void **state)
{
    fixture *f = *state;
    veil_vault *v = f->v;
    veil_secret_attrs a = attrs_of(VEIL_SECRET_X448, 0, false);
    veil_secret k = 0;
    if (!f->vc->has_x448) {
        assert_error_contains(veil_vault_generate(v, &a, &k), VEIL_EUNSUPPORTED,
                              "X448 is unsupported by the sodium backend");
        return;
    }
    uint8_t s[56], u[56], want[56], got[56];
    size_t n;
    unhex("3d262fddf9ec8e88495266fea19a34d28882acef045104d0d1aae121700a779c984c24f8cdd78fbff44943eba368f54b29259a4f1c600ad3", s, 56);
    unhex("06fce640fa3487bfda5f6cf2d5263f8aad88334cbd07437f020f08f9814dc031ddbdc38c19c6da2583fa5429db94ada18aa7a7fb4ef8a086", u, 56);
    unhex("ce3e4ff95a60dc6697da1db1d85e6afbdf79b50a2412d7546d5f239fe14fbaadeb445fc66a01b0779d98223961111e21766282f73dd96b6f", want, 56);
    assert_int_equal(veil_vault_import(v, &a, s, 56, &k), 0);
    veil_secret_attrs oa = attrs_of(VEIL_SECRET_BUFFER, 0, true);
    veil_secret d;
    assert_int_equal(veil_vault_dh(v, k, u, 56, &oa, &d), 0);
    assert_int_equal(veil_vault_export(v, d, got, sizeof got, &n), 0);
    assert_int_equal(n, 56);
    assert_memory_equal(got, want, 56);
    /* §6.2: Alice's private key with Bob's public key */
    veil_secret alice = 0;
    unhex("9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b", s, 56);
    unhex("3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609", u, 56);
    assert_int_equal(veil_vault_import(v, &a, s, 56, &alice), 0);
    assert_int_equal(veil_vault_dh(v, alice, u, 56, &oa, &d), 0);
    assert_int_equal(veil_vault_export(v, d, got, sizeof got, &n), 0);
    unhex("07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56fd2464c335543936521c24403085d59a449a5037514a879d", want, 56);
    assert_memory_equal(got, want, 56);
    /* a zero u is low order */
    memset(u, 0, sizeof u);
    assert_int_equal(veil_vault_dh(v, alice, u, 56, &oa, &d), VEIL_ELOWORDER);
}

/* ---- Ed25519: RFC 8032 §7.1 -------------------------------------------------------- */

static const struct ed_vec {
    const char *sk, *pk, *msg, *sig, *key_id;
} ed_vecs[] = {
    /* TEST 1 */
    { "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
      "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
      /* sha256(pk), by python3 hashlib */
      "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9" },
    /* TEST 2 */
    { "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
      "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
      "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
      "39f713d0a644253f04529421b9f51b9b08979d08295959c4f3990ee617f5139f" },
    /* TEST 3 */
    { "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
      "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
      "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
      "dac073e0123bdea59dd9b3bda9cf6037f63aca82627d7abcd5c4ac29dd74003e" },
    /* TEST SHA(abc) */
    { "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
      "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
      "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
      "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
      "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
      "5f9b247e2a654719f198e4f241d6b0df9a1a937a13ef5ef899f64d9285fce224" },
};

void test_ed25519_rfc8032(void **state)
{
    veil_vault *v = V(state);
    for (size_t i = 0; i < sizeof ed_vecs / sizeof ed_vecs[0]; i++) {
        const struct ed_vec *t = &ed_vecs[i];
        uint8_t pk[32], sig[64], msg[64], got[64];
        size_t n, mlen = unhex(t->msg, msg, sizeof msg);
        unhex(t->pk, pk, 32), unhex(t->sig, sig, 64);
        veil_secret k = import_hex(v, VEIL_SECRET_ED25519, t->sk, false);
        assert_int_equal(veil_vault_public_key(v, k, got, sizeof got, &n), 0);
        assert_int_equal(n, 32);
        assert_memory_equal(got, pk, 32);
        assert_int_equal(veil_vault_sign(v, k, msg, mlen, got), 0);
        assert_memory_equal(got, sig, 64);
        assert_int_equal(veil_vault_verify(v, VEIL_SECRET_ED25519, pk, 32, msg, mlen, sig), 0);
        sig[10] ^= 1;
        assert_int_equal(veil_vault_verify(v, VEIL_SECRET_ED25519, pk, 32, msg, mlen, sig), VEIL_EAUTH);
        char id[VEIL_KEY_ID_TEXT_BYTES];
        veil_secret found;
        assert_int_equal(veil_vault_key_id(v, k, id), 0);
        assert_string_equal(id, t->key_id);
        assert_int_equal(veil_vault_find_by_key_id(v, t->key_id, &found), 0);
        assert_int_equal(found, k);
    }
}

/* Strict verification, identical on every backend. */
void test_ed25519_strict(void **state)
{
    veil_vault *v = V(state);
    const struct ed_vec *t = &ed_vecs[0];
    uint8_t pk[32], sig[64], bad[64];
    unhex(t->pk, pk, 32), unhex(t->sig, sig, 64);
    /* s + L: same point equation, non-canonical scalar */
    static const uint8_t L[32] = { 0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                   0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                   0, 0, 0, 0x10 };
    memcpy(bad, sig, 64);
    unsigned c = 0;
    for (int i = 0; i < 32; i++) {
        c += (unsigned)bad[32 + i] + L[i];
        bad[32 + i] = (uint8_t)c;
        c >>= 8;
    }
    assert_error_contains(veil_vault_verify(v, VEIL_SECRET_ED25519, pk, 32, NULL, 0, bad),
                          VEIL_EAUTH, "s >= L");
    /* small-order A (the identity) and R */
    uint8_t ident[32] = { 1 };
    assert_error_contains(veil_vault_verify(v, VEIL_SECRET_ED25519, ident, 32, NULL, 0, sig),
                          VEIL_EAUTH, "small order");
    memcpy(bad, sig, 64);
    memcpy(bad, ident, 32);
    assert_error_contains(veil_vault_verify(v, VEIL_SECRET_ED25519, pk, 32, NULL, 0, bad),
                          VEIL_EAUTH, "R refused");
    /* non-canonical A: y = p */
    uint8_t ncp[32];
    memset(ncp, 0xff, 32);
    ncp[0] = 0xed, ncp[31] = 0x7f;
    assert_error_contains(veil_vault_verify(v, VEIL_SECRET_ED25519, ncp, 32, NULL, 0, sig),
                          VEIL_EAUTH, "not canonical");
}

/* ---- XEdDSA: sign with an X25519 key, verify with its public key ---------------- */

void test_xeddsa_sign_verify(void **state)
{
    veil_vault *v = V(state);
    veil_secret_attrs a = attrs_of(VEIL_SECRET_X25519, 0, false);
    veil_secret k;
    uint8_t pub[32], sig[64];
    size_t n;
    const uint8_t msg[] = "xeddsa through the vault";
    assert_int_equal(veil_vault_generate(v, &a, &k), 0);
    assert_int_equal(veil_vault_public_key(v, k, pub, sizeof pub, &n), 0);
    assert_int_equal(veil_vault_sign(v, k, msg, sizeof msg, sig), 0);
    assert_int_equal(veil_vault_verify(v, VEIL_SECRET_X25519, pub, 32, msg, sizeof msg, sig), 0);
    sig[40] ^= 0x20;
    assert_int_equal(veil_vault_verify(v, VEIL_SECRET_X25519, pub, 32, msg, sizeof msg, sig),
                     VEIL_EAUTH);
}

/* python3-xeddsa's vectors (tests/vectors/xeddsa.json, made by the
 * "xeddsa" work from an independent implementation): every valid signature
 * verifies through the vault, every invalid one is VEIL_EAUTH, and the
 * vault derives the same X25519 public key from each private key. */
void test_xeddsa_vectors(void **state)
{
    veil_vault *v = V(state);
    char why[512];
    int valid = 0, invalid = 0;
    size_t i;
    const json_t *t;
    json_t *doc = tjson_load_src("tests/vectors/xeddsa.json", why, sizeof why);
    if (doc == NULL)
        fail_msg("%s (set VEIL_TOP_SRCDIR)", why);
    json_array_foreach(tjson_array(doc, "vectors"), i, t) {
        uint8_t pub[32], sig[64], priv[32], got[32];
        static uint8_t msg[4096];
        size_t pn, mn, sn, kn, n;
        bool ok = false;
        assert_int_equal(tjson_hex(t, "pub", pub, sizeof pub, &pn, why, sizeof why), TJSON_OK);
        assert_int_equal(tjson_hex(t, "sig", sig, sizeof sig, &sn, why, sizeof why), TJSON_OK);
        assert_int_equal(tjson_hex(t, "msg", msg, sizeof msg, &mn, why, sizeof why), TJSON_OK);
        assert_int_equal(tjson_bool(t, "valid", &ok), TJSON_OK);
        int rc = veil_vault_verify(v, VEIL_SECRET_X25519, pub, pn, mn ? msg : NULL, mn, sig);
        if (ok) {
            assert_int_equal(rc, 0);
            valid++;
        } else {
            assert_int_equal(rc, VEIL_EAUTH);
            invalid++;
        }
        if (tjson_hex(t, "priv", priv, sizeof priv, &kn, why, sizeof why) == TJSON_OK && kn == 32) {
            veil_secret_attrs a = attrs_of(VEIL_SECRET_X25519, 0, false);
            veil_secret k;
            assert_int_equal(veil_vault_import(v, &a, priv, 32, &k), 0);
            assert_int_equal(veil_vault_public_key(v, k, got, sizeof got, &n), 0);
            assert_memory_equal(got, pub, 32);
            assert_int_equal(veil_vault_destroy(v, k), 0);
        }
        (void)sn;
    }
    json_decref(doc);
    assert_true(valid >= 10);
    assert_true(invalid >= 5);
}

/* ---- AEAD ------------------------------------------------------------------------ */

static void aead_kat(veil_vault *v, int type, const char *key, const char *nonce, const char *ad,
                     const char *pt, const char *ct, const char *tag)
{
    uint8_t n[12], a[64], buf[256], want[256];
    size_t alen = unhex(ad, a, sizeof a), plen = unhex(pt, buf, sizeof buf);
    unhex(nonce, n, 12);
    size_t clen = unhex(ct, want, sizeof want);
    unhex(tag, want + clen, 16);
    assert_int_equal(clen, plen);
    veil_secret k = import_hex(v, type, key, false);
    assert_int_equal(veil_vault_aead_encrypt(v, k, n, alen ? a : NULL, alen, buf, plen), 0);
    assert_memory_equal(buf, want, plen + 16);
    assert_int_equal(veil_vault_aead_decrypt(v, k, n, alen ? a : NULL, alen, buf, plen + 16), 0);
    uint8_t p[256];
    unhex(pt, p, sizeof p);
    assert_memory_equal(buf, p, plen);
}

void test_chachapoly_rfc8439(void **state)
{
    /* RFC 8439 §2.8.2 */
    uint8_t pt[114];
    static const char s[] = "Ladies and Gentlemen of the class of '99: If I could offer you only "
                            "one tip for the future, sunscreen would be it.";
    char pthex[2 * sizeof pt + 1];
    memcpy(pt, s, sizeof pt);
    for (size_t i = 0; i < sizeof pt; i++)
        sprintf(pthex + 2 * i, "%02x", pt[i]);
    aead_kat(V(state), VEIL_SECRET_CHACHAPOLY,
             "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
             "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7", pthex,
             "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
             "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
             "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
             "3ff4def08e4b7a9de576d26586cec64b6116",
             "1ae10b594f09e26a7e902ecbd0600691");
}

void test_aesgcm_spec(void **state)
{
    /* McGrew & Viega, GCM spec, Appendix B: test cases 13-16 (256-bit key). */
    veil_vault *v = V(state);
    const char *k0 = "0000000000000000000000000000000000000000000000000000000000000000";
    const char *k1 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
    const char *p = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
    const char *c = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";
    char p60[121], c60[121];
    memcpy(p60, p, 120), p60[120] = 0;
    memcpy(c60, c, 120), c60[120] = 0;
    aead_kat(v, VEIL_SECRET_AES256GCM, k0, "000000000000000000000000", "", "", "",
             "530f8afbc74536b9a963b4f1c4cb738b");                                  /* 13 */
    aead_kat(v, VEIL_SECRET_AES256GCM, k0, "000000000000000000000000", "",
             "00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18",
             "d0d1c8a799996bf0265b98b5d48ab919");                                  /* 14 */
    aead_kat(v, VEIL_SECRET_AES256GCM, k1, "cafebabefacedbaddecaf888", "", p, c,
             "b094dac5d93471bdec1a502270e3cc6c");                                  /* 15 */
    aead_kat(v, VEIL_SECRET_AES256GCM, k1, "cafebabefacedbaddecaf888",
             "feedfacedeadbeeffeedfacedeadbeefabaddad2", p60, c60,
             "76fc6ece0f4e1768cddf8853bb2d551b");                                  /* 16 */
}

/* More live AEAD keys than a backend keeps library contexts for (the
 * OpenSSL backend lends 64 per cipher, backend_openssl.c), used round
 * robin in both directions, mixed ciphers, with keys destroyed and their
 * slots re-used: every call must still use its own key.  Known answers:
 * GCM spec test cases 14 and 15 (256-bit keys), RFC 8439 §2.8.2. */
#define MANY_KEYS 150

typedef struct many_kat {
    int type;
    const char *key, *nonce, *ad, *pt, *ct_tag;
} many_kat;

static const many_kat many_kats[3] = {
    { VEIL_SECRET_AES256GCM, "0000000000000000000000000000000000000000000000000000000000000000",
      "000000000000000000000000", "", "00000000000000000000000000000000",
      "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919" },
    { VEIL_SECRET_AES256GCM, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
      "cafebabefacedbaddecaf888", "",
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"
      "b094dac5d93471bdec1a502270e3cc6c" },
    { VEIL_SECRET_CHACHAPOLY, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
      "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7",
      "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
      "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
      "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
      "637265656e20776f756c642062652069742e",
      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
      "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
      "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
      "3ff4def08e4b7a9de576d26586cec64b61161ae10b594f09e26a7e902ecbd0600691" },
};

/* Encrypt the KAT's plaintext under k, compare, decrypt, compare. */
static void many_one(veil_vault *v, veil_secret k, const many_kat *t)
{
    uint8_t n[12], a[16], buf[160], want[160], pt[160];
    size_t alen = unhex(t->ad, a, sizeof a), plen = unhex(t->pt, pt, sizeof pt);
    unhex(t->nonce, n, sizeof n);
    assert_int_equal(unhex(t->ct_tag, want, sizeof want), plen + 16);
    memcpy(buf, pt, plen);
    assert_int_equal(veil_vault_aead_encrypt(v, k, n, alen ? a : NULL, alen, buf, plen), 0);
    assert_memory_equal(buf, want, plen + 16);
    assert_int_equal(veil_vault_aead_decrypt(v, k, n, alen ? a : NULL, alen, buf, plen + 16), 0);
    assert_memory_equal(buf, pt, plen);
}

void test_aead_many_keys(void **state)
{
    veil_vault *v = V(state);
    veil_secret k[MANY_KEYS];
    for (int i = 0; i < MANY_KEYS; i++)
        k[i] = import_hex(v, many_kats[i % 3].type, many_kats[i % 3].key, false);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < MANY_KEYS; i++)
            many_one(v, k[i], &many_kats[i % 3]);
    /* Destroy every other key, import the next KAT's key in the freed
     * slots, and use old and new keys interleaved. */
    for (int i = 0; i < MANY_KEYS; i += 2) {
        assert_int_equal(veil_vault_destroy(v, k[i]), 0);
        uint8_t n[12] = { 0 }, buf[32] = { 0 };
        assert_int_equal(veil_vault_aead_encrypt(v, k[i], n, NULL, 0, buf, 16), VEIL_EBADHANDLE);
        k[i] = import_hex(v, many_kats[(i + 1) % 3].type, many_kats[(i + 1) % 3].key, false);
    }
    for (int i = MANY_KEYS; i-- > 0;)
        many_one(v, k[i], &many_kats[(i + (i % 2 == 0)) % 3]);
    for (int i = 0; i < MANY_KEYS; i++)
        assert_int_equal(veil_vault_destroy(v, k[i]), 0);
}
