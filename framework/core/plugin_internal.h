/* Core-internal plugin loader services (plugin_loader.c).  Not installed,
 * not exported. */
#ifndef VEIL_PLUGIN_INTERNAL_H
#define VEIL_PLUGIN_INTERNAL_H

#include <veil/plugin.h>

#define VEIL_PLUGIN_HIDDEN __attribute__((visibility("hidden")))

/* One more holder of p: veil_plugin_unload drops one, and the plugin is
 * finalised and closed when the last holder lets go.  Lets the node's
 * cache of trust policy plugins (trust.c) and every policy made from it
 * share one load, in whatever order node and policies are freed. */
VEIL_PLUGIN_HIDDEN void veil__plugin_ref(veil_plugin *p);

/* Check [section] of cfg against p's descriptor the way a load checks the
 * section it is given: only "plugin" and the descriptor's config_keys.
 * 0, or the loader's error naming the plugin and the offending key. */
VEIL_PLUGIN_HIDDEN int veil__plugin_check_section(const veil_plugin *p, const veil_config *cfg,
                                                  const char *section);

#endif
