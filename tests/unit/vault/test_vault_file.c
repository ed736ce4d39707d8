/* The file vault (vaults/file/, docs/VAULT-FILE.md): persistence on both
 * backends and across them, the KDF against RFC 7914, the format read by
 * an independent decoder, every open error with its exact code and detail,
 * each leaving the file byte for byte untouched, passphrase sources, and an
 * entity key re-opened in another process.  The modules are loaded through
 * the real loader.  (Write failures: test_vault_file_faults.c.) */
#include "test_vault_file_util.h"
#include "assert_error.h"

#include <sys/wait.h>

#include "format.h"
#include "kdf.h"
#include "vault_core.h"

/* ---- the KDF ------------------------------------------------------------------ */

/* RFC 7914 section 12, first two vectors, on every backend. */
static void test_scrypt_rfc7914(void **state)
{
    (void)state;
    static const uint8_t v1[64] = {
        0x77, 0xd6, 0x57, 0x62, 0x38, 0x65, 0x7b, 0x20, 0x3b, 0x19, 0xca, 0x42, 0xc1, 0x8a,
        0x04, 0x97, 0xf1, 0x6b, 0x48, 0x44, 0xe3, 0x07, 0x4a, 0xe8, 0xdf, 0xdf, 0xfa, 0x3f,
        0xed, 0xe2, 0x14, 0x42, 0xfc, 0xd0, 0x06, 0x9d, 0xed, 0x09, 0x48, 0xf8, 0x32, 0x6a,
        0x75, 0x3a, 0x0f, 0xc8, 0x1f, 0x17, 0xe8, 0xd3, 0xe0, 0xfb, 0x2e, 0x0d, 0x36, 0x28,
        0xcf, 0x35, 0xe2, 0x0c, 0x38, 0xd1, 0x89, 0x06,
    };
    static const uint8_t v2[64] = {
        0xfd, 0xba, 0xbe, 0x1c, 0x9d, 0x34, 0x72, 0x00, 0x78, 0x56, 0xe7, 0x19, 0x0d, 0x01,
        0xe9, 0xfe, 0x7c, 0x6a, 0xd7, 0xcb, 0xc8, 0x23, 0x78, 0x30, 0xe7, 0x73, 0x76, 0x63,
        0x4b, 0x37, 0x31, 0x62, 0x2e, 0xaf, 0x30, 0xd9, 0x2e, 0x22, 0xa3, 0x88, 0x6f, 0xf1,
        0x09, 0x27, 0x9d, 0x98, 0x30, 0xda, 0xc7, 0x27, 0xaf, 0xb9, 0x4a, 0x83, 0xee, 0x6d,
        0x83, 0x60, 0xcb, 0xdf, 0xa2, 0xcc, 0x06, 0x40,
    };
    for (size_t b = 0; b < n_backends; b++) {
        uint8_t out[64];
        assert_int_equal(fv_scrypt(backends[b], NULL, 0, (const uint8_t *)"", 0, 4, 1, 1, out,
                                   64), 0);
        assert_memory_equal(out, v1, 64);
        assert_int_equal(fv_scrypt(backends[b], (const uint8_t *)"password", 8,
                                   (const uint8_t *)"NaCl", 4, 10, 8, 16, out, 64), 0);
        assert_memory_equal(out, v2, 64);
    }
}

/* ---- persistence ---------------------------------------------------------------- */

typedef struct stored {
    uint8_t x_pub[32], ed_pub[32], buf[20], ct[32];
} stored;

