/* Cross-backend agreement: for every deterministic vault operation and
 * ROUNDS pseudo-random inputs, the sodium and the openssl backend of the
 * software vault (loaded through the plugin loader) give identical bytes,
 * and identical verdicts for signature verification of mutated inputs.
 * The inputs come from a fixed-seed xorshift generator, so a failure is
 * reproducible; the round number is printed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <veil/error.h>
#include <veil/plugin.h>
#include <veil/vault.h>

#define ROUNDS 200

static veil_config *cfg;
static veil_plugin *plugin;
static veil_vault *vs, *vo; /* sodium, openssl */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)next64();
}

static size_t upto(size_t max)
{
    return (size_t)(next64() % (max + 1));
}

static int setup(void **state)
{
    (void)state;
    veil_config_scope s1 = { NULL, "vault.sodium" }, s2 = { NULL, "vault.openssl" };
    if (veil_config_new_from_text(&cfg, "[vault.sodium]\ncrypto = sodium\n[vault.openssl]\ncrypto = openssl\n",
                                  "<crossbackend>") != 0 ||
        veil_plugin_open_named("software", cfg, "vault.sodium", VEIL_PLUGIN_VAULT, NULL, &plugin) != 0)
        goto fail;
    s1.config = s2.config = cfg;
    if (veil_vault_open_plugin(plugin, &s1, &vs) != 0 ||
        veil_vault_open_plugin(plugin, &s2, &vo) != 0)
        goto fail;
    if (strcmp(veil_vault_backend(vs), "sodium") != 0 || strcmp(veil_vault_backend(vo), "openssl") != 0)
        return -1;
    return 0;
fail:
    fprintf(stderr, "# setup failed: %s\n", veil_last_error());
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    veil_vault_close(vs);
    veil_vault_close(vo);
    veil_plugin_close(plugin);
    veil_config_free(cfg);
    return 0;
}

static veil_secret_attrs attrs_of(int type, uint16_t len, bool exportable)
{
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = type;
    a.length = len;
    a.exportable = exportable;
    return a;
}

static veil_secret import(veil_vault *v, int type, const uint8_t *b, size_t n)
{
    veil_secret_attrs a = attrs_of(type, type == VEIL_SECRET_BUFFER ? (uint16_t)n : 0, true);
    veil_secret s = 0;
    assert_int_equal(veil_vault_import(v, &a, b, n, &s), 0);
    return s;
}

static void export_eq(veil_secret a, veil_secret b, int round)
{
    uint8_t x[64], y[64];
    size_t nx, ny;
    assert_int_equal(veil_vault_export(vs, a, x, sizeof x, &nx), 0);
    assert_int_equal(veil_vault_export(vo, b, y, sizeof y, &ny), 0);
    assert_int_equal(nx, ny);
    if (memcmp(x, y, nx) != 0)
        fail_msg("round %d: exported secrets differ", round);
}

static const int algs[4] = { VEIL_HASH_SHA256, VEIL_HASH_SHA512, VEIL_HASH_BLAKE2S,
                             VEIL_HASH_BLAKE2B };

static void test_hash(void **state)
{
    (void)state;
    uint8_t data[300], a[64], b[64];
    for (int r = 0; r < ROUNDS; r++) {
        size_t n = upto(sizeof data), cut = upto(n);
        fill(data, n);
        veil_iovec p[2] = { { data, cut }, { data + cut, n - cut } };
        for (int k = 0; k < 4; k++) {
            assert_int_equal(veil_vault_hash(vs, algs[k], p, 2, a), 0);
            assert_int_equal(veil_vault_hash(vo, algs[k], p, 2, b), 0);
            if (memcmp(a, b, veil_hash_len(algs[k])) != 0)
                fail_msg("round %d alg %d: hashes differ", r, algs[k]);
        }
    }
}

static void test_hmac(void **state)
{
    (void)state;
    uint8_t key[200], data[300], a[64], b[64];
    for (int r = 0; r < ROUNDS; r++) {
        size_t kn = upto(sizeof key), n = upto(sizeof data);
        fill(key, kn), fill(data, n);
        veil_vault_input k = { 0, key, kn };
        veil_iovec p = { data, n };
        for (int i = 0; i < 4; i++) {
            assert_int_equal(veil_vault_hmac(vs, algs[i], &k, &p, 1, a), 0);
            assert_int_equal(veil_vault_hmac(vo, algs[i], &k, &p, 1, b), 0);
            if (memcmp(a, b, veil_hash_len(algs[i])) != 0)
                fail_msg("round %d alg %d: HMACs differ", r, algs[i]);
        }
    }
}

