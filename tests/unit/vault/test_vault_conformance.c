/* Vault conformance: ONE suite run against every vault x backend, each
 * loaded through the real plugin loader (VEIL_PLUGIN_PATH).  Add a vault by
 * adding a row to `vaults` below.
 *
 * Expected values are the published known answers, typed in from the
 * specifications (section numbers cited at each vector): RFC 7748 (X25519,
 * X448), RFC 8032 (Ed25519), RFC 5869 (HKDF), RFC 4231 (HMAC), RFC 8439
 * (ChaCha20-Poly1305), McGrew & Viega "The Galois/Counter Mode of Operation"
 * test cases 13-16 (AES-256-GCM), RFC 7693 (BLAKE2), FIPS 180-4 examples
 * (SHA-2), in tests/kat/test_vault_kat_*.c; the error paths and lifetime rules are
 * here.  Every vector was also re-checked against python3-cryptography. */
#include "test_vault.h"
#include "assert_error.h"

#include <unistd.h>

#include <veil/log.h>

#ifdef VEIL_ENABLE_VAULT_PKCS11_ROWS
#include "softhsm.h"
static p11t token;
static bool have_token;
#endif

static const vault_case vaults[] = {
#ifdef VEIL_HAVE_SODIUM
    { "software", "[vault]\nplugin = software\ncrypto = sodium\n", false },
#endif
#ifdef VEIL_HAVE_OPENSSL
    { "software", "[vault]\nplugin = software\ncrypto = openssl\n", true },
#endif
#ifdef VEIL_ENABLE_VAULT_FILE_ROWS
    /* The file vault (docs/VAULT-FILE.md): open_all adds `path` (a temp
     * file) and sets the passphrase variable; setup starts each test on a
     * new file.  Tiny KDF parameters: each test opens a vault. */
#ifdef VEIL_HAVE_SODIUM
    { "file", "[vault]\nplugin = file\ncrypto = sodium\npassphrase_env = VEIL_TEST_VAULT_PASS\n"
              "kdf_n = 1024\nkdf_r = 1\n", false },
#endif
#ifdef VEIL_HAVE_OPENSSL
    { "file", "[vault]\nplugin = file\ncrypto = openssl\npassphrase_env = VEIL_TEST_VAULT_PASS\n"
              "kdf_n = 1024\nkdf_r = 1\n", true },
#endif
#endif
#ifdef VEIL_ENABLE_VAULT_PKCS11_ROWS
    /* The pkcs11 vault (docs/VAULTS.md "pkcs11"): the suite's secrets are
     * ephemeral, so all of them live in its software half, reached through
     * the plugin's own ops; records go to the token.  One SoftHSM2 token
     * for the run (rows left out without SoftHSM2); setup removes the
     * records a previous test left. */
#define P11_ROW(backend, x448) \
    { "pkcs11", "[vault]\nplugin = pkcs11\ncrypto = " backend "\nmodule = " P11T_MODULE \
                "\ntoken_label = " P11T_LABEL "\npin_env = " P11T_PIN_ENV "\n", x448 }
#ifdef VEIL_HAVE_SODIUM
    P11_ROW("sodium", false),
#endif
#ifdef VEIL_HAVE_OPENSSL
    P11_ROW("openssl", true),
#endif
#endif
};
#define N_VAULTS (sizeof vaults / sizeof vaults[0])

static fixture fixtures[N_VAULTS];

/* ---- helpers --------------------------------------------------------------- */

size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned b;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
        out[i] = (uint8_t)b;
    }
    return n;
}

veil_secret_attrs attrs_of(int type, uint16_t len, bool exportable)
{
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = type;
    a.length = len;
    a.exportable = exportable;
    return a;
}

veil_secret import_hex(veil_vault *v, int type, const char *hex, bool exportable)
{
    uint8_t b[VEIL_SECRET_MAX_BYTES];
    size_t n = unhex(hex, b, sizeof b);
    veil_secret_attrs a = attrs_of(type, type == VEIL_SECRET_BUFFER ? (uint16_t)n : 0, exportable);
    veil_secret s = 0;
    assert_int_equal(veil_vault_import(v, &a, b, n, &s), 0);
    assert_true(s != 0);
    return s;
}