static void fill(veil_vault *v, stored *s)
{
    veil_secret h, e, x, k;
    size_t n;
    veil_secret_attrs a = fvt_attrs(VEIL_SECRET_X25519, "dh-static", true, false);
    assert_int_equal(veil_vault_generate(v, &a, &x), 0);
    assert_int_equal(veil_vault_public_key(v, x, s->x_pub, 32, &n), 0);
    a = fvt_attrs(VEIL_SECRET_ED25519, "identity", true, false);
    assert_int_equal(veil_vault_generate(v, &a, &e), 0);
    assert_int_equal(veil_vault_public_key(v, e, s->ed_pub, 32, &n), 0);
    a = fvt_attrs(VEIL_SECRET_BUFFER, "", true, true);
    a.length = sizeof s->buf;
    assert_int_equal(veil_vault_random(v, s->buf, sizeof s->buf), 0);
    assert_int_equal(veil_vault_import(v, &a, s->buf, sizeof s->buf, &h), 0);
    a = fvt_attrs(VEIL_SECRET_CHACHAPOLY, "wrap", true, false);
    assert_int_equal(veil_vault_generate(v, &a, &k), 0);
    memset(s->ct, 0x5a, 16);
    assert_int_equal(veil_vault_aead_encrypt(v, k, (const uint8_t *)"123456789012", NULL, 0,
                                             s->ct, 16), 0);
    /* Ephemeral secrets are never stored. */
    a = fvt_attrs(VEIL_SECRET_X25519, "ephemeral", false, false);
    assert_int_equal(veil_vault_generate(v, &a, &h), 0);
}

static void check(veil_vault *v, const stored *s)
{
    veil_secret h;
    uint8_t pub[32], out[64];
    size_t n;
    assert_int_equal(veil_vault_find_by_label(v, "dh-static", &h), 0);
    assert_int_equal(veil_vault_public_key(v, h, pub, 32, &n), 0);
    assert_memory_equal(pub, s->x_pub, 32);
    assert_int_equal(veil_vault_find_by_label(v, "identity", &h), 0);
    assert_int_equal(veil_vault_public_key(v, h, pub, 32, &n), 0);
    assert_memory_equal(pub, s->ed_pub, 32);
    assert_int_equal(veil_vault_find_by_label(v, "wrap", &h), 0);
    assert_int_equal(veil_vault_aead_decrypt(v, h, (const uint8_t *)"123456789012", NULL, 0,
                                             memcpy(out, s->ct, 32), 32), 0);
    assert_true(out[0] == 0x5a && out[15] == 0x5a);
    assert_int_equal(veil_vault_find_by_label(v, "ephemeral", &h), VEIL_ENOTFOUND);
    /* The unlabelled exportable buffer: the only buffer secret. */
    veil_secret_attrs a;
    int found = 0;
    for (veil_secret slot = 1; slot <= 16; slot++)
        for (uint64_t gen = 1; gen <= 2; gen++)
            if (veil_vault_attributes(v, gen << 32 | slot, &a) == 0 &&
                a.type == VEIL_SECRET_BUFFER) {
                assert_true(a.exportable);
                assert_int_equal(a.persistence, VEIL_PERSISTENT);
                assert_int_equal(veil_vault_export(v, gen << 32 | slot, out, 64, &n), 0);
                assert_int_equal(n, sizeof s->buf);
                assert_memory_equal(out, s->buf, n);
                found++;
            }
    assert_int_equal(found, 1);
}

/* Written on each backend, read back on each backend (the cross-backend
 * property), and the file is created 0600. */
static void test_roundtrip_all_backends(void **state)
{
    for (size_t w = 0; w < n_backends; w++) {
        for (size_t r = 0; r < n_backends; r++) {
            fvt_fresh(state);
            fvt t;
            stored s;
            struct stat st;
            assert_int_equal(fvt_open(&t, backends[w], path, NULL), 0);
            fill(t.v, &s);
            fvt_close(&t);
            assert_int_equal(stat(path, &st), 0);
            assert_int_equal(st.st_mode & 07777, 0600);
            assert_int_equal(fvt_open(&t, backends[r], path, NULL), 0);
            assert_string_equal(veil_vault_backend(t.v), backends[r]);
            check(t.v, &s);
            fvt_close(&t);
        }
    }
}

