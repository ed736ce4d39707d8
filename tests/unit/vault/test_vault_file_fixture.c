/* The fixture shared by test_vault_file.c and test_vault_file_faults.c (see
 * test_vault_file_util.h): a temp directory with one vault path, the
 * backends built, and a small vault to corrupt or fail on. */
#include "test_vault_file_util.h"

#include "store.h"

const char *backends[2];
size_t n_backends;
char dir[64];
char path[128];

int fvt_group_setup(void **state)
{
    (void)state;
#ifdef VEIL_HAVE_SODIUM
    backends[n_backends++] = "sodium";
#endif
#ifdef VEIL_HAVE_OPENSSL
    backends[n_backends++] = "openssl";
#endif
    /* On tmpfs when there is one: these tests check logic, not the disk,
     * and fsync on a busy disk made them slow (the crash test stays on
     * /tmp). */
    snprintf(dir, sizeof dir, "%s/veil-fv-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/vault", dir);
    setenv(FVT_PASS_ENV, "correct horse battery staple", 1);
    veil_log_set_level(VEIL_LOG_ERROR); /* the tiny-KDF warning on every open */
    return 0;
}

int fvt_group_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int fvt_fresh(void **state)
{
    (void)state;
    char p[160];
    unlink(path);
    snprintf(p, sizeof p, "%s.tmp", path);
    unlink(p);
    fv_fault_hook = NULL;
    return 0;
}

uint8_t *fvt_small_vault(const char *backend, size_t *len)
{
    fvt t;
    veil_secret h;
    veil_secret_attrs a = fvt_attrs(VEIL_SECRET_ED25519, "k", true, false);
    fvt_fresh(NULL);
    assert_int_equal(fvt_open(&t, backend, path, NULL), 0);
    assert_int_equal(veil_vault_generate(t.v, &a, &h), 0);
    fvt_close(&t);
    return fvt_slurp(path, len);
}