void assert_secret_hex(veil_vault *v, veil_secret s, const char *hex)
{
    uint8_t want[VEIL_SECRET_MAX_BYTES], got[VEIL_SECRET_MAX_BYTES];
    size_t wn = unhex(hex, want, sizeof want), gn = 0;
    assert_int_equal(veil_vault_export(v, s, got, sizeof got, &gn), 0);
    assert_int_equal(gn, wn);
    assert_memory_equal(got, want, wn);
}

bool is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* ---- fixtures ----------------------------------------------------------------- */

/* File vault rows: one temp file per row, removed before every test. */
static char file_dir[64];

static bool is_file_row(const fixture *f)
{
    return f->vc != NULL && f->cfg != NULL && strcmp(f->vc->plugin, "file") == 0;
}

static int file_row_config(fixture *f, size_t i)
{
    char path[128];
    if (file_dir[0] == '\0') {
        snprintf(file_dir, sizeof file_dir, "/tmp/veil-conf-XXXXXX");
        if (mkdtemp(file_dir) == NULL)
            return -1;
        setenv("VEIL_TEST_VAULT_PASS", "conformance passphrase", 1);
        veil_log_set_level(VEIL_LOG_ERROR); /* the tiny-KDF warning on every open */
    }
    snprintf(path, sizeof path, "%s/vault%zu", file_dir, i);
    return veil_config_set(f->cfg, "vault", "path", path);
}

static void file_row_fresh(fixture *f)
{
    char p[VEIL_CONFIG_VALUE_MAX + 8];
    const char *path = veil_config_get(f->cfg, "vault", "path");
    unlink(path);
    snprintf(p, sizeof p, "%s.lock", path);
    unlink(p);
}

static bool is_pkcs11_row(const vault_case *vc)
{
    return strcmp(vc->plugin, "pkcs11") == 0;
}

/* A row this run has (pkcs11 rows need SoftHSM2). */
static bool row_present(const vault_case *vc)
{
#ifdef VEIL_ENABLE_VAULT_PKCS11_ROWS
    return !is_pkcs11_row(vc) || have_token;
#else
    return !is_pkcs11_row(vc);
#endif
}

static int forget_record(void *arg, const char *name, size_t len)
{
    (void)len;
    veil_vault *v = arg;
    return veil_vault_record_delete(v, name);
}

/* Group setup: load every vault plugin once (through the loader). */
static int open_all(void **state)
{
    (void)state;
#ifdef VEIL_ENABLE_VAULT_PKCS11_ROWS
    if (have_token)
        p11t_token_new(&token, NULL);
#endif
    for (size_t i = 0; i < N_VAULTS; i++) {
        fixture *f = &fixtures[i];
        f->vc = &vaults[i];
        if (!row_present(f->vc))
            continue;
        if (veil_config_new_from_text(&f->cfg, f->vc->config, "<test>") != 0 ||
            (is_file_row(f) && file_row_config(f, i) != 0) ||
            veil_plugin_open_named(f->vc->plugin, f->cfg, "vault", VEIL_PLUGIN_VAULT, NULL,
                                   &f->plugin) != 0) {
            fprintf(stderr, "# load of vault %zu failed: %s\n", i, veil_last_error());
            return -1;
        }
    }
    return 0;
}

static int close_all(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VAULTS; i++) {
        if (is_file_row(&fixtures[i]))
            file_row_fresh(&fixtures[i]);
        veil_plugin_close(fixtures[i].plugin);
        veil_config_free(fixtures[i].cfg);
    }
    if (file_dir[0] != '\0')
        rmdir(file_dir);
#ifdef VEIL_ENABLE_VAULT_PKCS11_ROWS
    if (have_token)
        p11t_token_free(&token);
#endif
    return 0;
}

