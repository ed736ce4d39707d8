/* File vault passphrase sources, configuration errors and the KDF
 * parameters of new and existing files (part of the test_vault_file
 * program; docs/VAULT-FILE.md "Configuration"). */
#include "test_vault_file_util.h"
#include "assert_error.h"

static char logged[1024];

static void log_sink(veil_log_level level, const char *component, const char *msg, void *arg)
{
    (void)arg;
    if (level >= VEIL_LOG_WARN && strcmp(component, "vault.file") == 0)
        snprintf(logged, sizeof logged, "%s", msg);
}

void test_passphrase_sources(void **state)
{
    (void)state;
    fvt t;
    char pf[128], extra[256];
    veil_secret h;
    uint8_t *orig;
    size_t len;
    /* Created with the environment variable ... */
    orig = fvt_small_vault(backends[0], &len);
    free(orig);
    /* ... opens with the same passphrase from a file (newline cut) ... */
    snprintf(pf, sizeof pf, "%s/pass", dir);
    fvt_spill(pf, (const uint8_t *)"correct horse battery staple\n", 29);
    snprintf(extra, sizeof extra, "passphrase_file = %s\n", pf);
    assert_int_equal(fvt_open(&t, backends[0], path, extra), 0);
    assert_int_equal(veil_vault_find_by_label(t.v, "k", &h), 0);
    fvt_close(&t);
    /* ... and from the config, with a warning that it sits in a file. */
    veil_log_flush(); /* a warning an earlier test caused is logged again */
    veil_log_set_handler(log_sink, NULL);
    veil_log_set_level(VEIL_LOG_WARN);
    logged[0] = '\0';
    assert_int_equal(fvt_open(&t, backends[0], path,
                              "passphrase = correct horse battery staple\n"), 0);
    assert_non_null(strstr(logged, "written in the configuration file"));
    fvt_close(&t);
    /* passphrase_mode = none on a passphrase file is refused. */
    assert_error_contains(fvt_open(&t, backends[0], path, "passphrase_mode = none\n"),
                          VEIL_EPASSPHRASE, "protected by a passphrase");
    /* A none-mode vault: warned, works, and refuses a passphrase later. */
    fvt_fresh(NULL);
    veil_log_flush(); /* the refusal above logged the same warning */
    logged[0] = '\0';
    assert_int_equal(fvt_open(&t, backends[0], path, "passphrase_mode = none\n"), 0);
    assert_non_null(strstr(logged, "only the file's permissions protect them"));
    veil_secret_attrs a = fvt_attrs(VEIL_SECRET_X25519, "plain", true, false);
    assert_int_equal(veil_vault_generate(t.v, &a, &h), 0);
    fvt_close(&t);
    veil_log_set_handler(NULL, NULL);
    veil_log_set_level(VEIL_LOG_ERROR);
    assert_int_equal(fvt_open(&t, backends[n_backends - 1], path, "passphrase_mode = none\n"),
                     0);
    assert_int_equal(veil_vault_find_by_label(t.v, "plain", &h), 0);
    fvt_close(&t);
    assert_error_contains(fvt_open(&t, backends[0], path, NULL), VEIL_EPASSPHRASE,
                          "has no passphrase");
    unlink(pf);
}

void test_config_errors(void **state)
{
    (void)state;
    fvt t;
    assert_error_contains(fvt_open(&t, backends[0], path, "passphrase_env = VEIL_TEST_UNSET_VAR\n"),
                          VEIL_ECONFIG, "VEIL_TEST_UNSET_VAR");
    assert_last_error("opening vault 'file': fv.conf:7: passphrase_env names "
                      "VEIL_TEST_UNSET_VAR, which is not set in the environment");
    assert_error_contains(fvt_open(&t, backends[0], path, "passphrase_env = " FVT_PASS_ENV "\npassphrase = x\n"),
                          VEIL_ECONFIG, "exactly one of");
    assert_error_contains(fvt_open(&t, backends[0], path, "passphrase_mode = maybe\n"),
                          VEIL_ECONFIG, "fv.conf:");
    assert_last_error_contains("maybe");
    assert_error_contains(fvt_open(&t, backends[0], path, "passphrase_file = /nonexistent/pass\n"),
                          VEIL_ECONFIG, "/nonexistent/pass");
    assert_error_contains(fvt_open(&t, backends[0], path, "passphrase_env = " FVT_PASS_ENV "\nkdf_n = 3000\n"),
                          VEIL_ECONFIG, "not a power of two");
    assert_error_contains(fvt_open(&t, backends[0], path, "passphrase_env = " FVT_PASS_ENV "\nkdf_n = 512\n"),
                          VEIL_ECONFIG, "kdf_n");
    assert_error_contains(fvt_open(&t, backends[0], path, "passphrase_env = " FVT_PASS_ENV "\nkdf_n = 4m\nkdf_r = 32\n"),
                          VEIL_ECONFIG, "exceeds the 1073741824-byte cap");
    assert_error(fvt_open(&t, backends[0], "", NULL), VEIL_ECONFIG,
                 "opening vault 'file': [vault]: the file vault needs 'path = FILE'");
    /* None of these created the file. */
    assert_int_equal(access(path, F_OK), -1);
}