/* The documented header (docs/VAULT-FILE.md), read field by field. */
static void test_header_layout(void **state)
{
    (void)state;
    fvt t;
    size_t len;
    assert_int_equal(fvt_open(&t, backends[0], path, "passphrase_env = " FVT_PASS_ENV
                                                     "\nkdf_n = 2048\nkdf_r = 2\nkdf_p = 3\n"),
                     0);
    fvt_close(&t);
    uint8_t *f = fvt_slurp(path, &len);
    assert_memory_equal(f, "VEILVLTF", 8);
    assert_int_equal(f[8] << 8 | f[9], 2);          /* version */
    assert_int_equal(f[10], 1);                      /* KDF scrypt */
    assert_int_equal(f[11], 11);                     /* log2 N */
    assert_int_equal(f[15], 2);                      /* r */
    assert_int_equal(f[19], 3);                      /* p */
    assert_int_equal(f[36], 1);                      /* ChaCha20-Poly1305 */
    uint32_t body = (uint32_t)f[49] << 24 | (uint32_t)f[50] << 16 | f[51] << 8 | f[52];
    assert_int_equal(body, 4 + 4 + 16);              /* empty: two counts + tag */
    assert_int_equal(len, 53 + body);
    free(f);
}

/* Destroying a persistent secret removes it from the file. */
static void test_destroy_persists(void **state)
{
    (void)state;
    fvt t;
    veil_secret h;
    veil_secret_attrs a = fvt_attrs(VEIL_SECRET_X25519, "gone", true, false);
    assert_int_equal(fvt_open(&t, backends[0], path, NULL), 0);
    assert_int_equal(veil_vault_generate(t.v, &a, &h), 0);
    fvt_close(&t);
    assert_int_equal(fvt_open(&t, backends[n_backends - 1], path, NULL), 0);
    assert_int_equal(veil_vault_find_by_label(t.v, "gone", &h), 0);
    assert_int_equal(veil_vault_secret_destroy(t.v, h), 0);
    fvt_close(&t);
    assert_int_equal(fvt_open(&t, backends[0], path, NULL), 0);
    assert_int_equal(veil_vault_find_by_label(t.v, "gone", &h), VEIL_ENOTFOUND);
    fvt_close(&t);
}

/* An independent reader of docs/VAULT-FILE.md in Python (hashlib.scrypt,
 * python3-cryptography's ChaCha20Poly1305): it must decrypt what we wrote
 * and list the secret records as "type flags label hex" and the public
 * records as "record name hex". */
static const char decode_py[] =
    "import sys, struct, hashlib\n"
    "from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305\n"
    "f = open(sys.argv[1], 'rb').read()\n"
    "assert f[:8] == b'VEILVLTF'\n"
    "ver, kdf, log2n, r, p = struct.unpack('>HBBII', f[8:20])\n"
    "salt, aead, nonce = f[20:36], f[36], f[37:49]\n"
    "(blen,) = struct.unpack('>I', f[49:53])\n"
    "assert ver == 2 and kdf == 1 and aead == 1 and len(f) == 53 + blen\n"
    "key = hashlib.scrypt(sys.argv[2].encode(), salt=salt, n=1 << log2n, r=r, p=p,\n"
    "                     maxmem=1 << 30, dklen=32)\n"
    "body = ChaCha20Poly1305(key).decrypt(nonce, f[53:], f[:53])\n"
    "(n,) = struct.unpack('>I', body[:4]); o = 4\n"
    "for i in range(n):\n"
    "    t, fl, ll = body[o], body[o + 1], body[o + 2]; o += 3\n"
    "    label = body[o:o + ll].decode(); o += ll\n"
    "    sl = body[o]; o += 1\n"
    "    print(t, fl, label or '-', body[o:o + sl].hex()); o += sl\n"
    "(n,) = struct.unpack('>I', body[o:o + 4]); o += 4\n"
    "for i in range(n):\n"
    "    nl = body[o]; name = body[o + 1:o + 1 + nl].decode(); o += 1 + nl\n"
    "    (vl,) = struct.unpack('>I', body[o:o + 4]); o += 4\n"
    "    print('record', name, body[o:o + vl].hex() or '-'); o += vl\n"
    "assert o == len(body)\n";

