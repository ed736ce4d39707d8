/* Plugin loader, what loads: the search order, absolute paths, built-in
 * registration, the plugin contract, and that unloads leave no module mapped.
 * Every refusal is in test_plugin_refusals.c.
 *
 * Fixture plugins come from tests/unit/plugin/fixtures/.libs (found through
 * $VEIL_PLUGIN_PATH, set by the test harness, or by absolute path from
 * $VEIL_TOP_BUILDDIR).
 *
 * Not tested here: that $VEIL_PLUGIN_PATH is ignored in setuid programs.
 * The loader reads it with secure_getenv(3), which returns NULL when the
 * process runs with AT_SECURE; exercising that needs a setuid binary, which
 * a test suite run by an ordinary user cannot create. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"
#include "loader_test.h"

#include <veil/plugin.h>
#include <veil/error.h>
#include <veil/log.h>
#include <veil/config.h>
#include <veil/trust_policy.h>

#include "fixtures.h"
#include "veil_paths.h" /* VEIL_PLUGIN_DIR */

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char last_log[512];

static void capture_log(veil_log_level level, const char *component,
                        const char *message, void *arg)
{
    (void)arg;
    snprintf(last_log, sizeof last_log, "%d|%s|%s", (int)level, component, message);
}

/* ---- success paths ------------------------------------------------------ */

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(veil_plugin_kind_name(VEIL_PLUGIN_VAULT), "vault");
    assert_string_equal(veil_plugin_kind_name(VEIL_PLUGIN_KEY_AGREEMENT), "key_agreement");
    assert_string_equal(veil_plugin_kind_name(VEIL_PLUGIN_TRUST_POLICY), "policy");
    assert_string_equal(veil_plugin_kind_name(VEIL_PLUGIN_TRANSPORT), "transport");
    assert_string_equal(veil_plugin_kind_name(VEIL_PLUGIN_STORE), "store");
    assert_string_equal(veil_plugin_kind_name(0), "?");
    assert_string_equal(veil_plugin_kind_name(6), "?");
}

static void test_plugin_dir(void **state)
{
    (void)state;
    assert_string_equal(veil_plugin_dir(), VEIL_PLUGIN_DIR);
    assert_true(veil_plugin_dir()[0] == '/');
}

static void test_load_via_plugin_path(void **state)
{
    veil_config *cfg = policy_config("fixture_good");
    veil_plugin *p = NULL;
    int fake_node;
    char expect[PATH_MAX], real_got[PATH_MAX], real_expect[PATH_MAX];
    const veil_trust_policy_ops *ops;
    (void)state;

    assert_int_equal(veil_config_set(cfg, "policy", "greeting", "bonjour"), 0);
    veil_log_set_handler(capture_log, NULL);
    veil_log_set_level(VEIL_LOG_INFO);
    last_log[0] = '\0';
    assert_int_equal(veil_plugin_open(cfg, "policy", VEIL_PLUGIN_TRUST_POLICY,
                                      (veil_node *)&fake_node, &p), 0);
    veil_log_set_handler(NULL, NULL);
    veil_log_set_level(VEIL_LOG_WARN);
    assert_non_null(p);

    fixture_path("fixture_good", expect, sizeof expect);
    assert_non_null(realpath(veil_plugin_path(p), real_got));
    assert_non_null(realpath(expect, real_expect));
    assert_string_equal(real_got, real_expect);
    assert_true(is_mapped(expect));

    assert_string_equal(veil_plugin_descriptor_of(p)->name, "fixture_good");
    assert_int_equal(veil_plugin_descriptor_of(p)->kind, VEIL_PLUGIN_TRUST_POLICY);
    assert_ptr_equal(veil_plugin_node(p), (veil_node *)&fake_node);
    /* init read its own section's key through libveil's API... */
    assert_string_equal((const char *)veil_plugin_state(p), "bonjour");
    /* ...and logged through them. */
    assert_string_equal(last_log, "1|fixture_good|greeting: bonjour");
    /* The ops table is the plugin's and works. */
    ops = veil_plugin_descriptor_of(p)->ops;
    assert_int_equal(ops->check(NULL, NULL), 0);

    veil_plugin_close(p);
    assert_false(is_mapped(expect));
    veil_config_free(cfg);
}

static void test_load_absolute_path(void **state)
{
    char path[PATH_MAX];
    veil_plugin *p = NULL;
    (void)state;

    fixture_path("fixture_good", path, sizeof path);
    /* An absolute path is used as is, never searched: hide the search path. */
    setenv("VEIL_PLUGIN_PATH", "/nonexistent-veil-dir", 1);
    assert_int_equal(veil_plugin_open_named(path, NULL, NULL, VEIL_PLUGIN_TRUST_POLICY,
                                            NULL, &p), 0);
    assert_string_equal(veil_plugin_path(p), path);
    assert_null(veil_plugin_node(p));
    /* No configuration at all: the getters report every key absent. */
    assert_string_equal((const char *)veil_plugin_state(p), FIXTURE_GOOD_DEFAULT_GREETING);
    veil_plugin_close(p);
    assert_false(is_mapped(path));
}