static void test_hkdf(void **state)
{
    (void)state;
    uint8_t salt[100], ikm[64], pub[100], info[100];
    for (int r = 0; r < ROUNDS; r++) {
        size_t sn = upto(sizeof salt), in = 1 + upto(sizeof ikm - 1), pn = upto(sizeof pub),
               fn = upto(sizeof info);
        fill(salt, sn), fill(ikm, in), fill(pub, pn), fill(info, fn);
        for (int i = 0; i < 4; i++) {
            size_t hl = veil_hash_len(algs[i]);
            veil_secret_attrs oa[3] = { attrs_of(VEIL_SECRET_BUFFER, (uint16_t)hl, true),
                                        attrs_of(VEIL_SECRET_BUFFER, (uint16_t)(1 + upto(hl - 1)), true),
                                        attrs_of(VEIL_SECRET_CHACHAPOLY, 0, true) };
            veil_secret so[3], oo[3];
            veil_secret ks = import(vs, VEIL_SECRET_BUFFER, ikm, in);
            veil_secret ko = import(vo, VEIL_SECRET_BUFFER, ikm, in);
            veil_vault_input s = { 0, salt, sn };
            veil_vault_input is[2] = { { ks, NULL, 0 }, { 0, pub, pn } };
            veil_vault_input io[2] = { { ko, NULL, 0 }, { 0, pub, pn } };
            assert_int_equal(veil_vault_hkdf(vs, algs[i], &s, is, 2, info, fn, oa, 3, so), 0);
            assert_int_equal(veil_vault_hkdf(vo, algs[i], &s, io, 2, info, fn, oa, 3, oo), 0);
            for (int j = 0; j < 3; j++) {
                export_eq(so[j], oo[j], r);
                assert_int_equal(veil_vault_secret_destroy(vs, so[j]), 0);
                assert_int_equal(veil_vault_secret_destroy(vo, oo[j]), 0);
            }
            assert_int_equal(veil_vault_secret_destroy(vs, ks), 0);
            assert_int_equal(veil_vault_secret_destroy(vo, ko), 0);
        }
    }
}

static void test_x25519(void **state)
{
    (void)state;
    uint8_t k[32], u[32], pa[32], pb[32];
    size_t n;
    for (int r = 0; r < ROUNDS; r++) {
        fill(k, 32), fill(u, 32);
        veil_secret a = import(vs, VEIL_SECRET_X25519, k, 32);
        veil_secret b = import(vo, VEIL_SECRET_X25519, k, 32);
        assert_int_equal(veil_vault_public_key(vs, a, pa, 32, &n), 0);
        assert_int_equal(veil_vault_public_key(vo, b, pb, 32, &n), 0);
        assert_memory_equal(pa, pb, 32);
        veil_secret_attrs oa = attrs_of(VEIL_SECRET_BUFFER, 0, true);
        veil_secret da = 0, db = 0;
        int ra = veil_vault_dh(vs, a, u, 32, &oa, &da);
        int rb = veil_vault_dh(vo, b, u, 32, &oa, &db);
        assert_int_equal(ra, rb);
        if (ra == 0) {
            export_eq(da, db, r);
            assert_int_equal(veil_vault_secret_destroy(vs, da), 0);
            assert_int_equal(veil_vault_secret_destroy(vo, db), 0);
        }
        assert_int_equal(veil_vault_secret_destroy(vs, a), 0);
        assert_int_equal(veil_vault_secret_destroy(vo, b), 0);
    }
}

/* Mutations that must be judged the same by both backends. */
static void mutate(uint8_t sig[64], uint8_t pk[32], int how)
{
    static const uint8_t L[32] = { 0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                   0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                   0, 0, 0, 0x10 };
    unsigned c = 0;
    switch (how) {
    case 0: break;
    case 1: sig[next64() % 64] ^= (uint8_t)(1u << (next64() % 8)); break;
    case 2: pk[next64() % 32] ^= (uint8_t)(1u << (next64() % 8)); break;
    case 3: /* s + L */
        for (int i = 0; i < 32; i++) {
            c += (unsigned)sig[32 + i] + L[i];
            sig[32 + i] = (uint8_t)c;
            c >>= 8;
        }
        break;
    case 4: memset(sig, 0, 32); sig[0] = 1; break;  /* R = identity */
    case 5: memset(pk, 0, 32); pk[0] = 1; break;    /* A = identity */
    case 6: fill(sig, 64); break;
    case 7: pk[31] ^= 0x80; break;                  /* flip the sign of A */
    }
}

