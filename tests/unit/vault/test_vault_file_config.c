/* File vault passphrase sources and configuration errors (part of the
 * test_vault_file program; docs/VAULT-FILE.md "Configuration"). */
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
