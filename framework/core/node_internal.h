/* Core-internal node services used by other parts of libveil (vault.c,
 * secure channels, ...).  Not installed, not exported. */
#ifndef VEIL_NODE_INTERNAL_H
#define VEIL_NODE_INTERNAL_H

#include <veil/node.h>
#include <veil/plugin.h>

#define VEIL_NODE_HIDDEN __attribute__((visibility("hidden")))

/* The plugin loaded for `section` (e.g. "vault", "vault.backup").
 *
 * Plugins named by the configuration (`plugin = NAME` in a vault*,
 * key_agreement*, policy* or transport.* section) are loaded when the node is
 * created.  When the section has no `plugin` key (or is absent) and
 * default_name is not NULL, default_name is loaded once with that section
 * supplying its keys, and kept for later calls.  The node owns every plugin
 * it hands out; all are unloaded at veil_node_stop().
 *
 * Errors: VEIL_ENOTFOUND (nothing configured, no default), VEIL_EPLUGIN_KIND
 * (the section's plugin is of another kind), the loader's errors. */
VEIL_NODE_HIDDEN int veil__node_plugin(veil_node *node, const char *section,
                                       int kind, const char *default_name,
                                       veil_plugin **out);

/* Per-node state of an upper layer, by slot.  The runtime only keeps the
 * pointer (NULL at creation): the layer creates, references, frees and
 * clears it, and must be done with it when the node's workers have
 * stopped.  Node thread only. */
enum { VEIL_NODE_SLOT_CHANNELS = 0 };
VEIL_NODE_HIDDEN void **veil__node_slot(veil_node *node, int slot);

/* The node is going away: drop its references on the trust policy
 * plugins veil_trust_policy_new loaded for it (trust.c), and its identity
 * state (contacts, [identity] settings).  Policies still alive keep their
 * plugin loaded until they are freed. */
VEIL_NODE_HIDDEN void veil__trust_node_gone(const veil_node *node);

#endif