/* Each test gets a fresh vault instance of the group's plugin. */
static int setup(void **state)
{
    fixture *f = *state;
    veil_config_scope scope = { f->cfg, "vault" };
    if (is_file_row(f))
        file_row_fresh(f);
    if (veil_vault_open_plugin(f->plugin, &scope, &f->v) != 0) {
        fprintf(stderr, "# open failed: %s\n", veil_last_error());
        return -1;
    }
    /* A token keeps the records of the previous test. */
    if (is_pkcs11_row(f->vc) && veil_vault_record_list(f->v, NULL, forget_record, f->v) != 0) {
        fprintf(stderr, "# clearing the token's records failed: %s\n", veil_last_error());
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    veil_vault_close(f->v);
    f->v = NULL;
    return 0;
}


static void tamper_one(veil_vault *v, veil_secret k, int what)
{
    uint8_t n[12] = { 1, 2, 3 }, ad[8] = "header!", buf[64 + 16];
    memset(buf, 0x5a, 64);
    assert_int_equal(veil_vault_aead_encrypt(v, k, n, ad, sizeof ad, buf, 64), 0);
    switch (what) {
    case 0: buf[64 + 3] ^= 1; break; /* tag */
    case 1: buf[7] ^= 0x80; break;   /* ciphertext */
    case 2: ad[0] ^= 1; break;       /* AD */
    case 3: n[11] ^= 1; break;       /* nonce */
    }
    assert_error_contains(veil_vault_aead_decrypt(v, k, n, ad, sizeof ad, buf, sizeof buf),
                          VEIL_EAUTH, "tag");
    assert_true(is_zero(buf, sizeof buf));
}

static void test_aead_tamper(void **state)
{
    veil_vault *v = V(state);
    static const int types[] = { VEIL_SECRET_AES256GCM, VEIL_SECRET_CHACHAPOLY };
    for (int t = 0; t < 2; t++) {
        veil_secret_attrs a = attrs_of(types[t], 0, false);
        veil_secret k;
        assert_int_equal(veil_vault_generate(v, &a, &k), 0);
        for (int what = 0; what < 4; what++)
            tamper_one(v, k, what);
    }
}

static void test_aead_rekey(void **state)
{
    /* Noise §4.2 REKEY(k) = first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros). */
    veil_vault *v = V(state);
    static const int types[] = { VEIL_SECRET_AES256GCM, VEIL_SECRET_CHACHAPOLY };
    static const int fmts[] = { VEIL_NONCE_ZERO32_BE64, VEIL_NONCE_ZERO32_LE64 };
    for (int t = 0; t < 2; t++) {
        veil_secret_attrs a = attrs_of(types[t], 0, false);
        veil_secret k, nk, nk2;
        uint8_t nonce[12], z[48] = { 0 };
        veil_nonce_encode(fmts[t], UINT64_MAX, nonce);
        assert_int_equal(veil_vault_generate(v, &a, &k), 0);
        veil_secret_attrs oa = attrs_of(types[t], 0, true);
        assert_int_equal(veil_vault_aead_rekey(v, k, nonce, &oa, &nk), 0);
        assert_int_equal(veil_vault_aead_encrypt(v, k, nonce, NULL, 0, z, 32), 0);
        uint8_t got[32];
        size_t n;
        assert_int_equal(veil_vault_export(v, nk, got, sizeof got, &n), 0);
        assert_memory_equal(got, z, 32);
        /* default out_attrs: same type, not exportable */
        assert_int_equal(veil_vault_aead_rekey(v, k, nonce, NULL, &nk2), 0);
        veil_secret_attrs ga;
        assert_int_equal(veil_vault_attributes(v, nk2, &ga), 0);
        assert_int_equal(ga.type, types[t]);
        assert_false(ga.exportable);
        /* the old key still works */
        assert_int_equal(veil_vault_aead_encrypt(v, k, nonce, NULL, 0, z, 0), 0);
    }
}

/* Signatures the vault makes with X25519 keys verify under python3-xeddsa
 * (an independent XEdDSA implementation, through tests/interop/xeddsa_peer.py);
 * skipped when the Python module is missing. */
#define PEER_SIGS 40

static void test_xeddsa_python_peer(void **state)
{
    veil_vault *v = V(state);
    const char *py = getenv("PYTHON3"), *top = getenv("VEIL_TOP_SRCDIR");
    char in_path[] = "/tmp/veil-xeddsa-XXXXXX", cmd[8192], line[512];
    int fd = mkstemp(in_path);
    assert_true(fd >= 0);
    FILE *in = fdopen(fd, "w");
    assert_non_null(in);
    for (int i = 0; i < PEER_SIGS; i++) {
        veil_secret_attrs a = attrs_of(VEIL_SECRET_X25519, 0, false);
        veil_secret k;
        uint8_t pub[32], msg[40], sig[64];
        size_t n, mn = (size_t)i;
        assert_int_equal(veil_vault_generate(v, &a, &k), 0);
        assert_int_equal(veil_vault_public_key(v, k, pub, sizeof pub, &n), 0);
        assert_int_equal(veil_vault_random(v, msg, mn), 0);
        assert_int_equal(veil_vault_sign(v, k, mn ? msg : NULL, mn, sig), 0);
        assert_int_equal(veil_vault_secret_destroy(v, k), 0);
        for (size_t j = 0; j < 32; j++)
            fprintf(in, "%02x", pub[j]);
        fputc(':', in);
        for (size_t j = 0; j < mn; j++)
            fprintf(in, "%02x", msg[j]);
        fputc(':', in);
        for (size_t j = 0; j < 64; j++)
            fprintf(in, "%02x", sig[j]);
        fputc('\n', in);
    }
    fclose(in);
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/interop/xeddsa_peer.py' verify < '%s'",
             py && *py ? py : "/usr/bin/python3", top ? top : ".", in_path);
    FILE *out = popen(cmd, "r");
    assert_non_null(out);
    int ok = 0, bad = 0;
    bool skip_it = false;
    while (fgets(line, sizeof line, out) != NULL) {
        if (strncmp(line, "SKIP", 4) == 0)
            skip_it = true;
        else if (strncmp(line, "ok", 2) == 0)
            ok++;
        else
            bad++;
    }
    int status = pclose(out);
    unlink(in_path);
    if (skip_it)
        skip();
    assert_int_equal(status, 0);
    assert_int_equal(bad, 0);
    assert_int_equal(ok, PEER_SIGS);
}

