/* Half-open handshakes: what a stranger's HS1 may cost a node
 * (docs/PROTOCOL.md, "Security properties and limits").
 *
 * Every responder from HS1 until it opens or stops is *pending*: it holds a
 * channel, a key agreement session, a timer and two router slots, and its
 * HS2 cost a key generation and two DH.  Pending responders are counted
 * per listener and per node and kept in two lists, oldest first.  Three
 * bounds ([secure_channel] in docs/CONFIG.md):
 *
 *  - cookie_threshold: while the node has at least this many pending, an
 *    HS1 without a valid cookie only gets a COOKIE frame (channel_cookie.c:
 *    one MAC, no state, no DH); an initiator that can receive at its return
 *    route answers with the cookie and is served;
 *  - max_pending_handshakes_per_listener and max_pending_handshakes (node):
 *    the hard backstop; a new responder first stops the oldest pending one
 *    of its listener, then of the node, while a cap is reached.  Oldest
 *    first keeps newcomers (a legitimate initiator is one) served however
 *    long a flood lasts; a pending handshake lives at least cap / rate.
 *
 * Warnings strangers can cause go through one log rate limit per node. */
#include "channel_internal.h"

#include <veil/error.h>
#include <veil/log.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* Warnings per second the listeners of a node may log about strangers. */
#define WARN_BURST 10u

void veil__ch_pending_add(veil_channel *ch)
{
    ch->pending = true;
    veil__ch_list_append(&ch->listener->shared->pending, ch, offsetof(veil_channel, in_node));
    veil__ch_list_append(&ch->listener->pending, ch, offsetof(veil_channel, in_listener));
}

void veil__ch_pending_remove(veil_channel *ch)
{
    if (!ch->pending)
        return;
    ch->pending = false;
    veil__ch_list_remove(&ch->listener->shared->pending, ch, offsetof(veil_channel, in_node));
    veil__ch_list_remove(&ch->listener->pending, ch, offsetof(veil_channel, in_listener));
}

static void evict(veil_channel *ch, const char *which, uint32_t cap)
{
    veil_ch_listener *l = ch->listener;
    l->stats.evicted++;
    veil__ch_warn(l, "listener '%s': stopped pending handshake %s, the oldest, to make room "
                  "(%s = %u reached)", l->name, ch->addr->bytes, which, cap);
    veil__ch_pending_remove(ch); /* before the stop: the loops below progress */
    veil__ch_stop(ch);
}

void veil__ch_make_room(veil_ch_listener *l)
{
    veil_ch_list *mine = &l->pending, *all = &l->shared->pending;
    while (mine->head != NULL && mine->count >= l->set.max_pending_listener)
        evict(mine->head, "max_pending_handshakes_per_listener", l->set.max_pending_listener);
    while (all->head != NULL && all->count >= l->shared->max_pending)
        evict(all->head, "max_pending_handshakes", l->shared->max_pending);
}

bool veil__ch_under_load(const veil_ch_listener *l)
{
    return l->shared->pending.count >= l->shared->cookie_threshold;
}

void veil__ch_warn(veil_ch_listener *l, const char *fmt, ...)
{
    veil_ch_node *n = l->shared;
    uint64_t skipped;
    if (!veil__ratelimit_pass(&n->log, veil_node_now_ms(n->node), WARN_BURST, &skipped)) {
        l->stats.log_suppressed++;
        return;
    }
    char text[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (skipped > 0)
        veil_log(VEIL_LOG_WARN, "channel", "%s (and %llu similar warnings suppressed by the "
                 "rate limit of %u per second)", text, (unsigned long long)skipped, WARN_BURST);
    else
        veil_log(VEIL_LOG_WARN, "channel", "%s", text);
}
