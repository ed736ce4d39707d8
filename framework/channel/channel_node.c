/* The channel layer's per-node state: the node extension "veil.channels"
 * (veil_ch_node, channel_internal.h), made by the first channel or listener
 * and freed by the node when it stops, after every channel and listener
 * has stopped (docs/ARCHITECTURE.md, "Per-node state of upper layers").
 * It holds the one route-lost subscription that serves all the node's
 * channels (channel_lost.c), and the intrusive lists channels are kept on. */
#include "channel_internal.h"

#include <veil/error.h>
#include <veil/transport.h>

#include <stdlib.h>

#define CHANNELS_EXTENSION "veil.channels"

static void node_gone(veil_node *node, void *data)
{
    veil__ch_opens_flush(data); /* the loop will not run them any more */
    veil_node_off_route_lost(node, veil__ch_route_lost, data);
    veil__ch_closesubs_free(data);
    free(data);
}

veil_ch_node *veil__ch_node_find(veil_node *node)
{
    return veil_node_extension_get(node, CHANNELS_EXTENSION);
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
    int rc = veil_node_on_route_lost(node, veil__ch_route_lost, n);
    if (rc == 0 && (rc = veil_node_extension_add(node, CHANNELS_EXTENSION, n, node_gone)) < 0)
        veil_node_off_route_lost(node, veil__ch_route_lost, n);
    if (rc < 0) {
        free(n);
        return rc;
    }
    *out = n;
    return 0;
}

static veil_ch_link *link_at(veil_channel *ch, size_t off)
{
    return (veil_ch_link *)((char *)ch + off);
}

void veil__ch_list_append(veil_ch_list *l, veil_channel *ch, size_t off)
{
    veil_ch_link *k = link_at(ch, off);
    k->prev = l->tail;
    k->next = NULL;
    if (l->tail != NULL)
        link_at(l->tail, off)->next = ch;
    else
        l->head = ch;
    l->tail = ch;
    l->count++;
}

void veil__ch_list_remove(veil_ch_list *l, veil_channel *ch, size_t off)
{
    veil_ch_link *k = link_at(ch, off);
    if (k->prev != NULL)
        link_at(k->prev, off)->next = k->next;
    else
        l->head = k->next;
    if (k->next != NULL)
        link_at(k->next, off)->prev = k->prev;
    else
        l->tail = k->prev;
    k->prev = k->next = NULL;
    l->count--;
}
