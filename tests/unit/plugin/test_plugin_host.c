/* The host services table: what every plugin gets in init().  Config
 * getters forward to the configuration (and read a scope without one as
 * "absent"), error sets the thread's detail, the crypto hygiene helpers do
 * what they promise. */
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
    const veil_host_services *h = veil_host_services_get();
    veil_config *cfg = NULL;
    veil_config_scope scope = { cfg, "policy" }, empty = { NULL, NULL };
    uint8_t buf[32], zero[32] = { 0 };
    long long v = 0;
    bool b = false;
    (void)state;

    assert_int_equal(h->size, sizeof(veil_host_services));
    assert_int_equal(h->abi_major, VEIL_PLUGIN_ABI_MAJOR);
    assert_int_equal(h->abi_minor, VEIL_PLUGIN_ABI_MINOR);
    assert_non_null(h->log);
    assert_non_null(h->watch_add);
    assert_non_null(h->watch_modify);
    assert_non_null(h->watch_remove);
    assert_non_null(h->timer_add);
    assert_non_null(h->timer_cancel);

    assert_int_equal(veil_config_new(&cfg), 0);
    scope.config = cfg;
    assert_int_equal(veil_config_set(cfg, "policy", "plugin", "fixture_good"), 0);
    assert_int_equal(veil_config_set(cfg, "policy", "n", "42"), 0);
    assert_int_equal(veil_config_set(cfg, "policy", "b", "true"), 0);
    assert_string_equal(h->config_get(&scope, "plugin"), "fixture_good");
    assert_null(h->config_get(&scope, "absent"));
    assert_int_equal(h->config_get_int(&scope, "n", 0, 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(h->config_get_int(&scope, "n", 0, 0, 10, &v), VEIL_ECONFIG);
    assert_int_equal(h->config_get_bool(&scope, "b", false, &b), 0);
    assert_true(b);
    /* No configuration: defaults. */
    assert_null(h->config_get(&empty, "plugin"));
    assert_int_equal(h->config_get_int(&empty, "n", 7, 0, 10, &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(h->config_get_bool(&empty, "b", true, &b), 0);
    assert_true(b);

    assert_error(h->error(VEIL_EDENIED, "no %s", "way"), VEIL_EDENIED, "no way");

    memset(buf, 0, sizeof buf);
    assert_int_equal(h->random(buf, sizeof buf), 0);
    assert_memory_not_equal(buf, zero, sizeof buf); /* false alarm: 2^-256 */
    assert_int_equal(h->memcmp_ct(buf, buf, sizeof buf), 0);
    assert_int_not_equal(h->memcmp_ct(buf, zero, sizeof buf), 0);
    h->memzero(buf, sizeof buf);
    assert_memory_equal(buf, zero, sizeof buf);
    veil_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_services),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