/* ---- negative paths ----------------------------------------------------------------- */

static void test_use_after_destroy(void **state)
{
    veil_vault *v = V(state);
    veil_secret_attrs a = attrs_of(VEIL_SECRET_CHACHAPOLY, 0, true);
    veil_secret k, k2;
    uint8_t n[12] = { 0 }, buf[32] = { 0 }, out[64];
    size_t len;
    assert_int_equal(veil_vault_generate(v, &a, &k), 0);
    assert_int_equal(veil_vault_secret_destroy(v, k), 0);
    assert_error_contains(veil_vault_aead_encrypt(v, k, n, NULL, 0, buf, 16), VEIL_EBADHANDLE,
                          "unknown or destroyed");
    assert_int_equal(veil_vault_secret_destroy(v, k), VEIL_EBADHANDLE);
    /* the slot is reused by a new secret, the old handle stays dead */
    assert_int_equal(veil_vault_generate(v, &a, &k2), 0);
    assert_true(k2 != k);
    assert_int_equal(veil_vault_export(v, k, out, sizeof out, &len), VEIL_EBADHANDLE);
    assert_int_equal(veil_vault_export(v, k2, out, sizeof out, &len), 0);
    assert_int_equal(veil_vault_export(v, 0, out, sizeof out, &len), VEIL_EBADHANDLE);
}

static void test_wrong_type(void **state)
{
    veil_vault *v = V(state);
    veil_secret_attrs ax = attrs_of(VEIL_SECRET_X25519, 0, false);
    veil_secret_attrs ak = attrs_of(VEIL_SECRET_AES256GCM, 0, false);
    veil_secret x, k, out;
    uint8_t n[12] = { 0 }, buf[32] = { 0 }, peer[32] = { 9 };
    assert_int_equal(veil_vault_generate(v, &ax, &x), 0);
    assert_int_equal(veil_vault_generate(v, &ak, &k), 0);
    assert_error_contains(veil_vault_aead_encrypt(v, x, n, NULL, 0, buf, 16), VEIL_ETYPE,
                          "is x25519, expected aes256gcm or chachapoly");
    assert_error_contains(veil_vault_dh(v, k, peer, 32, NULL, &out), VEIL_ETYPE,
                          "is aes256gcm, expected x25519 or x448");
    size_t len;
    assert_int_equal(veil_vault_public_key(v, k, buf, sizeof buf, &len), VEIL_ETYPE);
    uint8_t sig[64];
    assert_int_equal(veil_vault_sign(v, k, buf, 1, sig), VEIL_ETYPE);
    veil_vault_input in = { k, NULL, 0 };
    veil_iovec p = { "x", 1 };
    uint8_t mac[32];
    assert_error_contains(veil_vault_hmac(v, VEIL_HASH_SHA256, &in, &p, 1, mac), VEIL_ETYPE,
                          "expected buffer");
}

