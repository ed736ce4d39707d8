/* Keep-alive inside the secure channel (docs/PROTOCOL.md, "Keep-alive").
 *
 * An initiator with a ping interval sends an encrypted PING every
 * ping_interval_ms: token:u64be || dead_after_ms:u32be; whoever gets one
 * answers an encrypted PONG with the token.  Any authenticated frame from
 * the peer counts as a sign of life (last_rx_ms, set in channel_data.c).
 * When none came for dead_after_ms, the path is dead: a resilient
 * initiator reconnects (channel_heal.c), anything else closes with
 * VEIL_ETIMEDOUT.  This sees past relays and other hops, which keep a
 * dead far side's route looking alive.
 *
 * The responder learns the initiator's dead_after_ms from its PINGs and,
 * from the first one on, closes its end after that much silence (bounded
 * by [secure_channel] peer_silence_max_ms, at least 1 s): the state of a
 * channel whose initiator went away (and healed into a new channel) is
 * freed, and only the authenticated peer can keep it alive.  Frames are
 * authenticated before they count, so nobody else can. */
#include "channel_internal.h"
#include "core/util.h"

#include <veil/error.h>
#include <veil/log.h>

#include <stdio.h>

static void alive_fired(veil_node *node, void *arg);

int veil__ch_alive_start(veil_channel *ch)
{
    veil__ch_alive_stop(ch);
    if (ch->alive_ms == 0 || ch->stopped || ch->stopping)
        return 0;
    ch->last_rx_ms = veil_node_now_ms(ch->node);
    return veil_node_timer_add(ch->node, ch->alive_ms, alive_fired, ch, &ch->alive_timer);
}

void veil__ch_alive_stop(veil_channel *ch)
{
    if (ch->alive_timer != NULL)
        veil_node_timer_cancel(ch->alive_timer);
    ch->alive_timer = NULL;
}

static int send_ping(veil_channel *ch)
{
    uint8_t body[VEIL_CH_PING_BODY];
    veil__store_be64(body, ++ch->ping_token);
    veil__store_be32(body + 8, ch->dead_ms);
    return veil__ch_send_control(ch, VEIL_CH_PING, body, sizeof body);
}

static void dead(veil_channel *ch, uint64_t quiet)
{
    char why[VEIL_IDENTIFIER_LEN + 160];
    snprintf(why, sizeof why, "no frame from the peer %s for %llu ms (dead after %u ms): the "
             "path is dead", ch->stats.peer_identifier, (unsigned long long)quiet, ch->dead_ms);
    if (ch->role == VEIL_KA_INITIATOR && veil__ch_heal_lost(ch, VEIL_ETIMEDOUT, why)) {
        veil__ch_heal_drop_hop(ch, ch->dead_ms, "the secure channel's peer is silent");
        return;
    }
    veil_log(VEIL_LOG_WARN, "channel", "%s: closed: %s", ch->addr->bytes, why);
    veil__ch_close_cause(ch, VEIL_ETIMEDOUT, why);
    veil__ch_stop(ch);
}

static void alive_fired(veil_node *node, void *arg)
{
    veil_channel *ch = arg;
    ch->alive_timer = NULL; /* fired: the loop frees it */
    if (ch->stopped || ch->stopping || ch->state != VEIL_CH_ST_OPEN)
        return;
    veil__ch_ref(ch);
    uint64_t now = veil_node_now_ms(node), quiet = now - ch->last_rx_ms;
    if (quiet >= ch->dead_ms) {
        dead(ch, quiet);
    } else {
        if (ch->role == VEIL_KA_INITIATOR && send_ping(ch) < 0)
            veil_log(VEIL_LOG_DEBUG, "channel", "%s: keep-alive not sent: %s", ch->addr->bytes,
                     veil_last_error());
        if (veil_node_timer_add(node, ch->alive_ms, alive_fired, ch, &ch->alive_timer) < 0)
            ch->alive_timer = NULL; /* out of memory: the next frame rearms nothing */
    }
    veil__ch_unref(ch);
}

/* A responder's first PING (or one with another bound): close after the
 * peer's dead_after_ms of silence, within [1 s, peer_silence_max_ms]. */
static void bound_silence(veil_channel *ch, uint32_t asked)
{
    uint32_t d = asked < 1000u ? 1000u : asked;
    if (d > ch->set.peer_silence_max_ms)
        d = ch->set.peer_silence_max_ms;
    if (ch->dead_ms == d && ch->alive_timer != NULL)
        return;
    ch->dead_ms = d;
    ch->alive_ms = d / 2u;
    if (veil__ch_alive_start(ch) < 0)
        veil_log(VEIL_LOG_DEBUG, "channel", "%s: silence timer: %s", ch->addr->bytes,
                 veil_last_error());
}

int veil__ch_alive_frame(veil_channel *ch, uint8_t type, const uint8_t *body, size_t len)
{
    if (type == VEIL_CH_PONG || ch->state != VEIL_CH_ST_OPEN)
        return 0; /* a sign of life, counted already */
    if (len != VEIL_CH_PING_BODY) {
        ch->stats.dropped_auth++;
        return 0;
    }
    if (ch->role == VEIL_KA_RESPONDER)
        bound_silence(ch, veil__load_be32(body + 8));
    return veil__ch_send_control(ch, VEIL_CH_PONG, body, 8);
}
