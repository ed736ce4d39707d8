/* Plugin loader, every refusal with its exact code and a detail naming
 * what was wrong (not found, with every path searched; invalid names; a
 * missing plugin key; dlopen failures; no entry; bad descriptors; ABI
 * major and newer minor; wrong kind or name; small ops; init failure;
 * unknown keys), and that a failed load leaves no module mapped.
 * Fixture plugins: as in test_plugin_loader.c. */
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

/* ---- refusals ----------------------------------------------------------- */

static void test_not_found_lists_every_path(void **state)
{
    veil_plugin *p = NULL;
    const char *e;
    char in_dir[PATH_MAX];
    (void)state;

    /* Empty entries (leading, doubled, trailing colons) are skipped;
     * relative ones are listed as ignored, never tried. */
    setenv("VEIL_PLUGIN_PATH", ":/nonexistent-veil-a::tests/unit/plugin/fixtures/.libs:/nonexistent-veil-b:", 1);
    assert_int_equal(veil_plugin_open_named("fixture_missing", NULL, NULL,
                                            VEIL_PLUGIN_TRUST_POLICY, NULL, &p),
                     VEIL_EPLUGIN_NOTFOUND);
    assert_null(p);
    e = veil_last_error();
    assert_last_error_contains("fixture_missing");
    assert_last_error_contains("/nonexistent-veil-a/fixture_missing.so");
    assert_last_error_contains("/nonexistent-veil-b/fixture_missing.so");
    assert_last_error_contains("tests/unit/plugin/fixtures/.libs (ignored: not an absolute "
                               "directory)");
    assert_last_error_lacks("tests/unit/plugin/fixtures/.libs/fixture_missing.so");
    snprintf(in_dir, sizeof in_dir, "%s/fixture_missing.so", VEIL_PLUGIN_DIR);
    assert_last_error_contains(in_dir);
    assert_last_error_lacks("searched: /fixture_missing.so");
    assert_last_error_lacks(", /fixture_missing.so");
    /* The order is the search order. */
    assert_true(strstr(e, "veil-a/") < strstr(e, "veil-b/"));
    assert_true(strstr(e, "veil-b/") < strstr(e, in_dir));

    assert_error_contains(veil_plugin_open_named("/nonexistent-veil-a/x.so", NULL, NULL, VEIL_PLUGIN_TRUST_POLICY, NULL, &p),
                          VEIL_EPLUGIN_NOTFOUND, "searched: /nonexistent-veil-a/x.so");
    assert_last_error_lacks(VEIL_PLUGIN_DIR);
    /* A relative entry is not used even when the file is right there. */
    {
        char cwd[PATH_MAX];
        const char *top = getenv("VEIL_TOP_BUILDDIR");
        assert_non_null(getcwd(cwd, sizeof cwd));
        assert_int_equal(chdir(top), 0);
        setenv("VEIL_PLUGIN_PATH", "tests/unit/plugin/fixtures/.libs", 1);
        assert_int_equal(veil_plugin_open_named("fixture_good", NULL, NULL,
                                                VEIL_PLUGIN_TRUST_POLICY, NULL, &p),
                         VEIL_EPLUGIN_NOTFOUND);
        assert_int_equal(chdir(cwd), 0);
    }
}

/* A typo'd name gets the nearest plugin of the searched directories (or a
 * built-in), by edit distance; a name near nothing gets no hint. */