static void test_ed25519(void **state)
{
    (void)state;
    uint8_t seed[32], msg[200], sa[64], sb[64], pa[32], pb[32];
    size_t n;
    for (int r = 0; r < ROUNDS; r++) {
        size_t mn = upto(sizeof msg);
        fill(seed, 32), fill(msg, mn);
        veil_secret a = import(vs, VEIL_SECRET_ED25519, seed, 32);
        veil_secret b = import(vo, VEIL_SECRET_ED25519, seed, 32);
        assert_int_equal(veil_vault_public_key(vs, a, pa, 32, &n), 0);
        assert_int_equal(veil_vault_public_key(vo, b, pb, 32, &n), 0);
        assert_memory_equal(pa, pb, 32);
        assert_int_equal(veil_vault_sign(vs, a, msg, mn, sa), 0);
        assert_int_equal(veil_vault_sign(vo, b, msg, mn, sb), 0);
        if (memcmp(sa, sb, 64) != 0)
            fail_msg("round %d: Ed25519 signatures differ", r);
        int how = r % 8;
        mutate(sa, pa, how);
        int ra = veil_vault_verify(vs, VEIL_SECRET_ED25519, pa, 32, msg, mn, sa);
        int rb = veil_vault_verify(vo, VEIL_SECRET_ED25519, pa, 32, msg, mn, sa);
        if (ra != rb)
            fail_msg("round %d mutation %d: sodium says %d, openssl %d", r, how, ra, rb);
        if (how == 0)
            assert_int_equal(ra, 0);
        assert_int_equal(veil_vault_secret_destroy(vs, a), 0);
        assert_int_equal(veil_vault_secret_destroy(vo, b), 0);
    }
}

static void test_xeddsa_verify(void **state)
{
    (void)state;
    uint8_t k[32], msg[100], sig[64], pub[32];
    size_t n;
    for (int r = 0; r < ROUNDS; r++) {
        size_t mn = upto(sizeof msg);
        fill(k, 32), fill(msg, mn);
        veil_vault *signer = r % 2 ? vs : vo;
        veil_secret s = import(signer, VEIL_SECRET_X25519, k, 32);
        assert_int_equal(veil_vault_public_key(signer, s, pub, 32, &n), 0);
        assert_int_equal(veil_vault_sign(signer, s, msg, mn, sig), 0);
        int how = r % 4 == 3 ? 1 : 0; /* every 4th: flip a bit of the signature */
        uint8_t dummy[32];
        memcpy(dummy, pub, 32);
        mutate(sig, dummy, how);
        int ra = veil_vault_verify(vs, VEIL_SECRET_X25519, pub, 32, msg, mn, sig);
        int rb = veil_vault_verify(vo, VEIL_SECRET_X25519, pub, 32, msg, mn, sig);
        assert_int_equal(ra, rb);
        if (how == 0)
            assert_int_equal(ra, 0);
        assert_int_equal(veil_vault_secret_destroy(signer, s), 0);
    }
}

static void test_aead_and_rekey(void **state)
{
    (void)state;
    static const int types[2] = { VEIL_SECRET_AES256GCM, VEIL_SECRET_CHACHAPOLY };
    uint8_t key[32], nonce[12], ad[64], ba[1100], bb[1100];
    for (int r = 0; r < ROUNDS; r++) {
        for (int t = 0; t < 2; t++) {
            size_t an = upto(sizeof ad), pn = upto(1024);
            fill(key, 32), fill(nonce, 12), fill(ad, an), fill(ba, pn);
            memcpy(bb, ba, pn);
            veil_secret a = import(vs, types[t], key, 32);
            veil_secret b = import(vo, types[t], key, 32);
            assert_int_equal(veil_vault_aead_encrypt(vs, a, nonce, ad, an, ba, pn), 0);
            assert_int_equal(veil_vault_aead_encrypt(vo, b, nonce, ad, an, bb, pn), 0);
            if (memcmp(ba, bb, pn + 16) != 0)
                fail_msg("round %d type %d: ciphertexts differ", r, types[t]);
            /* each decrypts the other's output */
            assert_int_equal(veil_vault_aead_decrypt(vo, b, nonce, ad, an, ba, pn + 16), 0);
            assert_int_equal(veil_vault_aead_decrypt(vs, a, nonce, ad, an, bb, pn + 16), 0);
            assert_memory_equal(ba, bb, pn);
            veil_secret_attrs oa = attrs_of(types[t], 0, true);
            veil_secret na, nb;
            assert_int_equal(veil_vault_aead_rekey(vs, a, nonce, &oa, &na), 0);
            assert_int_equal(veil_vault_aead_rekey(vo, b, nonce, &oa, &nb), 0);
            export_eq(na, nb, r);
            veil_secret all_s[2] = { a, na }, all_o[2] = { b, nb };
            for (int i = 0; i < 2; i++) {
                assert_int_equal(veil_vault_secret_destroy(vs, all_s[i]), 0);
                assert_int_equal(veil_vault_secret_destroy(vo, all_o[i]), 0);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash),   cmocka_unit_test(test_hmac),
        cmocka_unit_test(test_hkdf),   cmocka_unit_test(test_x25519),
        cmocka_unit_test(test_ed25519), cmocka_unit_test(test_xeddsa_verify),
        cmocka_unit_test(test_aead_and_rekey),
    };
    return cmocka_run_group_tests_name("vault cross-backend", tests, setup, teardown);
}
