/* The channel layer's per-node state: the node extension "veil.channels"
 * (veil_ch_node, channel_internal.h), made by the first listener and freed
 * by the node when it stops, after every channel and listener has stopped
 * (docs/ARCHITECTURE.md, "Per-node state of upper layers"). */
#include "channel_internal.h"

#include <veil/error.h>

#include <stdlib.h>

#define CHANNELS_EXTENSION "veil.channels"

static void node_gone(veil_node *node, void *data)
{
    (void)node;
    free(data);
}

int veil__ch_node_get(veil_node *node, const veil_ch_settings *set, veil_ch_node **out)
{
    if ((*out = veil_node_extension_get(node, CHANNELS_EXTENSION)) != NULL)
        return 0;
    veil_ch_node *n = calloc(1, sizeof *n);
    if (n == NULL)
        return veil_error_set(VEIL_ENOMEM, "secure channels: out of memory");
    n->node = node;
    n->max_pending = set->max_pending;
    n->cookie_threshold = set->cookie_threshold;
    int rc = veil_node_extension_add(node, CHANNELS_EXTENSION, n, node_gone);
    if (rc < 0) {
        free(n);
        return rc;
    }
    *out = n;
    return 0;
}
