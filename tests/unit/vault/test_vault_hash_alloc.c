/* Hashing through a vault allocates nothing from OpenSSL once warm: the
 * EVP digests are fetched once and each vault keeps initialised contexts
 * (vaults/common/ossl_hash.c).  OpenSSL's allocator is replaced by a
 * counting one before anything else runs, and the software vault is
 * loaded through the plugin loader; the vault's library is the process's
 * libcrypto, so every allocation it makes is counted.  Counted per 100
 * calls after one warm-up call: hash, HMAC and two-output HKDF (what Noise's
 * MixKey does) for every algorithm on the openssl backend, and for BLAKE2s
 * (OpenSSL's) on the sodium backend.  SHA-512 on OpenSSL is the documented
 * exception: one allocation per hash (its context is reset, which cleanses
 * it, because its init leaves the last input block in place). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <veil/error.h>
#include <veil/plugin.h>
#include <veil/vault.h>

#define CALLS 100

static unsigned long allocs;

static void *count_malloc(size_t n, const char *file, int line)
{
    (void)file, (void)line;
    allocs++;
    return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file, (void)line;
    allocs++;
    return realloc(p, n);
}

static void count_free(void *p, const char *file, int line)
{
    (void)file, (void)line;
    free(p);
}

static veil_config *cfg;
static veil_plugin *plugin;
static veil_vault *vault[2]; /* sodium, openssl */

static int setup(void **state)
{
    (void)state;
    veil_config_scope s[2] = { { NULL, "vault.sodium" }, { NULL, "vault.openssl" } };
    if (veil_config_new_from_text(&cfg, "[vault.sodium]\ncrypto = sodium\n[vault.openssl]\ncrypto = openssl\n",
                                  "<hash-alloc>") != 0 ||
        veil_plugin_open_named("software", cfg, "vault.sodium", VEIL_PLUGIN_VAULT, NULL, &plugin) != 0)
        goto fail;
    for (int i = 0; i < 2; i++) {
        s[i].config = cfg;
        if (veil_vault_open_plugin(plugin, &s[i], &vault[i]) != 0)
            goto fail;
    }
    return 0;
fail:
    fprintf(stderr, "# setup failed: %s\n", veil_last_error());
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    veil_vault_close(vault[0]);
    veil_vault_close(vault[1]);
    veil_plugin_close(plugin);
    veil_config_free(cfg);
    return 0;
}

typedef enum { OP_HASH, OP_HMAC, OP_HKDF } op_kind;

static const char *const op_names[] = { "hash", "hmac", "hkdf" };

static void run_op(veil_vault *v, op_kind op, int alg)
{
    static uint8_t data[200];
    uint8_t out[64], key[32] = { 7 };
    veil_iovec part = { data, sizeof data };
    veil_vault_input k = { .data = key, .len = sizeof key }, ikm = { .data = data, .len = 32 };
    veil_secret_attrs oa[2] = { { .type = VEIL_SECRET_BUFFER, .length = 32 },
                                { .type = VEIL_SECRET_BUFFER, .length = 32 } };
    veil_secret o[2];
    switch (op) {
    case OP_HASH:
        assert_int_equal(veil_vault_hash(v, alg, &part, 1, out), 0);
        break;
    case OP_HMAC:
        assert_int_equal(veil_vault_hmac(v, alg, &k, &part, 1, out), 0);
        break;
    case OP_HKDF:
        assert_int_equal(veil_vault_hkdf(v, alg, &k, &ikm, 1, NULL, 0, oa, 2, o), 0);
        assert_int_equal(veil_vault_secret_destroy(v, o[0]), 0);
        assert_int_equal(veil_vault_secret_destroy(v, o[1]), 0);
        break;
    }
}

/* OpenSSL allocations of CALLS calls after a warm-up call. */
static unsigned long count(veil_vault *v, op_kind op, int alg)
{
    run_op(v, op, alg);
    unsigned long before = allocs;
    for (int i = 0; i < CALLS; i++)
        run_op(v, op, alg);
    return allocs - before;
}

static void expect(veil_vault *v, op_kind op, int alg, const char *alg_name, unsigned long want)
{
    unsigned long got = count(v, op, alg);
    if (got != want)
        fail_msg("%s %s %s: %lu OpenSSL allocations in %d calls, expected %lu",
                 veil_vault_backend(v), alg_name, op_names[op], got, CALLS, want);
}

static void test_openssl_backend(void **state)
{
    (void)state;
    static const int algs[] = { VEIL_HASH_SHA256, VEIL_HASH_BLAKE2S, VEIL_HASH_BLAKE2B };
    static const char *const names[] = { "SHA-256", "BLAKE2s", "BLAKE2b" };
    for (int op = OP_HASH; op <= OP_HKDF; op++)
        for (size_t a = 0; a < 3; a++)
            expect(vault[1], (op_kind)op, algs[a], names[a], 0);
    /* SHA-512: one per hash (an HMAC hashes twice, an HKDF with two
     * outputs runs three HMACs). */
    expect(vault[1], OP_HASH, VEIL_HASH_SHA512, "SHA-512", CALLS);
    expect(vault[1], OP_HMAC, VEIL_HASH_SHA512, "SHA-512", 2 * CALLS);
    expect(vault[1], OP_HKDF, VEIL_HASH_SHA512, "SHA-512", 6 * CALLS);
}

static void test_sodium_backend_blake2s(void **state)
{
    (void)state;
    for (int op = OP_HASH; op <= OP_HKDF; op++)
        expect(vault[0], (op_kind)op, VEIL_HASH_BLAKE2S, "BLAKE2s", 0);
}

int main(void)
{
    /* Before anything allocates through OpenSSL. */
    if (CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free) != 1) {
        fprintf(stderr, "cannot replace OpenSSL's allocator\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openssl_backend),
        cmocka_unit_test(test_sodium_backend_blake2s),
    };
    return cmocka_run_group_tests_name("vault hash allocations", tests, setup, teardown);
}
