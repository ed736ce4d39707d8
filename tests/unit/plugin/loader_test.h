/* Shared by the plugin loader's tests (test_plugin_loader.c: what loads;
 * test_plugin_refusals.c: every refusal): fixture paths, whether a module
 * is mapped, a [policy] configuration, the refusal check, and the saved
 * $VEIL_PLUGIN_PATH tests restore. */
#ifndef VEIL_TESTS_LOADER_TEST_H
#define VEIL_TESTS_LOADER_TEST_H

#include <stddef.h>

#include <veil/config.h>

/* $VEIL_PLUGIN_PATH as the harness set it (restore_env puts it back). */
extern char saved_plugin_path[8192];

/* The build tree's path of fixture NAME's module. */
void fixture_path(const char *name, char *out, size_t cap);
/* Is the module at path currently mapped?  RTLD_NOLOAD never loads. */
int is_mapped(const char *path);
/* A configuration whose [policy] names plugin (NULL: no plugin key). */
veil_config *policy_config(const char *plugin);
/* Load a fixture into the [policy] slot and expect failure with code; the
 * detail must name the file, and nothing may stay mapped. */
void expect_refusal(const char *name, int code);
/* cmocka teardown: $VEIL_PLUGIN_PATH back to the harness's. */
int restore_env(void **state);
/* Save $VEIL_PLUGIN_PATH; -1 (with a message) outside 'make check'. */
int loader_test_init(void);

#endif
