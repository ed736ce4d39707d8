/* File vault write failures (docs/VAULT-FILE.md "Crash-safe writes"): an
 * unwritable directory, a full disk and a failure at every step of the
 * rewrite, each leaving the file byte for byte untouched with the change
 * rolled back (creation) or reported (destroy).
 *
 * The fault-injection tests register the file vault's code, linked here
 * from its convenience library, as a built-in "file" plugin so they can set
 * fv_fault_hook (store.h); test_real_tmpfs does the same for real on a
 * small tmpfs when the system lets us mount one. */
#include "test_vault_file_util.h"
#include "assert_error.h"

#include <sys/mount.h>

#include "store.h"
#include "vault.h"
#include "vault_core.h"

static const char *const linked_keys[] = { VC_CRYPTO_KEY, FV_CONFIG_KEYS, NULL };
static const veil_vault_ops linked_ops = {
    .size = sizeof linked_ops,
    .instance_new = fv_instance_new,
    .instance_free = fv_instance_free,
    VC_CORE_OPS,
};
static const veil_plugin_descriptor linked_file = {
    VEIL_PLUGIN_ABI,
    .kind = VEIL_PLUGIN_VAULT,
    .name = "file",
    .version = "test",
    .description = "the file vault linked into the test (fault hook reachable)",
    .config_keys = linked_keys,
    .ops = &linked_ops,
};

static const char *fail_step;
static int fail_errno;

static int hook(const char *step)
{
    return strcmp(step, fail_step) == 0 ? fail_errno : 0;
}

/* A failing step of the rewrite: the op fails with the mapped code naming
 * the path, the new secret is not in the vault, the file is unchanged and
 * still opens with the old contents. */
static void fail_one(const char *backend, const char *step, int e, int want)
{
    size_t len;
    fvt t;
    veil_secret h;
    uint8_t *orig = fvt_small_vault(backend, &len);
    assert_int_equal(fvt_open(&t, backend, path, NULL), 0);
    fail_step = step;
    fail_errno = e;
    fv_fault_hook = hook;
    veil_secret_attrs a = fvt_attrs(VEIL_SECRET_X25519, "new", true, false);
    assert_int_equal(veil_vault_generate(t.v, &a, &h), want);
    assert_last_error_contains(path);
    assert_last_error_contains(strerror(e));
    assert_int_equal(veil_vault_find_by_label(t.v, "new", &h), VEIL_ENOTFOUND);
    fvt_assert_unchanged(path, orig, len);
    /* Ephemeral secrets need no write and still work. */
    a.persistence = VEIL_EPHEMERAL;
    assert_int_equal(veil_vault_generate(t.v, &a, &h), 0);
    fv_fault_hook = NULL;
    fvt_close(&t);
    fvt_assert_unchanged(path, orig, len);
    assert_int_equal(fvt_open(&t, backend, path, NULL), 0);
    assert_int_equal(veil_vault_find_by_label(t.v, "k", &h), 0);
    assert_int_equal(veil_vault_find_by_label(t.v, "new", &h), VEIL_ENOTFOUND);
    fvt_close(&t);
    free(orig);
}

static void test_fault_each_step(void **state)
{
    (void)state;
    assert_int_equal(veil_plugin_register_builtin(&linked_file), 0);
    for (size_t b = 0; b < n_backends; b++) {
        fail_one(backends[b], "open", EACCES, VEIL_EPERM);   /* unwritable directory */
        fail_one(backends[b], "open", EROFS, VEIL_EPERM);
        fail_one(backends[b], "write", ENOSPC, VEIL_ENOSPC); /* disk full */
        fail_one(backends[b], "write", EIO, VEIL_EIO);
        fail_one(backends[b], "fsync", EIO, VEIL_EIO);
        fail_one(backends[b], "fsync", EDQUOT, VEIL_ENOSPC);
        fail_one(backends[b], "rename", EACCES, VEIL_EPERM);
    }
    veil_plugin_unregister_builtin("file");
}

/* After the rename the change is in place: a failing directory fsync is
 * only logged and the op succeeds. */
static void test_fault_fsync_dir(void **state)
{
    (void)state;
    fvt t;
    veil_secret h;
    assert_int_equal(veil_plugin_register_builtin(&linked_file), 0);
    assert_int_equal(fvt_open(&t, backends[0], path, NULL), 0);
    fail_step = "fsync_dir";
    fail_errno = EIO;
    fv_fault_hook = hook;
    veil_secret_attrs a = fvt_attrs(VEIL_SECRET_X25519, "kept", true, false);
    assert_int_equal(veil_vault_generate(t.v, &a, &h), 0);
    fv_fault_hook = NULL;
    fvt_close(&t);
    veil_plugin_unregister_builtin("file");
    assert_int_equal(fvt_open(&t, backends[0], path, NULL), 0);
    assert_int_equal(veil_vault_find_by_label(t.v, "kept", &h), 0);
    fvt_close(&t);
}