static void test_independent_decoder(void **state)
{
    (void)state;
    const char *py = getenv("PYTHON3");
    char cmd[512], line[256], all[1024] = "";
    if (py == NULL || system("\"${PYTHON3:-false}\" -c 'import cryptography' 2>/dev/null") != 0)
        skip();
    for (size_t b = 0; b < n_backends; b++) {
        fvt t;
        veil_secret h;
        uint8_t seed[32], buf[5] = { 1, 2, 3, 4, 5 };
        for (int i = 0; i < 32; i++)
            seed[i] = (uint8_t)(0xa0 + i);
        fvt_fresh(NULL);
        assert_int_equal(fvt_open(&t, backends[b], path, NULL), 0);
        veil_secret_attrs a = fvt_attrs(VEIL_SECRET_ED25519, "entity", true, false);
        assert_int_equal(veil_vault_import(t.v, &a, seed, 32, &h), 0);
        a = fvt_attrs(VEIL_SECRET_BUFFER, "", true, true);
        assert_int_equal(veil_vault_import(t.v, &a, buf, 5, &h), 0);
        a = fvt_attrs(VEIL_SECRET_X25519, "not-stored", false, false);
        assert_int_equal(veil_vault_generate(t.v, &a, &h), 0);
        assert_int_equal(veil_vault_record_put(t.v, "z.hist", buf, 3), 0);
        assert_int_equal(veil_vault_record_put(t.v, "a.empty", NULL, 0), 0);
        fvt_close(&t);
        snprintf(cmd, sizeof cmd, "\"%s\" -c \"$VEIL_TEST_DECODE_PY\" '%s' '%s'", py, path,
                 getenv(FVT_PASS_ENV));
        setenv("VEIL_TEST_DECODE_PY", decode_py, 1);
        FILE *out = popen(cmd, "r");
        assert_non_null(out);
        all[0] = '\0';
        while (fgets(line, sizeof line, out) != NULL)
            strncat(all, line, sizeof all - strlen(all) - 1);
        assert_int_equal(pclose(out), 0);
        assert_string_equal(all, "5 0 entity "
                                 "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\n"
                                 "1 1 - 0102030405\n"
                                 "record a.empty -\n"
                                 "record z.hist 010203\n");
    }
}

/* ---- errors that leave the file untouched ---------------------------------------- */

static void test_wrong_passphrase(void **state)
{
    (void)state;
    for (size_t b = 0; b < n_backends; b++) {
        size_t len;
        fvt t;
        uint8_t *orig = fvt_small_vault(backends[b], &len);
        setenv("VEIL_TEST_WRONG", "correct horse battery stapler", 1);
        assert_error_contains(fvt_open(&t, backends[b], path, "passphrase_env = VEIL_TEST_WRONG\n"),
                              VEIL_EPASSPHRASE, "wrong passphrase");
        assert_last_error_contains(path);
        fvt_assert_unchanged(path, orig, len);
        free(orig);
    }
}

static void test_truncated_every_length(void **state)
{
    (void)state;
    for (size_t b = 0; b < n_backends; b++) {
        size_t len;
        fvt t;
        uint8_t *orig = fvt_small_vault(backends[b], &len);
        for (size_t cut = 0; cut < len; cut++) {
            fvt_spill(path, orig, cut);
            int rc = fvt_open(&t, backends[b], path, NULL);
            if (rc != VEIL_ETRUNCATED)
                fail_msg("cut at %zu: %d (%s)", cut, rc, veil_last_error());
            assert_last_error_contains("truncated");
            assert_last_error_contains(path);
            fvt_assert_unchanged(path, orig, cut);
        }
        fvt_spill(path, orig, len);
        assert_int_equal(fvt_open(&t, backends[b], path, NULL), 0);
        fvt_close(&t);
        free(orig);
    }
}

