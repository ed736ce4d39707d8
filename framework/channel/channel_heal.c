/* Resilient initiator channels: channels that heal (docs/ARCHITECTURE.md,
 * "Channels that heal").
 *
 * Once open, a resilient initiator that loses its peer (the route's
 * connection is lost, channel_lost.c, or the peer is silent past
 * dead_after_ms, channel_alive.c) does not stop: it forgets its keys and
 * session, pauses its public address (sends fail at once with
 * VEIL_EAGAIN), tells RECONNECTING, and after a jittered backoff delay
 * runs a fresh handshake over the route it was opened with, from the same
 * addresses.  The delay of attempt k (0-based) is drawn uniformly from
 * [max(min, b/2), b] with b = min(max, min * 2^k), so every delay lies in
 * [backoff_min_ms, backoff_max_ms].  The peer must prove the identifier it
 * had at the first open (a rotation keeps it; the contacts check refuses a
 * rollback or fork as on any handshake) and pass the policy again.  When
 * the handshake completes the address takes messages again and OPENED is
 * told; after max_attempts failed attempts (0: never), a refusal
 * (VEIL_EDENIED, VEIL_EREVOKED) or another identity (VEIL_EAUTH), the
 * channel closes and CLOSED is told with that reason.
 *
 * A peer silent past dead_after_ms (or a reconnect handshake that timed
 * out) behind a first-hop connection that stays up (a frozen peer or
 * intermediary) would make every attempt wait on that connection: the
 * first hop is dropped (veil_node_transport_drop) when nothing at all came
 * in on it for that long either, so the next attempt dials a new one.  A
 * connection that still carries something (a live relay in front of a dead
 * far side) is kept, and so is one that another channel without keep-alive
 * rides on (its silence proves nothing); the other channels over a dropped
 * one, each of which would find the path dead itself, are told their route
 * was lost, as when TCP gives up (docs/ARCHITECTURE.md). */
#include "channel_internal.h"
#include "core/util.h"

#include <veil/error.h>
#include <veil/log.h>
#include <veil/transport.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PING_MS 5000u

static void redial_fired(veil_node *node, void *arg);

int veil__ch_heal_options(veil_ch_settings *set, const veil_secure_channel_options *o)
{
    if (o != NULL) {
        if (o->size < sizeof *o)
            return veil_error_set(VEIL_EINVAL, "secure channel options: size %zu, expected %zu",
                                  o->size, sizeof *o);
        set->resilient = o->resilient;
#define TAKE(f, g) if (o->f != 0) set->g = o->f
        TAKE(ping_interval_ms, ping_interval_ms);
        TAKE(dead_after_ms, dead_after_ms);
        TAKE(backoff_min_ms, backoff_min_ms);
        TAKE(backoff_max_ms, backoff_max_ms);
        TAKE(max_attempts, max_attempts);
#undef TAKE
    }
    if (set->resilient && set->ping_interval_ms == 0)
        set->ping_interval_ms = DEFAULT_PING_MS;
    if (set->ping_interval_ms != 0 && set->dead_after_ms == 0)
        set->dead_after_ms = 3u * set->ping_interval_ms;
    if (set->backoff_min_ms == 0 || set->backoff_min_ms > set->backoff_max_ms)
        return veil_error_set(VEIL_EINVAL, "secure channel options: backoff %u..%u ms (min must "
                              "be 1..max)", set->backoff_min_ms, set->backoff_max_ms);
    if (set->ping_interval_ms != 0 && set->dead_after_ms <= set->ping_interval_ms)
        return veil_error_set(VEIL_EINVAL, "secure channel options: dead_after_ms %u must be "
                              "above ping_interval_ms %u", set->dead_after_ms,
                              set->ping_interval_ms);
    return 0;
}