static void test_export_perm_and_labels(void **state)
{
    veil_vault *v = V(state);
    veil_secret_attrs a = attrs_of(VEIL_SECRET_ED25519, 0, false);
    memcpy(a.label, "node-identity", 14);
    veil_secret k, k2, found;
    uint8_t out[64];
    size_t len;
    assert_int_equal(veil_vault_generate(v, &a, &k), 0);
    assert_error_contains(veil_vault_export(v, k, out, sizeof out, &len), VEIL_EPERM,
                          "secret node-identity is not exportable");
    assert_error(veil_vault_generate(v, &a, &k2), VEIL_EEXIST,
                 "a secret labelled 'node-identity' already exists");
    assert_int_equal(veil_vault_find_by_label(v, "node-identity", &found), 0);
    assert_int_equal(found, k);
    assert_int_equal(veil_vault_find_by_label(v, "nope", &found), VEIL_ENOTFOUND);
    veil_secret_attrs got;
    assert_int_equal(veil_vault_attributes(v, k, &got), 0);
    assert_string_equal(got.label, "node-identity");
    assert_int_equal(got.type, VEIL_SECRET_ED25519);
    /* after destroy the label is free again */
    assert_int_equal(veil_vault_secret_destroy(v, k), 0);
    assert_int_equal(veil_vault_generate(v, &a, &k2), 0);
}

static void test_argument_checks(void **state)
{
    veil_vault *v = V(state);
    veil_secret_attrs a = attrs_of(VEIL_SECRET_CHACHAPOLY, 0, false);
    veil_secret k;
    uint8_t n[12] = { 0 }, buf[32] = { 0 }, out[64];
    assert_int_equal(veil_vault_generate(v, &a, &k), 0);
    assert_error_contains(veil_vault_aead_decrypt(v, k, n, NULL, 0, buf, 15), VEIL_EINVAL,
                          "shorter than");
    assert_error_contains(veil_vault_aead_encrypt(v, k, n, NULL, 4, buf, 8), VEIL_EINVAL,
                          "ad is NULL");
    assert_error(veil_vault_hash(v, 99, NULL, 0, out), VEIL_EINVAL,
                 "veil_vault_hash: alg 99 is not a known hash (sha256, sha512, blake2s, blake2b)");
    a.type = 42;
    assert_error(veil_vault_generate(v, &a, &k), VEIL_EINVAL,
                 "veil_vault_generate: attrs.type 42 is not a known secret type");
    veil_secret_attrs b = attrs_of(VEIL_SECRET_X25519, 0, false);
    assert_error(veil_vault_import(v, &b, buf, 31, &k), VEIL_EINVAL,
                 "veil_vault_import: len 31 does not fit a x25519 secret (expected 32)");
    assert_error(veil_vault_find_by_key_id(v, "XYZ", &k), VEIL_EINVAL,
                 "veil_vault_find_by_key_id: key_id 'XYZ' is not 64 lower-case hex digits");
    assert_string_equal(veil_vault_plugin_name(v), ((fixture *)*state)->vc->plugin);
}

static void test_bad_crypto_config(void **state)
{
    fixture *f = *state;
    veil_config *cfg;
    veil_vault *v2 = NULL;
    assert_int_equal(veil_config_new_from_text(&cfg, "[vault]\nplugin = software\ncrypto = gnutls\n",
                                               "bad.conf"), 0);
    veil_config_scope scope = { cfg, "vault" };
    assert_error_contains(veil_vault_open_plugin(f->plugin, &scope, &v2), VEIL_ECONFIG,
                          "bad.conf:3");
    assert_last_error_contains("gnutls");
    assert_last_error_contains("sodium, openssl");
    assert_null(v2);
    veil_config_free(cfg);
}

