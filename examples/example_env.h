/* Shared by the examples: let them run straight from the build tree.
 *
 * Plugins (vaults, noise, policies) are shared objects found on
 * $VEIL_PLUGIN_PATH and then in the installed plugin directory.  Before
 * `make install` that directory is empty, so `./examples/05a-...` would
 * fail with VEIL_EPLUGIN_NOTFOUND unless the user exported the path by
 * hand.  examples/Makefile.inc passes the build tree's plugin directories
 * (PLUGIN_BUILD_DIRS, colon-separated) as VEIL_EXAMPLE_PLUGIN_PATH; when
 * the user has not set VEIL_PLUGIN_PATH, we use it.  An installed build of
 * the same program would simply find nothing there and fall back to the
 * installed directory.  A user's own VEIL_PLUGIN_PATH always wins. */
#ifndef VEIL_EXAMPLE_ENV_H
#define VEIL_EXAMPLE_ENV_H

#include <stdlib.h>

#ifndef VEIL_EXAMPLE_PLUGIN_PATH
#define VEIL_EXAMPLE_PLUGIN_PATH ""
#endif

static inline void example_env_init(void)
{
    if (getenv("VEIL_PLUGIN_PATH") == NULL && VEIL_EXAMPLE_PLUGIN_PATH[0] != '\0')
        setenv("VEIL_PLUGIN_PATH", VEIL_EXAMPLE_PLUGIN_PATH, 0);
}

#endif
