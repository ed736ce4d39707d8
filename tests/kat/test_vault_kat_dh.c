/* Vault conformance, known answers for key agreement and signatures:
 * X25519 and X448 (RFC 7748), Ed25519 (RFC 8032), XEdDSA (python3-xeddsa's
 * vectors, tests/vectors/xeddsa.json).  Run for every vault row by
 * tests/unit/vault/test_vault_conformance.c. */
#include "test_vault.h"
#include "assert_error.h"
#include "json.h"

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
    assert_int_equal(veil_vault_secret_destroy(v, s), 0);
    assert_int_equal(veil_vault_secret_destroy(v, d), 0);
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
            assert_int_equal(veil_vault_secret_destroy(v, k), 0);
        }
        (void)sn;
    }
    json_decref(doc);
    assert_true(valid >= 10);
    assert_true(invalid >= 5);
}
