/* Channel closes, node-wide (veil_secure_channel_on_close): layers above
 * channels (portals) learn at once that a channel they carry streams on
 * is gone, instead of polling for it.  The subscribers live in the node's
 * channel state (channel_node.c) and are told from the channel worker's
 * stop op, which every way a channel ends goes through: a CLOSE from the
 * peer, a lost route, a local close, a failure, the node's stop.  Only
 * channels whose opening was reported are told (a listener's after its
 * on_open point, an initiator's after its open completed with 0): an open
 * that fails is reported by its completion instead. */
#include "channel_internal.h"

#include <veil/error.h>

#include <stdlib.h>

typedef struct veil_ch_closesub {
    veil_secure_channel_event_fn fn;
    void *user;
    bool removed;
} veil_ch_closesub;

int veil_secure_channel_on_close(veil_node *node, veil_secure_channel_event_fn fn, void *user)
{
    veil_ch_settings set;
    veil_ch_node *nd;
    if (node == NULL || fn == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_secure_channel_on_close: node and fn must not "
                              "be NULL");
    int rc = veil__ch_settings(node, &set);
    if (rc == 0)
        rc = veil__ch_node_get(node, &set, &nd);
    if (rc < 0)
        return rc;
    veil_ch_closesub *grown = realloc(nd->closesubs, (nd->nclosesubs + 1) * sizeof *grown);
    if (grown == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory adding a channel-close subscriber");
    nd->closesubs = grown;
    nd->closesubs[nd->nclosesubs++] = (veil_ch_closesub){fn, user, false};
    return 0;
}

static void compact(veil_ch_node *nd)
{
    size_t j = 0;
    for (size_t i = 0; i < nd->nclosesubs; i++)
        if (!nd->closesubs[i].removed)
            nd->closesubs[j++] = nd->closesubs[i];
    nd->nclosesubs = j;
}

void veil_secure_channel_off_close(veil_node *node, veil_secure_channel_event_fn fn, void *user)
{
    veil_ch_node *nd = node != NULL ? veil__ch_node_find(node) : NULL;
    if (nd == NULL)
        return;
    for (size_t i = 0; i < nd->nclosesubs; i++)
        if (nd->closesubs[i].fn == fn && nd->closesubs[i].user == user &&
            !nd->closesubs[i].removed) {
            nd->closesubs[i].removed = true;
            break;
        }
    if (nd->notifying == 0)
        compact(nd);
}

static void notify(veil_channel *ch, int kind, int reason, const char *detail)
{
    veil_ch_node *nd = ch->shared;
    if (!ch->announced)
        return;
    ch->announced = false;
    if (nd->nclosesubs == 0)
        return;
    veil_address addr;
    veil__ch_public(ch, &addr);
    veil_secure_channel_event ev = {
        &addr, ch->stats.peer_identifier,
        ch->listener != NULL ? ch->listener->protocol : ch->protocol != NULL ? ch->protocol : "",
        reason, detail, kind,
    };
    size_t n = nd->nclosesubs; /* subscribers added meanwhile wait for the next close */
    nd->notifying++;
    ch->refs++; /* a subscriber may close it */
    for (size_t i = 0; i < n; i++) {
        veil_ch_closesub s = nd->closesubs[i];
        if (!s.removed)
            s.fn(ch->node, &ev, s.user);
    }
    if (--nd->notifying == 0)
        compact(nd);
    veil__ch_unref(ch);
}

void veil__ch_closed_notify(veil_channel *ch)
{
    if (!ch->announced)
        return;
    veil__ch_close_cause_default(ch);
    notify(ch, VEIL_SECURE_CHANNEL_CLOSED, ch->close_reason,
           ch->close_detail != NULL ? ch->close_detail : "");
}

void veil__ch_reconnecting_notify(veil_channel *ch, int reason, const char *detail)
{
    notify(ch, VEIL_SECURE_CHANNEL_RECONNECTING, reason, detail);
}

void veil__ch_closesubs_free(veil_ch_node *nd)
{
    free(nd->closesubs);
    nd->closesubs = NULL;
    nd->nclosesubs = 0;
}