/* A destroy whose write fails: reported, the file keeps the secret, and
 * close writes the pending change once the disk works again. */
static void test_destroy_write_failure(void **state)
{
    (void)state;
    size_t len;
    fvt t;
    veil_secret h;
    assert_int_equal(veil_plugin_register_builtin(&linked_file), 0);
    uint8_t *orig = fvt_small_vault(backends[0], &len);
    assert_int_equal(fvt_open(&t, backends[0], path, NULL), 0);
    assert_int_equal(veil_vault_find_by_label(t.v, "k", &h), 0);
    fail_step = "write";
    fail_errno = ENOSPC;
    fv_fault_hook = hook;
    assert_error_contains(veil_vault_secret_destroy(t.v, h), VEIL_ENOSPC, path);
    assert_int_equal(veil_vault_find_by_label(t.v, "k", &h), VEIL_ENOTFOUND);
    fvt_assert_unchanged(path, orig, len);
    fv_fault_hook = NULL;
    fvt_close(&t);
    veil_plugin_unregister_builtin("file");
    assert_int_equal(fvt_open(&t, backends[0], path, NULL), 0);
    assert_int_equal(veil_vault_find_by_label(t.v, "k", &h), VEIL_ENOTFOUND);
    fvt_close(&t);
    free(orig);
}

/* Records follow the secrets: a put or delete whose write fails returns
 * the mapped error and is undone (new record absent, replaced value
 * back, deleted record still there), and the file is unchanged. */