/* Issue #10: without kdf_* keys a new file gets N = 2^17, r = 8, p = 1
 * (keys at rest: docs/VAULT-FILE.md, "Why these KDF parameters"), no
 * longer the interactive 2^15 (the comment line only stops the helper
 * adding tiny ones). */
void test_new_file_kdf_default_is_2_17(void **state)
{
    (void)state;
    fvt t;
    size_t len;
    assert_int_equal(fvt_open(&t, backends[0], path,
                              "passphrase_env = " FVT_PASS_ENV "\n# no kdf_ keys\n"), 0);
    fvt_close(&t);
    uint8_t *f = fvt_slurp(path, &len);
    assert_int_equal(f[10], 1);                      /* scrypt */
    assert_int_equal(f[11], 17);
    assert_int_equal((uint32_t)f[12] << 24 | (uint32_t)f[13] << 16 | f[14] << 8 | f[15], 8);
    assert_int_equal((uint32_t)f[16] << 24 | (uint32_t)f[17] << 16 | f[18] << 8 | f[19], 1);
    free(f);
    /* ... and it opens on the other backend with the same parameters. */
    assert_int_equal(fvt_open(&t, backends[n_backends - 1], path, NULL), 0);
    fvt_close(&t);
}

/* A file made by the code before issue #10 with its default N = 2^15
 * (tests/vectors/vault-file-n15.vault, openssl backend, one Ed25519 key
 * "old-default") opens with today's configuration on every backend; a
 * rewrite keeps the file's own parameters. */
void test_old_default_file_still_opens(void **state)
{
    (void)state;
    static const uint8_t want[32] = {
        0x15, 0x35, 0x33, 0xe3, 0xed, 0xea, 0x41, 0xcc, 0xd9, 0x2d, 0x55,
        0x58, 0x00, 0xfd, 0x82, 0xf5, 0xcf, 0x33, 0xd7, 0x9d, 0x64, 0xe4,
        0x84, 0x51, 0x24, 0x47, 0xa1, 0xdb, 0xb0, 0xca, 0xad, 0x8e,
    };
    const char *top = getenv("VEIL_TOP_SRCDIR");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp '%s/tests/vectors/vault-file-n15.vault' '%s' && chmod 600 '%s'",
             top != NULL ? top : ".", path, path);
    assert_int_equal(system(cmd), 0);
    for (size_t b = 0; b < n_backends; b++) {
        fvt t;
        veil_secret h;
        uint8_t pub[32];
        size_t n, len;
        assert_int_equal(fvt_open(&t, backends[b], path,
                                  "passphrase_env = " FVT_PASS_ENV "\n# no kdf_ keys\n"), 0);
        assert_int_equal(veil_vault_find_by_label(t.v, "old-default", &h), 0);
        assert_int_equal(veil_vault_public_key(t.v, h, pub, sizeof pub, &n), 0);
        assert_memory_equal(pub, want, 32);
        veil_secret_attrs a = fvt_attrs(VEIL_SECRET_X25519, b ? "second" : "first", true, false);
        assert_int_equal(veil_vault_generate(t.v, &a, &h), 0); /* rewrites the file */
        fvt_close(&t);
        uint8_t *f = fvt_slurp(path, &len);
        assert_int_equal(f[11], 15);
        free(f);
    }
    fvt t;
    veil_secret h;
    assert_int_equal(fvt_open(&t, backends[0], path, NULL), 0);
    assert_int_equal(veil_vault_find_by_label(t.v, "first", &h), 0);
    assert_int_equal(veil_vault_find_by_label(t.v, n_backends > 1 ? "second" : "first", &h), 0);
    fvt_close(&t);
}

/* passphrase_fd: the passphrase from an inherited descriptor (a pipe, as
 * the veil command hands a prompted one over), read to its end with one
 * trailing newline cut, the descriptor left open; a wrong one, a closed
 * descriptor, an empty or over-long source fail without touching the file. */