static void test_not_found_suggests_nearest(void **state)
{
    veil_plugin *p = NULL;
    char dir[PATH_MAX + 64];
    (void)state;
    snprintf(dir, sizeof dir, "%s/tests/unit/plugin/fixtures/.libs", getenv("VEIL_TOP_BUILDDIR"));
    setenv("VEIL_PLUGIN_PATH", dir, 1);
    assert_error_contains(veil_plugin_open_named("fixture_goood", NULL, NULL,
                                                 VEIL_PLUGIN_TRUST_POLICY, NULL, &p),
                          VEIL_EPLUGIN_NOTFOUND, "/fixture_goood.so; did you mean 'fixture_good'?");
    assert_null(p);
    assert_error_contains(veil_plugin_open_named("zqxjkvw", NULL, NULL,
                                                 VEIL_PLUGIN_TRUST_POLICY, NULL, &p),
                          VEIL_EPLUGIN_NOTFOUND, "/zqxjkvw.so");
    assert_last_error_lacks("did you mean");
    snprintf(dir, sizeof dir, "%s/vaults/software/.libs", getenv("VEIL_TOP_BUILDDIR"));
    setenv("VEIL_PLUGIN_PATH", dir, 1);
    veil_config *cfg = NULL;
    assert_int_equal(veil_config_new_from_text(&cfg, "[vault]\nplugin = sofware\n", "t.conf"), 0);
    assert_error_contains(veil_plugin_open(cfg, "vault", VEIL_PLUGIN_VAULT, NULL, &p),
                          VEIL_EPLUGIN_NOTFOUND, "plugin 'sofware' (t.conf:2) not found; searched: ");
    assert_last_error_contains("/sofware.so; did you mean 'software'?");
    veil_config_free(cfg);
}

static void test_not_found_names_config_line(void **state)
{
    veil_config *cfg = NULL;
    veil_plugin *p = NULL;
    (void)state;

    assert_int_equal(veil_config_new_from_text(&cfg, "[node]\n\n[policy]\nplugin = fixture_missing\n",
                                               "test.conf"), 0);
    assert_error_contains(veil_plugin_open(cfg, "policy", VEIL_PLUGIN_TRUST_POLICY, NULL, &p),
                          VEIL_EPLUGIN_NOTFOUND, "test.conf:4");
    veil_config_free(cfg);
}

static void test_invalid_names(void **state)
{
    static const char *const bad[] = { "../evil", "a/b", "", "a.b", "./fixture_good.so",
                                       "sp ace", "x..y" };
    char longname[80];
    veil_plugin *p = NULL;
    veil_config *cfg = NULL;
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(veil_plugin_open_named(bad[i], NULL, NULL,
                                                VEIL_PLUGIN_TRUST_POLICY, NULL, &p),
                         VEIL_EINVAL);
        assert_null(p);
        if (bad[i][0] != '\0') {
            char quoted[64];
            snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
            assert_last_error_contains(quoted);
        }
    }
    memset(longname, 'a', 65);
    longname[65] = '\0';
    assert_int_equal(veil_plugin_open_named(longname, NULL, NULL, VEIL_PLUGIN_TRUST_POLICY,
                                            NULL, &p), VEIL_EINVAL);
    /* From a configuration file, the error names where the name came from. */
    assert_int_equal(veil_config_new_from_text(&cfg, "[policy]\nplugin = ../../tmp/evil\n",
                                               "bad.conf"), 0);
    assert_error_contains(veil_plugin_open(cfg, "policy", VEIL_PLUGIN_TRUST_POLICY, NULL, &p),
                          VEIL_EINVAL, "bad.conf:2");
    assert_last_error_contains("../../tmp/evil");
    veil_config_free(cfg);
}

static void test_missing_plugin_key(void **state)
{
    veil_config *cfg = policy_config(NULL);
    veil_plugin *p = NULL;
    (void)state;

    assert_int_equal(veil_config_set(cfg, "policy", "greeting", "x"), 0);
    assert_error_contains(veil_plugin_open(cfg, "policy", VEIL_PLUGIN_TRUST_POLICY, NULL, &p),
                          VEIL_ECONFIG, "[policy]");
    assert_last_error("configuration section [policy] has no 'plugin' key naming the policy "
                      "plugin to load");
    assert_error_contains(veil_plugin_open(cfg, "transport.tcp", VEIL_PLUGIN_TRANSPORT, NULL, &p),
                          VEIL_ECONFIG, "no section [transport.tcp]");
    veil_config_free(cfg);
}

