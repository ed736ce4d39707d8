/* Vault conformance, known answers for AEAD: ChaCha20-Poly1305 (RFC 8439)
 * and AES-256-GCM (the GCM spec's test cases), and many keys in one vault.
 * Run for every vault row by tests/unit/vault/test_vault_conformance.c. */
#include "test_vault.h"
#include "assert_error.h"

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
        assert_int_equal(veil_vault_secret_destroy(v, k[i]), 0);
        uint8_t n[12] = { 0 }, buf[32] = { 0 };
        assert_int_equal(veil_vault_aead_encrypt(v, k[i], n, NULL, 0, buf, 16), VEIL_EBADHANDLE);
        k[i] = import_hex(v, many_kats[(i + 1) % 3].type, many_kats[(i + 1) % 3].key, false);
    }
    for (int i = MANY_KEYS; i-- > 0;)
        many_one(v, k[i], &many_kats[(i + (i % 2 == 0)) % 3]);
    for (int i = 0; i < MANY_KEYS; i++)
        assert_int_equal(veil_vault_secret_destroy(v, k[i]), 0);
}
