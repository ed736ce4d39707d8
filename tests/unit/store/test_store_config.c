/* Which store a node's configuration means (docs/CONFIG.md, [store]):
 * memory with nothing configured, sqlite at [node] state_dir/state.db or
 * [store] path, the named plugin otherwise; a misspelt key or unknown
 * plugin fails veil_node_new, not the first use. */
#include <veil/config.h>
#include <veil/error.h>
#include <veil/node.h>
#include <veil/store.h>

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "assert_error.h"

static char dir[PATH_MAX - 64];

static int node_with(const char *text, veil_node **node)
{
    veil_config *cfg = NULL;
    veil_context *app;
    int rc = veil_config_new_from_text(&cfg, text, "<test>");
    if (rc == 0) {
        veil_node_options o = { .size = sizeof o, .config = cfg };
        rc = veil_node_new(node, &app, &o);
    }
    veil_config_free(cfg);
    return rc;
}

static void opens(const char *text, const char *plugin, const char *file)
{
    veil_node *node = NULL;
    veil_store *s = NULL;
    struct stat st;
    assert_int_equal(node_with(text, &node), 0);
    assert_int_equal(veil_store_open(node, NULL, &s), 0);
    assert_string_equal(veil_store_plugin_name(s), plugin);
    assert_int_equal(veil_store_put(s, "n", "k", (const uint8_t *)"v", 1, VEIL_STORE_ANY, NULL),
                     0);
    veil_store_close(s);
    veil_node_free(node);
    if (file != NULL)
        assert_int_equal(stat(file, &st), 0);
}

static void test_defaults(void **state)
{
    char text[PATH_MAX + 64], file[PATH_MAX];
    (void)state;
    opens("", "memory", NULL);
    snprintf(text, sizeof text, "[node]\nstate_dir = %s\n", dir);
    snprintf(file, sizeof file, "%s/state.db", dir);
    opens(text, "sqlite", file);
    snprintf(text, sizeof text, "[store]\npath = %s/other.db\n", dir);
    snprintf(file, sizeof file, "%s/other.db", dir);
    opens(text, "sqlite", file);
    snprintf(text, sizeof text, "[node]\nstate_dir = %s\n[store]\nplugin = memory\n", dir);
    opens(text, "memory", NULL);
}

static void test_refused_at_node_new(void **state)
{
    veil_node *node = NULL;
    (void)state;
    assert_error_contains(node_with("[store]\nplugin = sqlite\npth = /x\n", &node), VEIL_ECONFIG,
                          "pth");
    assert_null(node);
    assert_error_contains(node_with("[store]\nplugin = memory\npath = /x\n", &node), VEIL_ECONFIG,
                          "path");
    assert_error_contains(node_with("[store]\nplugin = vault_of_nothing\n", &node),
                          VEIL_EPLUGIN_NOTFOUND, "vault_of_nothing");
    assert_error_contains(node_with("[node]\nstate_dr = /x\n", &node), VEIL_ECONFIG,
                          "state_dr");
}

static void test_sqlite_needs_path(void **state)
{
    veil_node *node = NULL;
    veil_store *s = NULL;
    (void)state;
    assert_int_equal(node_with("[store]\nplugin = sqlite\n", &node), 0);
    assert_error_contains(veil_store_open(node, NULL, &s), VEIL_ECONFIG,
                          "sqlite store [store]: 'path' (the database file) is required");
    assert_null(s);
    veil_node_free(node);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/veil-store-config.XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_refused_at_node_new),
        cmocka_unit_test(test_sqlite_needs_path),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return rc | (system(cmd) != 0);
}