/* No crypto key: the documented default is openssl (when it was built). */
static void test_default_backend(void **state)
{
    fixture *f = *state;
    veil_config *cfg;
    veil_vault *v2 = NULL;
    char other[VEIL_CONFIG_VALUE_MAX + 16];
    if (is_file_row(f)) {
        /* A file vault needs its path and passphrase: the row's config
         * without `crypto`, on a second file (the first one is open). */
        snprintf(other, sizeof other, "%s-default", veil_config_get(f->cfg, "vault", "path"));
        assert_int_equal(veil_config_new_copy(&cfg, f->cfg), 0);
        assert_int_equal(veil_config_unset(cfg, "vault", "crypto"), 0);
        assert_int_equal(veil_config_set(cfg, "vault", "path", other), 0);
    } else if (is_pkcs11_row(f->vc)) {
        /* The token's keys: the row's config without `crypto`. */
        assert_int_equal(veil_config_new_copy(&cfg, f->cfg), 0);
        assert_int_equal(veil_config_unset(cfg, "vault", "crypto"), 0);
    } else {
        assert_int_equal(veil_config_new_from_text(&cfg, "[vault]\nplugin = software\n", "d.conf"), 0);
    }
    veil_config_scope scope = { cfg, "vault" };
#ifdef VEIL_HAVE_OPENSSL
    assert_int_equal(veil_vault_open_plugin(f->plugin, &scope, &v2), 0);
    assert_string_equal(veil_vault_backend(v2), "openssl");
    veil_vault_close(v2);
#else /* --disable-openssl: the default is the backend that was built */
    assert_int_equal(veil_vault_open_plugin(f->plugin, &scope, &v2), 0);
    assert_string_equal(veil_vault_backend(v2), "sodium");
    veil_vault_close(v2);
#endif
    if (is_file_row(f)) {
        unlink(other);
        strcat(other, ".lock");
        unlink(other);
    }
    veil_config_free(cfg);
}

static void test_backend_name(void **state)
{
    fixture *f = *state;
    const char *want = strstr(f->vc->config, "sodium") ? "sodium" : "openssl";
    assert_string_equal(veil_vault_backend(f->v), want);
}

/* ---- independent of the vault -------------------------------------------------------- */

