/* Pacing a node's own handshakes (initiators): at most [secure_channel]
 * max_opening_handshakes are in flight at once (from HS1 until the open
 * settles); further opens wait on the node's queue, in the order they were
 * made, and send HS1 when room is given back.
 *
 * Why: a listener keeps at most max_pending_handshakes_per_listener (512
 * by default) half-open handshakes and stops the oldest to make room
 * (channel_pending.c, its defence against floods).  An application that
 * opened 4000 channels at once to one listener made it evict its own
 * earlier handshakes, which then timed out (issue #15: 3848 of 4000 did).
 * Paced below that cap, one node's burst never meets the listener's bound.
 *
 * A queued open holds its channel (its worker runs, so close and cancel
 * work as for any pending open) and a copy of its route; its handshake
 * timer starts only when its HS1 goes, so a queued open waits at most
 * about (its place / max_opening_handshakes) handshake timeouts. */
#include "channel_internal.h"

#include <veil/error.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct veil_ch_queued {
    veil_route route;
    char fallback[160];
};

static void start_now(veil_channel *ch, const veil_route *route, const char *fallback, int *rc)
{
    ch->opening = true;
    ch->shared->opening++;
    *rc = veil__ch_initiator_begin(ch, route, fallback);
}

/* Start queued opens while there is room (not when the node stops: its
 * channels are failing then; not nested: a start that fails at once ends
 * here again). */
static void pump(veil_ch_node *n)
{
    if (n->pumping || veil__node_stopping(n->node))
        return;
    n->pumping = true;
    while (n->opening < n->max_opening && n->queued.head != NULL) {
        veil_channel *ch = n->queued.head;
        struct veil_ch_queued *q = ch->queued;
        int rc;
        veil__ch_list_remove(&n->queued, ch, offsetof(veil_channel, in_node));
        ch->queued = NULL;
        veil__ch_ref(ch);
        start_now(ch, &q->route, q->fallback, &rc);
        if (rc < 0 && ch->state != VEIL_CH_ST_FAILED)
            veil__ch_fail(ch, rc); /* settles it: its completion reports rc */
        free(q);
        veil__ch_unref(ch);
    }
    n->pumping = false;
}

int veil__ch_pace_begin(veil_channel *ch, const veil_route *route, const char *fallback)
{
    veil_ch_node *n = ch->shared;
    int rc;
    if (n->opening < n->max_opening && n->queued.head == NULL) {
        start_now(ch, route, fallback, &rc);
        return rc;
    }
    struct veil_ch_queued *q = malloc(sizeof *q);
    if (q == NULL)
        return veil_error_set(VEIL_ENOMEM, "secure channel: out of memory");
    veil_route_copy(&q->route, route);
    snprintf(q->fallback, sizeof q->fallback, "%s", fallback);
    ch->queued = q;
    veil__ch_list_append(&n->queued, ch, offsetof(veil_channel, in_node));
    return 0;
}

void veil__ch_pace_end(veil_channel *ch)
{
    if (ch->queued != NULL) {
        veil__ch_list_remove(&ch->shared->queued, ch, offsetof(veil_channel, in_node));
        free(ch->queued);
        ch->queued = NULL;
    }
    if (!ch->opening)
        return;
    ch->opening = false;
    ch->shared->opening--;
    pump(ch->shared);
}
