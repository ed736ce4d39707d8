/* Secure channels over lost routes.
 *
 * A transport reports a lost connection (veil_node_on_route_lost): every
 * channel whose route to its peer starts with that connection can never
 * reach the peer again, so it goes now.  An initiator whose open is still pending
 * fails at once with VEIL_ECLOSED (not at its handshake timeout); any other
 * channel is stopped (its addresses leave the router, so a later send to it
 * fails with VEIL_ENOROUTE naming it) with a warning naming the route and
 * the transport's reason.  A channel whose route starts with a channel torn
 * down here (a channel through another channel) goes too.  One
 * subscription per node serves all its channels, which the node's channel
 * state lists (channel_node.c). */
#include "channel_internal.h"

#include <veil/error.h>
#include <veil/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The type and bytes of the first address of ch's route to its peer
 * (into *a); false when it has none yet. */
static bool first_hop(const veil_channel *ch, veil_address *a)
{
    veil_route r;
    if (ch->route == NULL)
        return false;
    veil__route_unpack(ch->route, &r);
    return veil_route_get(&r, 0, a) == 0;
}

/* Does ch's route to its peer start with address a? */
static bool route_starts_with(const veil_channel *ch, const veil_address *a)
{
    veil_address first;
    return first_hop(ch, &first) && veil_address_equal(&first, a);
}

static void lost_one(veil_channel *ch, const char *route, const char *why)
{
    char text[VEIL_ADDRESS_TEXT_MAX + 384];
    snprintf(text, sizeof text, "its route through '%s' was lost: %s", route, why);
    /* A resilient channel that was open reconnects instead (channel_heal.c). */
    if (ch->role == VEIL_KA_INITIATOR && veil__ch_heal_lost(ch, VEIL_ENOROUTE, text))
        return;
    /* An initiator whose open is pending: its completion reports it and
     * stops the worker. */
    if (ch->role == VEIL_KA_INITIATOR && (ch->state != VEIL_CH_ST_OPEN || ch->waiting)) {
        veil__ch_fail(ch, veil_error_set(VEIL_ECLOSED, "secure channel: route through '%s' lost "
                                         "during the handshake: %s", route, why));
        return;
    }
    veil__ch_close_cause(ch, VEIL_ENOROUTE, text);
    if (ch->role == VEIL_KA_RESPONDER && ch->state != VEIL_CH_ST_OPEN)
        veil__ch_warn(ch->listener, "%s: closed: its route through '%s' was lost: %s",
                      ch->addr->bytes, route, why);
    else
        veil_log(VEIL_LOG_WARN, "channel", "%s: closed: its route through '%s' was lost: %s",
                 ch->addr->bytes, route, why);
    veil__ch_stop(ch);
}

/* Tear down the channels whose route starts with lost; append the public
 * address of each to *gone (best effort: without memory, no cascade).
 * Tearing a channel down unlinks that channel only (and frees at most it:
 * it holds no reference on another channel), so the next one, read
 * before, stays valid. */
static void lost_pass(veil_ch_node *nd, const veil_address *lost, const char *why,
                      veil_address **gone, size_t *n, size_t *cap)
{
    char route[VEIL_ADDRESS_TEXT_MAX + 1];
    veil_address_format(lost, route, sizeof route);
    for (veil_channel *ch = nd->channels.head, *next; ch != NULL; ch = next) {
        next = ch->in_all.next;
        if (ch->stopping || !route_starts_with(ch, lost))
            continue;
        if (*n == *cap) {
            size_t ncap = *cap ? 2 * *cap : 8;
            veil_address *g = realloc(*gone, ncap * sizeof *g);
            if (g != NULL) {
                *gone = g;
                *cap = ncap;
            }
        }
        if (*n < *cap)
            (*gone)[(*n)++] = *ch->addr;
        lost_one(ch, route, why);
    }
}

/* Does a channel other than self ride on hop without a keep-alive?  Its
 * silence proves nothing, so the connection is not dropped for self
 * (channel_heal.c): only channels that would find a dead path themselves
 * share its fate. */
bool veil__ch_hop_has_unwatched(const veil_channel *self, const veil_address *hop)
{
    const veil_ch_node *nd = veil__ch_node_find(self->node);
    for (const veil_channel *ch = nd != NULL ? nd->channels.head : NULL; ch != NULL;
         ch = ch->in_all.next)
        if (ch != self && !ch->stopping && ch->alive_ms == 0 && route_starts_with(ch, hop))
            return true;
    return false;
}

/* Is there a live channel whose route starts at a local address (one
 * through another channel)?  Only then can a teardown cascade. */
static bool any_nested(const veil_ch_node *nd)
{
    veil_address first;
    for (const veil_channel *ch = nd->channels.head; ch != NULL; ch = ch->in_all.next)
        if (!ch->stopping && first_hop(ch, &first) && first.type == VEIL_ADDRESS_TYPE_LOCAL)
            return true;
    return false;
}

void veil__ch_route_lost(veil_node *node, const veil_address *peer, int reason,
                         const char *detail, void *arg)
{
    (void)node;
    veil_ch_node *nd = arg;
    char why[320];
    snprintf(why, sizeof why, "%s (%s)", detail[0] ? detail : "connection lost",
             veil_strerror(reason));
    veil_address *gone = NULL;
    size_t n = 0, cap = 0;
    lost_pass(nd, peer, why, &gone, &n, &cap);
    for (size_t i = 0; i < n && any_nested(nd); i++) {
        veil_address outer = gone[i]; /* gone may move */
        char text[VEIL_ADDRESS_MAX + 64];
        snprintf(text, sizeof text, "secure channel %s under it closed", outer.bytes);
        lost_pass(nd, &outer, text, &gone, &n, &cap);
    }
    free(gone);
}