static void test_nonce_encode(void **state)
{
    (void)state;
    uint8_t n[12];
    static const uint8_t be[12] = { 0, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
    static const uint8_t le[12] = { 0, 0, 0, 0, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01 };
    memset(n, 0xee, sizeof n);
    veil_nonce_encode(VEIL_NONCE_ZERO32_BE64, 0x0102030405060708ull, n);
    assert_memory_equal(n, be, 12);
    memset(n, 0xee, sizeof n);
    veil_nonce_encode(VEIL_NONCE_ZERO32_LE64, 0x0102030405060708ull, n);
    assert_memory_equal(n, le, 12);
    assert_int_equal(veil_hash_len(VEIL_HASH_BLAKE2S), 32);
    assert_int_equal(veil_secret_type_len(VEIL_SECRET_X448), 56);
    assert_int_equal(veil_secret_type_public_len(VEIL_SECRET_AES256GCM), 0);
    assert_string_equal(veil_secret_type_name(VEIL_SECRET_CHACHAPOLY), "chachapoly");
}

/* veil_vault_open through a node: no [vault] section gives the software
 * vault on openssl (the documented default); a named section is honoured. */
static void test_vault_open_node(void **state)
{
    (void)state;
    veil_config *cfg;
    veil_node *node;
    veil_context *app;
    veil_vault *v;
    assert_int_equal(veil_config_new_from_text(&cfg,
#ifdef VEIL_HAVE_SODIUM
                                       "[vault.backup]\nplugin = software\ncrypto = sodium\n",
#else
                                       "[vault.backup]\nplugin = software\ncrypto = openssl\n",
#endif
                                       "node.conf"), 0);
    veil_node_options o = { .size = sizeof o, .config = cfg };
    assert_int_equal(veil_node_new(&node, &app, &o), 0);
#ifdef VEIL_HAVE_OPENSSL
    assert_int_equal(veil_vault_open(node, NULL, &v), 0);
    assert_string_equal(veil_vault_plugin_name(v), "software");
    assert_string_equal(veil_vault_backend(v), "openssl");
    veil_vault_close(v);
#endif
    assert_int_equal(veil_vault_open(node, "vault.backup", &v), 0);
#ifdef VEIL_HAVE_SODIUM
    assert_string_equal(veil_vault_backend(v), "sodium");
#endif
    uint8_t r[16];
    assert_int_equal(veil_vault_random(v, r, sizeof r), 0);
    veil_vault_close(v);
    assert_error(veil_vault_open(NULL, NULL, &v), VEIL_EINVAL, "veil_vault_open: node is NULL");
    assert_int_equal(veil_node_free(node), 0);
    veil_config_free(cfg);
}

/* rows: which rows run the test (ROWS_ALL, or only the in-memory or only
 * the persistent ones). */
enum { ROWS_ALL, ROWS_MEMORY, ROWS_PERSISTENT };
#define T(fn) { #fn, fn, ROWS_ALL }
#define T_ROWS(fn, rows) { #fn, fn, rows }

static const struct { const char *name; CMUnitTestFunction fn; int rows; } suite[] = {
    T(test_hash_abc), T(test_hash_streaming), T(test_hmac_rfc4231),
    T(test_hkdf_rfc5869), T(test_hkdf_typed_outputs),
    T(test_x25519_rfc7748_vectors), T(test_x25519_rfc7748_iterated),
    T(test_x25519_rfc7748_dh), T(test_x25519_low_order), T(test_x448),
    T(test_ed25519_rfc8032), T(test_ed25519_strict), T(test_xeddsa_sign_verify), T(test_xeddsa_vectors),
    T(test_xeddsa_python_peer), T(test_p256_rfc6979), T(test_p256_generate_sign),
    T(test_p256_strict),
    T(test_chachapoly_rfc8439), T(test_aesgcm_spec), T(test_aead_many_keys), T(test_aead_tamper),
    T(test_aead_rekey), T(test_use_after_destroy), T(test_wrong_type),
    T(test_export_perm_and_labels), T(test_argument_checks), T(test_bad_crypto_config),
    T(test_default_backend), T(test_backend_name), T(test_records_basic),
    T(test_records_arguments),
    /* The same core code on every row; a file row would rewrite its file
     * thousands of times. */
    T_ROWS(test_records_limits, ROWS_MEMORY),
    T_ROWS(test_records_persist, ROWS_PERSISTENT),
};
#define N_SUITE (sizeof suite / sizeof suite[0])

/* One cmocka group (one TAP plan): every suite test for every vault row,
 * named "<plugin>/<backend>: <test>". */
int main(void)
{
    static struct CMUnitTest tests[2 + N_VAULTS * N_SUITE];
    static char names[N_VAULTS * N_SUITE][96];
    size_t n = 0;
    tests[n++] = (struct CMUnitTest){ "test_nonce_encode", test_nonce_encode, NULL, NULL, NULL };
    tests[n++] = (struct CMUnitTest){ "test_vault_open_node", test_vault_open_node, NULL, NULL, NULL };
#ifdef VEIL_ENABLE_VAULT_PKCS11_ROWS
    have_token = access(P11T_MODULE, R_OK) == 0;
    if (!have_token)
        printf("# pkcs11 rows left out: SoftHSM2 (%s) is not installed\n", P11T_MODULE);
#endif
    for (size_t c = 0; c < N_VAULTS; c++) {
        if (!row_present(&vaults[c]))
            continue;
        bool persistent = strcmp(vaults[c].plugin, "file") == 0 || is_pkcs11_row(&vaults[c]);
        for (size_t i = 0; i < N_SUITE; i++) {
            if ((suite[i].rows == ROWS_MEMORY && persistent) ||
                (suite[i].rows == ROWS_PERSISTENT && !persistent))
                continue;
            char *name = names[c * N_SUITE + i];
            snprintf(name, 96, "%s/%s: %s", vaults[c].plugin,
                     strstr(vaults[c].config, "sodium") ? "sodium" : "openssl", suite[i].name);
            tests[n++] = (struct CMUnitTest){ name, suite[i].fn, setup, teardown, &fixtures[c] };
        }
    }
    return _cmocka_run_group_tests("vault conformance", tests, n, open_all, close_all);
}