static void test_bad_arguments(void **state)
{
    veil_plugin *p = (veil_plugin *)0x1;
    veil_config *cfg = policy_config("fixture_good");
    (void)state;

    assert_int_equal(veil_plugin_open(NULL, "policy", VEIL_PLUGIN_TRUST_POLICY, NULL, &p),
                     VEIL_EINVAL);
    assert_null(p);
    assert_int_equal(veil_plugin_open(cfg, "policy", VEIL_PLUGIN_TRUST_POLICY, NULL, NULL),
                     VEIL_EINVAL);
    assert_error(veil_plugin_open(cfg, "policy", 9, NULL, &p), VEIL_EINVAL,
                 "veil_plugin_open: unknown plugin kind 9 expected for [policy]");
    assert_int_equal(veil_plugin_open_named(NULL, cfg, "policy", VEIL_PLUGIN_TRUST_POLICY,
                                            NULL, &p), VEIL_EINVAL);
    veil_plugin_close(NULL);
    assert_null(veil_plugin_path(NULL));
    assert_null(veil_plugin_state(NULL));
    assert_null(veil_plugin_descriptor_of(NULL));
    assert_null(veil_plugin_node(NULL));
    veil_config_free(cfg);
}

static void test_dlopen_failure(void **state)
{
    char dir[] = "/tmp/veil-loader-XXXXXX", path[PATH_MAX], expect[512];
    veil_plugin *p = NULL;
    FILE *f;
    void *h;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/garbage.so", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("this is not an ELF shared object, just text that is long enough "
          "to have a header's worth of bytes in it\n", f);
    fclose(f);
    /* What the dynamic linker itself says about this file. */
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    assert_null(h);
    snprintf(expect, sizeof expect, "%s", dlerror());

    setenv("VEIL_PLUGIN_PATH", dir, 1);
    assert_int_equal(veil_plugin_open_named("garbage", NULL, NULL,
                                            VEIL_PLUGIN_TRUST_POLICY, NULL, &p), VEIL_EIO);
    assert_null(p);
    assert_last_error_contains(path);
    assert_last_error_contains(expect);
    unlink(path);
    rmdir(dir);
}

/* RTLD_NOW: an unresolvable symbol refuses the plugin at load time instead
 * of crashing the node the first time the code path runs. */
static void test_unresolved_symbol(void **state)
{
    (void)state;
    expect_refusal("fixture_unresolved", VEIL_EIO);
    assert_last_error_contains("veil_fixture_symbol_defined_nowhere");
}

static void test_no_entry(void **state)
{
    char path[PATH_MAX], dl_says[512];
    void *h;
    (void)state;
    /* What the dynamic linker itself says about the missing symbol. */
    fixture_path("fixture_noentry", path, sizeof path);
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(h);
    assert_null(dlsym(h, VEIL_PLUGIN_ENTRY_SYMBOL));
    snprintf(dl_says, sizeof dl_says, "(%s)", dlerror());
    dlclose(h);

    expect_refusal("fixture_noentry", VEIL_EPLUGIN_NOENTRY);
    assert_last_error_contains("exports no symbol 'veil_plugin_entry'");
    assert_last_error_contains(dl_says);
}

static void test_null_descriptor(void **state)
{
    (void)state;
    expect_refusal("fixture_nulldesc", VEIL_EPLUGIN_ABI);
    assert_last_error_contains("returned NULL");
}

static void test_small_descriptor(void **state)
{
    (void)state;
    expect_refusal("fixture_smalldesc", VEIL_EPLUGIN_ABI);
    assert_last_error_contains("struct_size 4");
}

static void test_abi_major(void **state)
{
    char want[64];
    (void)state;
    expect_refusal("fixture_abi", VEIL_EPLUGIN_ABI);
    snprintf(want, sizeof want, "plugin ABI 99.%u, host ABI %u.%u", VEIL_PLUGIN_ABI_MINOR,
             VEIL_PLUGIN_ABI_MAJOR, VEIL_PLUGIN_ABI_MINOR);
    assert_last_error_contains(want);
}