/* What docs/VAULT-FILE.md says a change of byte `pos` to `val` gives. */
static int expected_code(const uint8_t *f, size_t len, size_t pos, uint8_t val,
                         const char **needle)
{
    uint8_t g[64];
    memcpy(g, f, FV_HEADER_BYTES);
    g[pos < FV_HEADER_BYTES ? pos : 0] = pos < FV_HEADER_BYTES ? val : g[0];
    uint32_t r = (uint32_t)g[12] << 24 | (uint32_t)g[13] << 16 | g[14] << 8 | g[15];
    uint32_t p = (uint32_t)g[16] << 24 | (uint32_t)g[17] << 16 | g[18] << 8 | g[19];
    uint32_t body = (uint32_t)g[49] << 24 | (uint32_t)g[50] << 16 | g[51] << 8 | g[52];
    *needle = "offset";
    if (pos < 8)
        return *needle = "magic", VEIL_EFORMAT;
    if (pos < 10)
        return *needle = "version", VEIL_EVERSION;
    if (pos == 10 || pos == 36)
        return *needle = pos == 10 && val == 0 ? "not all zero" : "unknown", VEIL_EFORMAT;
    if (pos < 20) {
        *needle = "scrypt";
        if (g[11] < 10 || g[11] > 22 || r < 1 || r > 32 || p < 1 || p > 16 ||
            (128ull * r << g[11]) > (1ull << 30))
            return VEIL_EFORMAT;
    }
    if (pos >= 49 && pos < 53) {
        *needle = "body";
        if (body < 20 || body > (16u << 20))
            return VEIL_EFORMAT;
        return 53 + (size_t)body > len ? VEIL_ETRUNCATED : VEIL_EFORMAT;
    }
    *needle = "wrong passphrase, or the file was modified";
    return VEIL_EPASSPHRASE; /* salt, parameters, nonce, body, tag: AEAD fails */
}

static void flip_all(const char *backend, uint8_t mask)
{
    size_t len;
    fvt t;
    uint8_t *orig = fvt_small_vault(backend, &len);
    uint8_t *bad = malloc(len);
    for (size_t pos = 0; pos < len; pos++) {
        const char *needle;
        memcpy(bad, orig, len);
        bad[pos] ^= mask;
        int want = expected_code(orig, len, pos, bad[pos], &needle);
        fvt_spill(path, bad, len);
        int rc = fvt_open(&t, backend, path, NULL);
        if (rc != want)
            fail_msg("%s: byte %zu ^ 0x%02x: got %d, want %d (%s)", backend, pos, mask, rc, want,
                     veil_last_error());
        assert_last_error_contains(needle);
        assert_last_error_contains(path);
        fvt_assert_unchanged(path, bad, len);
    }
    free(bad);
    free(orig);
}

static void test_flipped_every_byte(void **state)
{
    (void)state;
    for (size_t b = 0; b < n_backends; b++) {
        flip_all(backends[b], 0xff);
        flip_all(backends[b], 0x01);
    }
}

static void test_unknown_version(void **state)
{
    (void)state;
    size_t len;
    fvt t;
    uint8_t *f = fvt_small_vault(backends[0], &len);
    f[9] = 3;
    fvt_spill(path, f, len);
    assert_error_contains(fvt_open(&t, backends[0], path, NULL), VEIL_EVERSION,
                          "unknown format version 3 at offset 8 (this build reads versions 1..2)");
    fvt_assert_unchanged(path, f, len);
    free(f);
}

/* A version 1 file (written here by the documented layout: no records
 * section; passphrase_mode = none, so the key is all zero) opens, keeps its
 * version until its first change, and is then rewritten as version 2. */