int veil__ch_heal_setup(veil_channel *ch, const veil_route *route, const char *fallback,
                        const veil_secure_channel_options *opts)
{
    ch->alive_ms = ch->set.ping_interval_ms;
    ch->dead_ms = ch->set.dead_after_ms;
    if (!ch->set.resilient)
        return 0;
    veil_ch_heal *h = calloc(1, sizeof *h);
    if (h == NULL)
        return veil_error_set(VEIL_ENOMEM, "secure channel: out of memory");
    int rc = veil__route_pack(route, &h->route);
    if (rc < 0) {
        free(h);
        return rc;
    }
    snprintf(h->fallback, sizeof h->fallback, "%s", fallback);
    if (opts != NULL) {
        h->on_event = opts->on_event;
        h->user = opts->user;
    }
    ch->heal = h;
    return 0;
}

static void tell(veil_channel *ch, int kind, int reason, const char *detail)
{
    veil_ch_heal *h = ch->heal;
    if (h->on_event == NULL)
        return;
    veil_address addr;
    veil__ch_public(ch, &addr);
    veil_secure_channel_event ev = {
        &addr, ch->stats.peer_identifier, ch->protocol != NULL ? ch->protocol : "", reason,
        detail, kind,
    };
    h->on_event(ch->node, &ev, h->user);
}

/* Forget the session and keys of the lost or failed handshake. */
static void forget(veil_channel *ch)
{
    veil__ch_alive_stop(ch);
    if (ch->timer != NULL)
        veil_node_timer_cancel(ch->timer);
    ch->timer = NULL;
    if (ch->session != NULL)
        ch->ka->session_free(ch->session);
    ch->session = NULL;
    free(ch->hs1);
    ch->hs1 = NULL;
    veil__ch_keys_destroy(ch, true);
    veil__rw_init(&ch->window);
    ch->send_n = ch->send_epoch = ch->recv_epoch = 0;
    ch->cookie_tries = 0;
    if (ch->policy != NULL && ch->heal->policy == NULL) {
        ch->heal->policy = ch->policy; /* kept for the next attempt */
        ch->policy = NULL;
    }
    ch->state = VEIL_CH_ST_RECONNECT;
}

static void schedule(veil_channel *ch)
{
    veil_ch_heal *h = ch->heal;
    uint64_t lo = ch->set.backoff_min_ms, hi = ch->set.backoff_max_ms;
    uint64_t b = lo << (h->attempts < 24u ? h->attempts : 24u);
    if (b > hi)
        b = hi;
    uint64_t from = b / 2u > lo ? b / 2u : lo;
    uint32_t r = 0;
    if (veil__random(&r, sizeof r) < 0)
        r = 0; /* no jitter rather than no reconnect */
    uint64_t delay = from + r % (b - from + 1u);
    if (veil_node_timer_add(ch->node, delay, redial_fired, ch, &h->timer) < 0) {
        h->timer = NULL;
        veil__ch_close_cause(ch, VEIL_ENOMEM, "out of memory for the reconnect timer");
        veil__ch_stop(ch);
    }
}

bool veil__ch_heal_lost(veil_channel *ch, int reason, const char *why)
{
    veil_ch_heal *h = ch->heal;
    if (h == NULL || ch->stopped || ch->stopping || ch->waiting)
        return false;
    if (h->healing) /* an attempt's handshake fails now; waiting: nothing to do */
        return ch->state == VEIL_CH_ST_RECONNECT;
    h->healing = true;
    h->attempts = 0;
    veil_log(VEIL_LOG_WARN, "channel", "%s: reconnecting to %s: %s (backoff %u..%u ms, %s)",
             ch->open_name, h->peer, why, ch->set.backoff_min_ms, ch->set.backoff_max_ms,
             ch->set.max_attempts ? "bounded attempts" : "never gives up");
    forget(ch);
    if (veil_ctx_set_paused(ch->ctx, VEIL_EAGAIN) < 0)
        veil_log(VEIL_LOG_ERROR, "channel", "%s: pausing: %s", ch->addr->bytes,
                 veil_last_error());
    veil__ch_ref(ch);
    veil__ch_reconnecting_notify(ch, reason, why);
    if (!ch->stopping)
        tell(ch, VEIL_SECURE_CHANNEL_RECONNECTING, reason, why);
    if (!ch->stopping && h->timer == NULL)
        schedule(ch);
    veil__ch_unref(ch);
    return true;
}