static void test_record_write_failure(void **state)
{
    (void)state;
    size_t len, n;
    fvt t;
    uint8_t got[16];
    assert_int_equal(veil_plugin_register_builtin(&linked_file), 0);
    assert_int_equal(fvt_open(&t, backends[0], path, NULL), 0);
    assert_int_equal(veil_vault_record_put(t.v, "rec", (const uint8_t *)"old", 3), 0);
    fvt_close(&t);
    uint8_t *orig = fvt_slurp(path, &len);
    assert_int_equal(fvt_open(&t, backends[0], path, NULL), 0);
    fail_step = "write";
    fail_errno = ENOSPC;
    fv_fault_hook = hook;
    assert_error_contains(veil_vault_record_put(t.v, "other", (const uint8_t *)"x", 1), VEIL_ENOSPC,
                          path);
    assert_int_equal(veil_vault_record_get(t.v, "other", NULL, 0, &n), VEIL_ENOTFOUND);
    assert_int_equal(veil_vault_record_put(t.v, "rec", (const uint8_t *)"newer", 5), VEIL_ENOSPC);
    assert_int_equal(veil_vault_record_delete(t.v, "rec"), VEIL_ENOSPC);
    assert_int_equal(veil_vault_record_get(t.v, "rec", got, sizeof got, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(got, "old", 3);
    fvt_assert_unchanged(path, orig, len);
    fv_fault_hook = NULL;
    fvt_close(&t);
    veil_plugin_unregister_builtin("file");
    fvt_assert_unchanged(path, orig, len);
    free(orig);
}

/* The real thing where the system allows it (root with CAP_SYS_ADMIN): a
 * 64 KiB tmpfs filled up (ENOSPC), then remounted read-only (EROFS).  The
 * fault-hook tests above cover the same paths everywhere else. */
static void test_real_tmpfs(void **state)
{
    (void)state;
    char mnt[96], vp[128], filler[128];
    size_t len;
    fvt t;
    veil_secret h;
    snprintf(mnt, sizeof mnt, "%s/mnt", dir);
    assert_int_equal(mkdir(mnt, 0700), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0700") != 0) {
        fprintf(stderr, "# skipped: cannot mount a tmpfs here (%s)\n", strerror(errno));
        rmdir(mnt);
        skip();
    }
    snprintf(vp, sizeof vp, "%s/vault", mnt);
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    veil_secret_attrs a = fvt_attrs(VEIL_SECRET_ED25519, "k", true, false);
    assert_int_equal(fvt_open(&t, backends[0], vp, NULL), 0);
    assert_int_equal(veil_vault_generate(t.v, &a, &h), 0);
    /* Fill the file system. */
    int fd = open(filler, O_WRONLY | O_CREAT, 0600);
    static uint8_t blk[4096];
    while (write(fd, blk, sizeof blk) > 0)
        ;
    close(fd);
    uint8_t *orig = fvt_slurp(vp, &len);
    a = fvt_attrs(VEIL_SECRET_ED25519, "k2", true, false);
    for (int i = 0; i < 4; i++) { /* the tmpfs may have a last partial page */
        int rc = veil_vault_generate(t.v, &a, &h);
        if (rc == 0) {
            assert_int_equal(veil_vault_secret_destroy(t.v, h), 0);
            continue;
        }
        assert_error_contains(rc, VEIL_ENOSPC, vp);
        assert_last_error_contains("No space left");
        break;
    }
    assert_int_equal(veil_vault_find_by_label(t.v, "k2", &h), VEIL_ENOTFOUND);
    fvt_close(&t);
    fvt_assert_unchanged(vp, orig, len);
    free(orig);
    assert_int_equal(unlink(filler), 0);
    /* Read-only: opening works (the lock file exists), writing does not. */
    assert_int_equal(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL), 0);
    orig = fvt_slurp(vp, &len);
    assert_int_equal(fvt_open(&t, backends[n_backends - 1], vp, NULL), 0);
    assert_int_equal(veil_vault_find_by_label(t.v, "k", &h), 0);
    assert_error_contains(veil_vault_generate(t.v, &a, &h), VEIL_EPERM, vp);
    assert_last_error_contains("Read-only file system");
    fvt_close(&t);
    fvt_assert_unchanged(vp, orig, len);
    free(orig);
    assert_int_equal(umount(mnt), 0);
    rmdir(mnt);
}

/* Counts the rewrites (one rename each) and fails the fsync when asked. */
static unsigned renames;
static int fsync_errno;

static int count_hook(const char *step)
{
    if (strcmp(step, "rename") == 0)
        renames++;
    return strcmp(step, "fsync") == 0 ? fsync_errno : 0;
}

/* veil_vault_batch_begin/commit (issue #15): the changes of a batch reach
 * the file in one rewrite at the outermost commit, and not before (the
 * file is unchanged until then); a commit without a begin is VEIL_ESTATE;
 * a failed commit reports the storage error, keeps the changes in memory
 * and close writes them. */
static void test_batch(void **state)
{
    (void)state;
    size_t len;
    fvt t;
    veil_secret h[5], k;
    char label[8];
    assert_int_equal(veil_plugin_register_builtin(&linked_file), 0);
    uint8_t *orig = fvt_small_vault(backends[0], &len);
    assert_int_equal(fvt_open(&t, backends[0], path, NULL), 0);
    assert_error_contains(veil_vault_batch_commit(t.v), VEIL_ESTATE, "no batch was begun");
    renames = 0;
    fsync_errno = 0;
    fv_fault_hook = count_hook;
    assert_int_equal(veil_vault_batch_begin(t.v), 0);
    assert_int_equal(veil_vault_batch_begin(t.v), 0); /* nested */
    for (int i = 0; i < 5; i++) {
        snprintf(label, sizeof label, "b%d", i);
        veil_secret_attrs a = fvt_attrs(VEIL_SECRET_X25519, label, true, false);
        assert_int_equal(veil_vault_generate(t.v, &a, &h[i]), 0);
    }
    assert_int_equal(veil_vault_find_by_label(t.v, "k", &k), 0);
    assert_int_equal(veil_vault_secret_destroy(t.v, k), 0);
    assert_int_equal(veil_vault_batch_commit(t.v), 0); /* inner: nothing written */
    assert_int_equal(renames, 0);
    fvt_assert_unchanged(path, orig, len);
    assert_int_equal(veil_vault_batch_commit(t.v), 0);
    assert_int_equal(renames, 1);
    assert_int_equal(veil_vault_batch_commit(t.v), VEIL_ESTATE);
    /* a failing commit: the error, the file as before the batch */
    assert_int_equal(veil_vault_batch_begin(t.v), 0);
    assert_int_equal(veil_vault_secret_destroy(t.v, h[0]), 0);
    fsync_errno = EIO;
    size_t len2;
    uint8_t *before = fvt_slurp(path, &len2);
    assert_error_contains(veil_vault_batch_commit(t.v), VEIL_EIO, path);
    fvt_assert_unchanged(path, before, len2);
    fsync_errno = 0;
    fvt_close(&t); /* writes the pending destroy */
    fv_fault_hook = NULL;
    veil_plugin_unregister_builtin("file");
    assert_int_equal(fvt_open(&t, backends[0], path, NULL), 0);
    assert_int_equal(veil_vault_find_by_label(t.v, "k", &k), VEIL_ENOTFOUND);
    assert_int_equal(veil_vault_find_by_label(t.v, "b0", &k), VEIL_ENOTFOUND);
    for (int i = 1; i < 5; i++) {
        snprintf(label, sizeof label, "b%d", i);
        assert_int_equal(veil_vault_find_by_label(t.v, label, &k), 0);
    }
    fvt_close(&t);
    free(before);
    free(orig);
}

#define T(fn) cmocka_unit_test_setup(fn, fvt_fresh)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_fault_each_step), T(test_fault_fsync_dir), T(test_destroy_write_failure),
        T(test_record_write_failure), T(test_batch), T(test_real_tmpfs),
    };
    return cmocka_run_group_tests_name("file vault faults", tests, fvt_group_setup,
                                       fvt_group_teardown);
}