static void test_version1_upgraded(void **state)
{
    (void)state;
    static const uint8_t zero_key[32];
    const vc_backend *be;
    void *aead;
    fvt t;
    veil_secret h;
    size_t len, pos = 4, n;
    uint8_t file[FV_HEADER_BYTES + 256], body[256], seed[32] = { 7 };
    fv_header hdr = { .version = 1, .aead = FV_AEAD_CHACHAPOLY, .nonce = { 1, 2, 3 } };
    veil_secret_attrs a = fvt_attrs(VEIL_SECRET_ED25519, "old", true, false);
    veil__store_be32(body, 1);
    assert_int_equal(fv_record_encode(body, sizeof body, &pos, &a, seed, 32), 0);
    hdr.body_len = (uint32_t)(pos + FV_TAG_BYTES);
    fv_header_encode(&hdr, file);
    assert_int_equal(vc_backend_by_name(backends[0], &be), 0);
    assert_int_equal(be->aead_new(VEIL_SECRET_CHACHAPOLY, zero_key, &aead), 0);
    assert_int_equal(be->aead_encrypt(aead, hdr.nonce, file, FV_HEADER_BYTES, body, pos), 0);
    be->aead_free(aead);
    memcpy(file + FV_HEADER_BYTES, body, hdr.body_len);
    fvt_spill(path, file, FV_HEADER_BYTES + hdr.body_len);
    assert_int_equal(fvt_open(&t, backends[0], path, "passphrase_mode = none\n"), 0);
    assert_int_equal(veil_vault_find_by_label(t.v, "old", &h), 0);
    assert_int_equal(veil_vault_record_get(t.v, "any", NULL, 0, &n), VEIL_ENOTFOUND);
    fvt_assert_unchanged(path, file, FV_HEADER_BYTES + hdr.body_len);
    assert_int_equal(veil_vault_record_put(t.v, "new", (const uint8_t *)"v2", 2), 0);
    fvt_close(&t);
    uint8_t *f = fvt_slurp(path, &len);
    assert_int_equal(f[8] << 8 | f[9], 2);
    free(f);
    assert_int_equal(fvt_open(&t, backends[n_backends - 1], path, "passphrase_mode = none\n"), 0);
    assert_int_equal(veil_vault_find_by_label(t.v, "old", &h), 0);
    assert_int_equal(veil_vault_record_get(t.v, "new", NULL, 0, &n), 0);
    assert_int_equal(n, 2);
    fvt_close(&t);
}