static void test_abi_minor_newer(void **state)
{
    char want[64];
    (void)state;
    expect_refusal("fixture_minor", VEIL_EPLUGIN_ABI);
    snprintf(want, sizeof want, "plugin ABI %u.%u, host ABI %u.%u", VEIL_PLUGIN_ABI_MAJOR,
             VEIL_PLUGIN_ABI_MINOR + 1, VEIL_PLUGIN_ABI_MAJOR, VEIL_PLUGIN_ABI_MINOR);
    assert_last_error_contains(want);
}

static void test_wrong_kind(void **state)
{
    (void)state;
    expect_refusal("fixture_kind", VEIL_EPLUGIN_KIND);
    assert_last_error_contains("is a transport plugin");
    assert_last_error_contains("[policy] needs a policy plugin");
}

static void test_wrong_name(void **state)
{
    (void)state;
    expect_refusal("fixture_name", VEIL_EPLUGIN_NAME);
    assert_last_error_contains("'fixture_name'");
    assert_last_error_contains("'" FIXTURE_OTHER_NAME "'");
}

static void test_small_ops(void **state)
{
    char want[96];
    (void)state;
    expect_refusal("fixture_smallops", VEIL_EPLUGIN_ABI);
    /* Today's table is exactly the ABI 1.0 table. */
    snprintf(want, sizeof want, "ops table size 1 is smaller than the ABI 1.0 table (%zu",
             sizeof(veil_trust_policy_ops));
    assert_last_error_contains(want);
}

static void test_init_failure(void **state)
{
    char path[PATH_MAX], want[PATH_MAX + 64];
    (void)state;
    expect_refusal("fixture_initfail", VEIL_EPLUGIN_INIT);
    fixture_path("fixture_initfail", path, sizeof path);
    snprintf(want, sizeof want, "plugin 'fixture_initfail' (%s) init failed: ", path);
    assert_last_error_contains(want);
    assert_last_error_contains(FIXTURE_INIT_MESSAGE);
}

static void test_unknown_key(void **state)
{
    char conf[] = "/tmp/veil-loader-conf-XXXXXX", want[64], path[PATH_MAX];
    veil_config *cfg = NULL;
    veil_plugin *p = NULL;
    FILE *f;
    int fd;
    (void)state;

    fd = mkstemp(conf);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("[policy]\nplugin = fixture_good\ngretting = typo\n", f);
    fclose(f);
    assert_int_equal(veil_config_new_from_file(&cfg, conf), 0);
    assert_int_equal(veil_plugin_open(cfg, "policy", VEIL_PLUGIN_TRUST_POLICY, NULL, &p),
                     VEIL_ECONFIG);
    assert_null(p);
    snprintf(want, sizeof want, "%s:3", conf);
    assert_last_error_contains(want);
    assert_last_error_contains("gretting");
    fixture_path("fixture_good", path, sizeof path);
    assert_false(is_mapped(path));
    veil_config_free(cfg);
    unlink(conf);
}

/* Many load/unload rounds: nothing accumulates (run under valgrind too). */

int main(void)
{
    if (loader_test_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_not_found_lists_every_path, restore_env),
        cmocka_unit_test_teardown(test_not_found_suggests_nearest, restore_env),
        cmocka_unit_test(test_not_found_names_config_line),
        cmocka_unit_test(test_invalid_names),
        cmocka_unit_test(test_missing_plugin_key),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test_teardown(test_dlopen_failure, restore_env),
        cmocka_unit_test(test_unresolved_symbol),
        cmocka_unit_test(test_no_entry),
        cmocka_unit_test(test_null_descriptor),
        cmocka_unit_test(test_small_descriptor),
        cmocka_unit_test(test_abi_major),
        cmocka_unit_test(test_abi_minor_newer),
        cmocka_unit_test(test_wrong_kind),
        cmocka_unit_test(test_wrong_name),
        cmocka_unit_test(test_small_ops),
        cmocka_unit_test(test_init_failure),
        cmocka_unit_test(test_unknown_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