void test_passphrase_fd(void **state)
{
    (void)state;
    fvt t;
    int p[2];
    char extra[128];
    veil_secret h;
    size_t len;
    uint8_t *orig = fvt_small_vault(backends[0], &len);
    static const char *const inputs[] = { "correct horse battery staple\n",
                                          "correct horse battery staple",
                                          "wrong horse\n", "", "\n" };
    static const int want[] = { 0, 0, VEIL_EPASSPHRASE, VEIL_ECONFIG, VEIL_ECONFIG };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(pipe(p), 0);
        assert_int_equal(write(p[1], inputs[i], strlen(inputs[i])), (ssize_t)strlen(inputs[i]));
        close(p[1]);
        snprintf(extra, sizeof extra, "passphrase_fd = %d\n", p[0]);
        int rc = fvt_open(&t, backends[0], path, extra);
        assert_int_equal(rc, want[i]);
        if (rc == 0) {
            assert_int_equal(veil_vault_find_by_label(t.v, "k", &h), 0);
            fvt_close(&t);
        } else if (want[i] == VEIL_ECONFIG) {
            assert_last_error_contains("passphrase_fd");
            assert_last_error_contains("is empty");
        }
        assert_int_not_equal(fcntl(p[0], F_GETFD), -1); /* left open */
        close(p[0]);
        fvt_assert_unchanged(path, orig, len);
    }
    /* A closed descriptor, a bad number, and two sources at once. */
    assert_error_contains(fvt_open(&t, backends[0], path, "passphrase_fd = 999\n"),
                          VEIL_ECONFIG, "fv.conf:7: passphrase_fd 999: Bad file descriptor");
    assert_error_contains(fvt_open(&t, backends[0], path, "passphrase_fd = x\n"), VEIL_ECONFIG,
                          "passphrase_fd");
    assert_error_contains(fvt_open(&t, backends[0], path,
                                   "passphrase_fd = 0\npassphrase_env = " FVT_PASS_ENV "\n"),
                          VEIL_ECONFIG, "exactly one of passphrase_env, passphrase_file, "
                                        "passphrase_fd, passphrase (found 2)");
    /* Longer than 1024 bytes. */
    char big[1100];
    memset(big, 'a', sizeof big);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], big, sizeof big), (ssize_t)sizeof big);
    close(p[1]);
    snprintf(extra, sizeof extra, "passphrase_fd = %d\n", p[0]);
    assert_error_contains(fvt_open(&t, backends[0], path, extra), VEIL_ECONFIG,
                          "is longer than 1024 bytes");
    close(p[0]);
    fvt_assert_unchanged(path, orig, len);
    free(orig);
}

/* create = auto (default) | no | new: a missing file with `no` is
 * VEIL_ENOTFOUND and leaves nothing on disk (not even the lock file); an
 * existing one with `new` is VEIL_EEXIST and stays as it was. */
void test_create_key(void **state)
{
    (void)state;
    fvt t;
    size_t len;
    char lock[160];
    snprintf(lock, sizeof lock, "%s.lock", path);
    unlink(lock);
    char want[256];
    snprintf(want, sizeof want, "opening vault 'file': vault file %s does not exist "
                                "(create = no)", path);
    assert_error(fvt_open(&t, backends[0], path,
                          "passphrase_env = " FVT_PASS_ENV "\ncreate = no\n"),
                 VEIL_ENOTFOUND, want);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(access(lock, F_OK), -1);
    assert_error_contains(fvt_open(&t, backends[0], path,
                                   "passphrase_env = " FVT_PASS_ENV "\ncreate = maybe\n"),
                          VEIL_ECONFIG, "fv.conf:8: unknown create 'maybe' (accepted: auto, "
                                        "no, new)");
    assert_int_equal(fvt_open(&t, backends[0], path,
                              "passphrase_env = " FVT_PASS_ENV "\ncreate = new\n"), 0);
    fvt_close(&t);
    uint8_t *orig = fvt_slurp(path, &len);
    assert_non_null(orig);
    assert_error_contains(fvt_open(&t, backends[0], path,
                                   "passphrase_env = " FVT_PASS_ENV "\ncreate = new\n"),
                          VEIL_EEXIST, "already exists (create = new)");
    fvt_assert_unchanged(path, orig, len);
    assert_int_equal(fvt_open(&t, backends[0], path,
                              "passphrase_env = " FVT_PASS_ENV "\ncreate = no\n"), 0);
    fvt_close(&t);
    assert_int_equal(fvt_open(&t, backends[0], path,
                              "passphrase_env = " FVT_PASS_ENV "\ncreate = auto\n"), 0);
    fvt_close(&t);
    free(orig);
}
