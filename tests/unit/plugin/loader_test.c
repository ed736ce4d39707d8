/* The plugin loader tests' shared helpers (loader_test.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"
#include "loader_test.h"

#include <veil/plugin.h>
#include <veil/trust_policy.h>

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

char saved_plugin_path[8192];

void fixture_path(const char *name, char *out, size_t cap)
{
    const char *top = getenv("VEIL_TOP_BUILDDIR");
    assert_non_null(top);
    assert_true((size_t)snprintf(out, cap, "%s/tests/unit/plugin/fixtures/.libs/%s.so", top, name) < cap);
}

int is_mapped(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (h == NULL)
        return 0;
    dlclose(h);
    return 1;
}

veil_config *policy_config(const char *plugin)
{
    veil_config *cfg = NULL;
    assert_int_equal(veil_config_new(&cfg), 0);
    if (plugin != NULL)
        assert_int_equal(veil_config_set(cfg, "policy", "plugin", plugin), 0);
    return cfg;
}

void expect_refusal(const char *name, int code)
{
    veil_plugin *p = (veil_plugin *)0x1;
    veil_config *cfg = policy_config(name);
    char path[PATH_MAX];

    fixture_path(name, path, sizeof path);
    assert_int_equal(veil_plugin_open(cfg, "policy", VEIL_PLUGIN_TRUST_POLICY, NULL, &p),
                     code);
    assert_null(p);
    assert_last_error_contains(path);
    assert_false(is_mapped(path));
    veil_config_free(cfg);
}

int restore_env(void **state)
{
    (void)state;
    setenv("VEIL_PLUGIN_PATH", saved_plugin_path, 1);
    return 0;
}

int loader_test_init(void)
{
    const char *pp = getenv("VEIL_PLUGIN_PATH");
    if (pp == NULL || getenv("VEIL_TOP_BUILDDIR") == NULL) {
        fprintf(stderr, "run through 'make check' (needs VEIL_PLUGIN_PATH and "
                        "VEIL_TOP_BUILDDIR)\n");
        return -1;
    }
    snprintf(saved_plugin_path, sizeof saved_plugin_path, "%s", pp);
    return 0;
}
