/* Helpers shared by the file vault tests (test_vault_file*.c): a temp
 * directory, opening a file vault through the real plugin loader, and
 * whole-file snapshots to prove a failure left the file untouched. */
#ifndef VEIL_TEST_VAULT_FILE_UTIL_H
#define VEIL_TEST_VAULT_FILE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <veil/error.h>
#include <veil/log.h>
#include <veil/plugin.h>
#include <veil/vault.h>

#define FVT_PASS_ENV "VEIL_TEST_FILE_VAULT_PASS"

typedef struct fvt {
    veil_config *cfg;
    veil_plugin *pl;
    veil_vault *v;
} fvt;

static inline void fvt_close(fvt *t)
{
    veil_vault_close(t->v);
    veil_plugin_close(t->pl);
    veil_config_free(t->cfg);
    memset(t, 0, sizeof *t);
}

/* Open the vault of section [vault] in config text (origin: its file name
 * in messages) through the plugin loader; returns the open's code
 * (everything is released again on failure). */
static inline int fvt_open_text(fvt *t, const char *plugin, const char *text, const char *origin)
{
    memset(t, 0, sizeof *t);
    assert_int_equal(veil_config_new_from_text(&t->cfg, text, origin), 0);
    int rc = veil_plugin_open_named(plugin, t->cfg, "vault", VEIL_PLUGIN_VAULT, NULL, &t->pl);
    if (rc != 0)
        fail_msg("loading the %s vault: %s", plugin, veil_last_error());
    veil_config_scope scope = { t->cfg, "vault" };
    rc = veil_vault_open_plugin(t->pl, &scope, &t->v);
    if (rc != 0) {
        veil_plugin_close(t->pl);
        veil_config_free(t->cfg);
        memset(t, 0, sizeof *t);
    }
    return rc;
}

/* Open the file vault at path on backend with extra config lines; returns
 * the open's code (everything is released again on failure). */
static inline int fvt_open(fvt *t, const char *backend, const char *path, const char *extra)
{
    char text[2048];
    /* Tiny KDF parameters unless the test sets its own. */
    snprintf(text, sizeof text, "[vault]\nplugin = file\ncrypto = %s\npath = %s\n%s%s", backend,
             path, extra != NULL && strstr(extra, "kdf_") ? "" : "kdf_n = 1024\nkdf_r = 1\n",
             extra != NULL ? extra : "passphrase_env = " FVT_PASS_ENV "\n");
    return fvt_open_text(t, "file", text, "fv.conf");
}

/* Whole file into a malloc'd buffer (NULL and *len = 0 when absent). */
static inline uint8_t *fvt_slurp(const char *path, size_t *len)
{
    struct stat st;
    *len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    assert_int_equal(fstat(fd, &st), 0);
    uint8_t *b = malloc((size_t)st.st_size + 1);
    assert_non_null(b);
    assert_int_equal(read(fd, b, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return b;
}

static inline void fvt_spill(const char *path, const uint8_t *b, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b, len), (ssize_t)len);
    close(fd);
}

/* The file still has exactly these bytes. */
static inline void fvt_assert_unchanged(const char *path, const uint8_t *b, size_t len)
{
    size_t n;
    uint8_t *now = fvt_slurp(path, &n);
    if (n != len || (len > 0 && memcmp(now, b, len) != 0))
        fail_msg("vault file %s changed (%zu bytes, was %zu)", path, n, len);
    free(now);
}

static inline veil_secret_attrs fvt_attrs(int type, const char *label, bool persistent,
                                          bool exportable)
{
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = type;
    a.persistence = persistent ? VEIL_PERSISTENT : VEIL_EPHEMERAL;
    a.exportable = exportable;
    snprintf(a.label, sizeof a.label, "%s", label);
    return a;
}

#ifndef FVT_NO_FIXTURE
/* test_vault_file_fixture.c (linked by test_vault_file and
 * test_vault_file_faults): the backends built, a temp directory, one vault
 * path in it; fvt_fresh removes the vault (per-test setup); the small vault
 * holds one Ed25519 secret labelled "k" and its bytes are returned. */
extern const char *backends[2];
extern size_t n_backends;
extern char dir[64];
extern char path[128];
int fvt_group_setup(void **state);
int fvt_group_teardown(void **state);
int fvt_fresh(void **state);
uint8_t *fvt_small_vault(const char *backend, size_t *len);
/* test_vault_file_config.c (in the test_vault_file program) */
void test_passphrase_sources(void **state);
void test_config_errors(void **state);
void test_passphrase_fd(void **state);
void test_create_key(void **state);
void test_new_file_kdf_default_is_2_17(void **state);
void test_old_default_file_still_opens(void **state);
#endif

#endif