static void test_builtin(void **state)
{
    veil_plugin *p = NULL;
    veil_config *cfg = policy_config("fixture_good");
    char path[PATH_MAX];
    (void)state;

    assert_int_equal(veil_config_set(cfg, "policy", "greeting", "built in"), 0);
    assert_int_equal(veil_plugin_register_builtin(&fixture_good_descriptor), 0);
    assert_error_contains(veil_plugin_register_builtin(&fixture_good_descriptor), VEIL_EEXIST,
                          "fixture_good");

    /* Built-ins come before the file system. */
    assert_int_equal(veil_plugin_open(cfg, "policy", VEIL_PLUGIN_TRUST_POLICY, NULL, &p), 0);
    assert_string_equal(veil_plugin_path(p), "builtin");
    assert_ptr_equal(veil_plugin_descriptor_of(p), &fixture_good_descriptor);
    assert_string_equal((const char *)veil_plugin_state(p), "built in");
    fixture_path("fixture_good", path, sizeof path);
    assert_false(is_mapped(path));
    veil_plugin_close(p);

    /* Built-ins pass the same checks: wrong slot. */
    assert_int_equal(veil_plugin_open_named("fixture_good", NULL, "vault",
                                            VEIL_PLUGIN_VAULT, NULL, &p),
                     VEIL_EPLUGIN_KIND);
    assert_null(p);

    /* Unregistered: the file is found again. */
    veil_plugin_unregister_builtin("fixture_good");
    assert_int_equal(veil_plugin_open(cfg, "policy", VEIL_PLUGIN_TRUST_POLICY, NULL, &p), 0);
    assert_string_not_equal(veil_plugin_path(p), "builtin");
    veil_plugin_close(p);
    veil_config_free(cfg);
}

static void test_builtin_refused(void **state)
{
    veil_plugin_descriptor d = fixture_good_descriptor;
    (void)state;

    assert_int_equal(veil_plugin_register_builtin(NULL), VEIL_EINVAL);
    d.name = "../evil";
    assert_error(veil_plugin_register_builtin(&d), VEIL_EINVAL,
                 "built-in plugin name '../evil' is not a bare name ([A-Za-z0-9_-]{1,64})");
    d.name = "fine";
    d.abi_major = 7;
    char want[160];
    snprintf(want, sizeof want, "plugin '(built-in)' (builtin): plugin ABI 7.%u, host ABI %u.%u "
             "(major versions differ: rebuild the plugin against this veil)",
             VEIL_PLUGIN_ABI_MINOR, VEIL_PLUGIN_ABI_MAJOR, VEIL_PLUGIN_ABI_MINOR);
    assert_error(veil_plugin_register_builtin(&d), VEIL_EPLUGIN_ABI, want);
    d.abi_major = VEIL_PLUGIN_ABI_MAJOR;
    d.struct_size = 8;
    assert_error(veil_plugin_register_builtin(&d), VEIL_EPLUGIN_ABI,
                 "plugin '(built-in)' (builtin): descriptor struct_size 8 is smaller than the "
                 "ABI 1.0 descriptor (72 bytes)");
}

/* Registered descriptors meet the same load-time checks as files. */
static int silent_failing_init(const veil_config_scope *scope, void **st)
{
    (void)scope;
    (void)st;
    return VEIL_EDENIED;
}

static void test_builtin_checked_at_load(void **state)
{
    veil_plugin_descriptor d = fixture_good_descriptor;
    veil_plugin *p = (veil_plugin *)0x1;
    (void)state;

    d.name = "nullops";
    d.ops = NULL;
    assert_int_equal(veil_plugin_register_builtin(&d), 0);
    assert_int_equal(veil_plugin_open_named("nullops", NULL, NULL, VEIL_PLUGIN_TRUST_POLICY,
                                            NULL, &p), VEIL_EPLUGIN_ABI);
    assert_null(p);
    assert_last_error_contains("plugin 'nullops' (builtin) has no policy ops table");
    veil_plugin_unregister_builtin("nullops");

    /* An init that fails without setting a detail is still reported, and
     * not with whatever failed before on this thread. */
    d = fixture_good_descriptor;
    d.name = "silent";
    d.init = silent_failing_init;
    assert_int_equal(veil_plugin_register_builtin(&d), 0);
    (void)veil_error_set(VEIL_EIO, "stale detail");
    assert_error_contains(veil_plugin_open_named("silent", NULL, NULL, VEIL_PLUGIN_TRUST_POLICY, NULL, &p),
                          VEIL_EPLUGIN_INIT, "plugin 'silent' (builtin) init failed: ");
    assert_last_error_contains(veil_strerror(VEIL_EDENIED));
    assert_last_error_lacks("stale");
    veil_plugin_unregister_builtin("silent");
    assert_int_equal(veil_plugin_open_named("silent", NULL, NULL, VEIL_PLUGIN_TRUST_POLICY,
                                            NULL, &p), VEIL_EPLUGIN_NOTFOUND);
}

static void test_unload_leaves_nothing(void **state)
{
    veil_config *cfg = policy_config("fixture_good");
    char path[PATH_MAX];
    (void)state;

    fixture_path("fixture_good", path, sizeof path);
    for (int i = 0; i < 20; i++) {
        veil_plugin *a = NULL, *b = NULL;
        assert_int_equal(veil_plugin_open(cfg, "policy", VEIL_PLUGIN_TRUST_POLICY, NULL, &a), 0);
        assert_int_equal(veil_plugin_open(cfg, "policy", VEIL_PLUGIN_TRUST_POLICY, NULL, &b), 0);
        /* Two loads share the mapping but not the state. */
        assert_ptr_not_equal(veil_plugin_state(a), veil_plugin_state(b));
        veil_plugin_close(a);
        assert_true(is_mapped(path));
        veil_plugin_close(b);
        assert_false(is_mapped(path));
    }
    veil_config_free(cfg);
}

int main(void)
{
    if (loader_test_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_plugin_dir),
        cmocka_unit_test_teardown(test_load_via_plugin_path, restore_env),
        cmocka_unit_test_teardown(test_load_absolute_path, restore_env),
        cmocka_unit_test_teardown(test_builtin, restore_env),
        cmocka_unit_test(test_builtin_refused),
        cmocka_unit_test(test_builtin_checked_at_load),
        cmocka_unit_test(test_unload_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
