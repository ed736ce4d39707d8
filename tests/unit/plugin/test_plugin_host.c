/* The host contract: what a plugin reads and calls through libveil's
 * public API.  Scoped config getters read a section (and a scope without
 * a configuration as "absent"), veil_error_set sets the thread's detail,
 * the hygiene helpers do what they promise. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include <veil/plugin.h>
#include <veil/error.h>
#include <veil/config.h>

#include <string.h>

static void test_host_services(void **state)
{
    veil_config *cfg = NULL;
    veil_config_scope scope = { cfg, "policy" }, empty = { NULL, NULL };
    uint8_t buf[32], zero[32] = { 0 };
    long long v = 0;
    bool b = false;
    (void)state;

    assert_int_equal(VEIL_PLUGIN_ABI_MAJOR, 4);
    assert_int_equal(VEIL_ABI_SIZE(veil_plugin_descriptor, ops), sizeof(veil_plugin_descriptor));

    assert_int_equal(veil_config_new(&cfg), 0);
    scope.config = cfg;
    assert_int_equal(veil_config_set(cfg, "policy", "plugin", "fixture_good"), 0);
    assert_int_equal(veil_config_set(cfg, "policy", "n", "42"), 0);
    assert_int_equal(veil_config_set(cfg, "policy", "b", "true"), 0);
    assert_string_equal(veil_config_scope_get(&scope, "plugin"), "fixture_good");
    assert_string_equal(veil_config_scope_origin(&scope, "plugin"), "set by program");
    assert_null(veil_config_scope_get(&scope, "absent"));
    assert_int_equal(veil_config_scope_get_int(&scope, "n", 0, 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(veil_config_scope_get_int(&scope, "n", 0, 0, 10, &v), VEIL_ECONFIG);
    assert_int_equal(veil_config_scope_get_bool(&scope, "b", false, &b), 0);
    assert_true(b);
    /* No configuration (or no scope): defaults. */
    assert_null(veil_config_scope_get(&empty, "plugin"));
    assert_null(veil_config_scope_origin(NULL, "plugin"));
    assert_int_equal(veil_config_scope_get_int(&empty, "n", 7, 0, 10, &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(veil_config_scope_get_bool(NULL, "b", true, &b), 0);
    assert_true(b);
    assert_int_equal(veil_config_scope_get_bool(&empty, "b", false, NULL), VEIL_EINVAL);

    assert_error(veil_error_set(VEIL_EDENIED, "no %s", "way"), VEIL_EDENIED, "no way");

    memset(buf, 0xa5, sizeof buf);
    assert_int_equal(veil_memcmp_ct(buf, buf, sizeof buf), 0);
    assert_int_equal(veil_memcmp_ct(buf, zero, sizeof buf), 1);
    buf[31] = 0;
    assert_int_equal(veil_memcmp_ct(buf, zero, 31), 1);
    assert_int_equal(veil_memcmp_ct(buf + 31, zero, 1), 0);
    veil_memzero(buf, sizeof buf);
    assert_memory_equal(buf, zero, sizeof buf);
    veil_memzero(NULL, 0);
    veil_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_services),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