static void redial_fired(veil_node *node, void *arg)
{
    (void)node;
    veil_channel *ch = arg;
    veil_ch_heal *h = ch->heal;
    h->timer = NULL; /* fired: the loop frees it */
    if (ch->stopped || ch->stopping)
        return;
    veil__ch_ref(ch);
    h->attempts++;
    ch->state = VEIL_CH_ST_HANDSHAKE;
    ch->policy = h->policy;
    h->policy = NULL;
    veil_route r;
    veil_address first;
    veil__route_unpack(h->route, &r);
    /* A first hop over a transport is dialed again (auto_connect may be
     * off); a failed dial fails the attempt. */
    int rc = veil_route_get(&r, 0, &first);
    if (rc == 0 && first.type != VEIL_ADDRESS_TYPE_LOCAL)
        rc = veil_node_transport_dial(ch->node, &first);
    if (rc == 0)
        rc = veil__ch_initiator_begin(ch, &r, h->fallback);
    if (rc < 0 && ch->state == VEIL_CH_ST_HANDSHAKE)
        veil__ch_fail(ch, rc);
    veil__ch_unref(ch);
}

void veil__ch_heal_drop_hop(veil_channel *ch, uint64_t quiet_ms, const char *why)
{
    veil_route r;
    veil_address first;
    if (ch->heal == NULL || ch->stopped || ch->stopping)
        return;
    veil__route_unpack(ch->heal->route, &r);
    if (veil_route_get(&r, 0, &first) < 0 || first.type == VEIL_ADDRESS_TYPE_LOCAL)
        return;
    if (veil__ch_hop_has_unwatched(ch, &first)) {
        veil_log(VEIL_LOG_INFO, "channel", "%s: first hop %s kept: a channel without keep-alive "
                 "rides on it too", ch->open_name, first.bytes);
        return;
    }
    int rc = veil_node_transport_drop(ch->node, &first, quiet_ms, why);
    if (rc == 1)
        veil_log(VEIL_LOG_INFO, "channel", "%s: dropped its first hop %s (nothing came in on "
                 "it for %llu ms or more) to dial a new connection", ch->open_name, first.bytes,
                 (unsigned long long)quiet_ms);
    else if (rc == 0)
        veil_log(VEIL_LOG_DEBUG, "channel", "%s: first hop %s kept: it carried something "
                 "within %llu ms", ch->open_name, first.bytes, (unsigned long long)quiet_ms);
    else if (rc != VEIL_ENOTFOUND)
        veil_log(VEIL_LOG_DEBUG, "channel", "%s: first hop %s not dropped: %s", ch->open_name,
                 first.bytes, veil_last_error());
}

static bool permanent(const veil_ch_heal *h, int rc)
{
    return h->mismatch || rc == VEIL_EDENIED || rc == VEIL_EREVOKED;
}

bool veil__ch_heal_failed(veil_channel *ch, int rc)
{
    veil_ch_heal *h = ch->heal;
    if (h == NULL || !h->healing)
        return false;
    if (ch->stopped || ch->stopping)
        return true;
    snprintf(h->last, sizeof h->last, "%s", veil_last_error());
    forget(ch);
    if (rc == VEIL_ETIMEDOUT)
        veil__ch_heal_drop_hop(ch, ch->set.handshake_timeout_ms, "reconnect handshake timed out");
    if (permanent(h, rc) || (ch->set.max_attempts != 0 && h->attempts >= ch->set.max_attempts)) {
        char detail[400];
        int code = permanent(h, rc) ? rc : VEIL_ETIMEDOUT;
        snprintf(detail, sizeof detail, "%s after %u reconnect attempt(s): %s",
                 permanent(h, rc) ? "refused" : "gave up", h->attempts, h->last);
        veil_log(VEIL_LOG_WARN, "channel", "%s: closed: %s", ch->open_name, detail);
        veil__ch_close_cause(ch, code, detail);
        veil__ch_stop(ch);
        return true;
    }
    veil_log(VEIL_LOG_INFO, "channel", "%s: reconnect attempt %u failed: %s", ch->open_name,
             h->attempts, h->last);
    schedule(ch);
    return true;
}