/* A child process holds the vault open: the parent gets VEIL_ELOCKED. */
static void test_locked_by_child(void **state)
{
    (void)state;
    size_t len;
    fvt t;
    int up[2], down[2];
    uint8_t *orig = fvt_small_vault(backends[0], &len);
    assert_int_equal(pipe(up), 0);
    assert_int_equal(pipe(down), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char c = fvt_open(&t, backends[0], path, NULL) == 0 ? 'y' : 'n';
        if (write(up[1], &c, 1) != 1 || read(down[0], &c, 1) != 1)
            _exit(2);
        _exit(0);
    }
    char c = 0;
    assert_int_equal(read(up[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    assert_error_contains(fvt_open(&t, backends[n_backends - 1], path, NULL), VEIL_ELOCKED,
                          "is locked");
    assert_last_error_contains(path);
    fvt_assert_unchanged(path, orig, len);
    assert_int_equal(write(down[1], "x", 1), 1);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The child's exit released the lock; a second open in this same
     * process is refused too (flock is per open file description). */
    assert_int_equal(fvt_open(&t, backends[0], path, NULL), 0);
    fvt t2;
    assert_error_contains(fvt_open(&t2, backends[0], path, NULL), VEIL_ELOCKED, path);
    fvt_close(&t);
    for (int i = 0; i < 2; i++) {
        close(up[i]);
        close(down[i]);
    }
    free(orig);
}

static void test_open_permissions(void **state)
{
    (void)state;
    size_t len;
    fvt t;
    uint8_t *orig = fvt_small_vault(backends[0], &len);
    assert_int_equal(chmod(path, 0640), 0);
    assert_error_contains(fvt_open(&t, backends[0], path, NULL), VEIL_EPERMISSIONS, "mode 0640");
    assert_last_error_contains(path);
    assert_last_error_contains("allow_open_permissions");
    fvt_assert_unchanged(path, orig, len);
    assert_int_equal(fvt_open(&t, backends[0], path,
                              "passphrase_env = " FVT_PASS_ENV "\nallow_open_permissions = yes\n"),
                     0);
    fvt_close(&t);
    /* A symbolic link is not followed (O_NOFOLLOW). */
    char link[160];
    snprintf(link, sizeof link, "%s.link", path);
    assert_int_equal(symlink(path, link), 0);
    assert_error_contains(fvt_open(&t, backends[0], link, NULL), VEIL_EIO, link);
    assert_last_error_contains("symbolic links");
    unlink(link);
    snprintf(link, sizeof link, "%s.link.lock", path);
    unlink(link);
    free(orig);
}

/* ---- an entity key across processes ----------------------------------------------- */

/* A child process creates an Ed25519 identity and signs; a second child
 * signs again from the same file: same public key, both signatures verify
 * under it (what a node identity relies on). */
static void child_sign(const char *backend, bool create, int fd)
{
    fvt t;
    veil_secret h;
    uint8_t out[32 + 64];
    size_t n;
    if (fvt_open(&t, backend, path, NULL) != 0)
        _exit(2);
    veil_secret_attrs a = fvt_attrs(VEIL_SECRET_ED25519, "entity", true, false);
    if ((create ? veil_vault_generate(t.v, &a, &h) : veil_vault_find_by_label(t.v, "entity", &h)) !=
            0 ||
        veil_vault_public_key(t.v, h, out, 32, &n) != 0 ||
        veil_vault_sign(t.v, h, (const uint8_t *)"hello", 5, out + 32) != 0)
        _exit(3);
    fvt_close(&t);
    _exit(write(fd, out, sizeof out) == (ssize_t)sizeof out ? 0 : 4);
}

static void run_child(const char *backend, bool create, uint8_t out[96])
{
    int p[2], status;
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child_sign(backend, create, p[1]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(read(p[0], out, 96), 96);
    close(p[0]);
    close(p[1]);
}

static void test_entity_key_across_processes(void **state)
{
    (void)state;
    uint8_t first[96], second[96];
    fvt t;
    veil_secret h;
    uint8_t pub[32];
    size_t n;
    run_child(backends[0], true, first);
    run_child(backends[n_backends - 1], false, second);
    assert_memory_equal(first, second, 32);
    /* Ed25519 is deterministic: the same key signs "hello" identically. */
    assert_memory_equal(first + 32, second + 32, 64);
    assert_int_equal(fvt_open(&t, backends[0], path, NULL), 0);
    assert_int_equal(veil_vault_find_by_label(t.v, "entity", &h), 0);
    assert_int_equal(veil_vault_public_key(t.v, h, pub, 32, &n), 0);
    assert_memory_equal(pub, first, 32);
    assert_int_equal(veil_vault_verify(t.v, VEIL_SECRET_ED25519, first, 32,
                                       (const uint8_t *)"hello", 5, first + 32), 0);
    fvt_close(&t);
}

#define T(fn) cmocka_unit_test_setup(fn, fvt_fresh)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_scrypt_rfc7914), T(test_roundtrip_all_backends), T(test_header_layout),
        T(test_independent_decoder), T(test_new_file_kdf_default_is_2_17),
        T(test_old_default_file_still_opens), T(test_destroy_persists), T(test_wrong_passphrase),
        T(test_truncated_every_length), T(test_flipped_every_byte), T(test_unknown_version),
        T(test_version1_upgraded),
        T(test_locked_by_child), T(test_open_permissions), T(test_passphrase_sources),
        T(test_config_errors), T(test_passphrase_fd), T(test_create_key), T(test_entity_key_across_processes),
    };
    return cmocka_run_group_tests_name("file vault", tests, fvt_group_setup, fvt_group_teardown);
}