int veil__ch_heal_check_peer(veil_channel *ch)
{
    veil_ch_heal *h = ch->heal;
    if (h == NULL || !h->healing || strcmp(h->peer, ch->stats.peer_identifier) == 0)
        return 0;
    h->mismatch = true;
    return veil_error_set(VEIL_EAUTH, "secure channel %s: the route now leads to %s, not to %s "
                          "that the channel was opened to: refused", ch->open_name,
                          ch->stats.peer_identifier, h->peer);
}

void veil__ch_heal_opened(veil_channel *ch)
{
    veil_ch_heal *h = ch->heal;
    if (veil__ch_alive_start(ch) < 0)
        veil_log(VEIL_LOG_WARN, "channel", "%s: keep-alive timer: %s", ch->addr->bytes,
                 veil_last_error());
    if (h == NULL) {
        veil_trust_policy_free(ch->policy); /* only handshakes need it */
        ch->policy = NULL;
        return;
    }
    h->policy = ch->policy; /* the next heal checks the peer again */
    ch->policy = NULL;
    if (!h->healing) { /* the first open: this is the identity to find again */
        memcpy(h->peer, ch->stats.peer_identifier, sizeof h->peer);
        return;
    }
    h->healing = false;
    if (veil_ctx_set_paused(ch->ctx, 0) < 0)
        veil_log(VEIL_LOG_ERROR, "channel", "%s: resuming: %s", ch->addr->bytes,
                 veil_last_error());
    ch->announced = true;
    veil_log(VEIL_LOG_INFO, "channel", "%s: open again to %s after %u attempt(s)",
             ch->open_name, h->peer, h->attempts);
    h->attempts = 0;
    tell(ch, VEIL_SECURE_CHANNEL_OPENED, 0, "");
}

void veil__ch_heal_stopped(veil_channel *ch)
{
    veil_ch_heal *h = ch->heal;
    if (h == NULL)
        return;
    if (h->timer != NULL)
        veil_node_timer_cancel(h->timer);
    h->timer = NULL;
    if (h->peer[0] == '\0' || h->closed_told)
        return; /* never opened: its completion reports it */
    h->closed_told = true;
    veil__ch_close_cause_default(ch);
    tell(ch, VEIL_SECURE_CHANNEL_CLOSED, ch->close_reason,
         ch->close_detail != NULL ? ch->close_detail : "");
}

void veil__ch_heal_free(veil_channel *ch)
{
    if (ch->heal == NULL)
        return;
    veil_trust_policy_free(ch->heal->policy);
    free(ch->heal->route);
    free(ch->heal);
    ch->heal = NULL;
}

int veil_secure_channel_reconnect_attempts(veil_node *node, const veil_address *channel,
                                           unsigned *attempts)
{
    veil_channel *ch = node != NULL && channel != NULL ? veil__ch_find(node, channel) : NULL;
    if (ch == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no secure channel at that address");
    bool healing = ch->heal != NULL && ch->heal->healing;
    if (attempts != NULL)
        *attempts = healing ? ch->heal->attempts : 0;
    return healing ? 1 : 0;
}

int veil_secure_channel_reconnecting(veil_node *node, const veil_address *channel)
{
    return veil_secure_channel_reconnect_attempts(node, channel, NULL);
}
