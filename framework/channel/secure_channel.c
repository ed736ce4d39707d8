/* Secure channels: the public API (create, close, stats), the channel
 * worker and its lifetime, settings from [secure_channel].  Listeners:
 * channel_listener.c.
 *
 * A channel is one worker owning two addresses: the public one (addr)
 * applications put first in routes (messages arriving there are encrypted
 * and sent to the peer), and the one the peer's channel sends to (peer_addr)
 * (frames arriving there are handshake messages or ciphertext).  Two
 * addresses make the direction of a message a matter of which address it
 * was sent to, never of what it contains.  Protocol: docs/PROTOCOL.md,
 * "Secure channel"; handshake: channel_handshake.c; data: channel_data.c. */
#include "channel_internal.h"
#include "core/util.h"

#include <veil/error.h>
#include <veil/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_REKEY_INTERVAL (1LL << 20)
#define DEFAULT_HANDSHAKE_TIMEOUT_MS 10000LL
#define DEFAULT_MAX_MESSAGE (256LL * 1024)

#define DEFAULT_MAX_PENDING 1024LL
#define DEFAULT_MAX_PENDING_LISTENER 512LL
#define DEFAULT_COOKIE_THRESHOLD 64LL
/* Below the default per-listener cap: one node alone never makes a
 * listener with the defaults evict its own handshakes. */
#define DEFAULT_MAX_OPENING 256LL
#define MAX_PENDING_LIMIT 1000000LL

static const char *const settings_keys[] = {
    "rekey_interval", "handshake_timeout_ms", "max_message", "max_pending_handshakes",
    "max_pending_handshakes_per_listener", "cookie_threshold", "allowed_workers",
    "max_opening_handshakes", "resilient", "ping_interval_ms", "dead_after_ms",
    "reconnect_min_ms", "reconnect_max_ms", "reconnect_attempts", "peer_silence_max_ms", NULL
};

static int pending_settings(const veil_config *cfg, veil_ch_settings *out)
{
    long long v[4];
    int rc = veil_config_get_int(cfg, "secure_channel", "max_pending_handshakes",
                                 DEFAULT_MAX_PENDING, 1, MAX_PENDING_LIMIT, &v[0]);
    if (rc == 0)
        rc = veil_config_get_int(cfg, "secure_channel", "max_pending_handshakes_per_listener",
                                 DEFAULT_MAX_PENDING_LISTENER, 1, MAX_PENDING_LIMIT, &v[1]);
    if (rc == 0)
        rc = veil_config_get_int(cfg, "secure_channel", "cookie_threshold",
                                 DEFAULT_COOKIE_THRESHOLD, 0, MAX_PENDING_LIMIT, &v[2]);
    if (rc == 0)
        rc = veil_config_get_int(cfg, "secure_channel", "max_opening_handshakes",
                                 DEFAULT_MAX_OPENING, 1, MAX_PENDING_LIMIT, &v[3]);
    if (rc < 0)
        return rc;
    out->max_pending = (uint32_t)v[0];
    out->max_pending_listener = (uint32_t)v[1];
    out->cookie_threshold = (uint32_t)v[2];
    out->max_opening = (uint32_t)v[3];
    return 0;
}

int veil__ch_settings_from(const veil_config *cfg, veil_ch_settings *out)
{
    long long v;
    int rc;
    if (veil_config_has_section(cfg, "secure_channel") &&
        (rc = veil_config_check_keys(cfg, "secure_channel", settings_keys)) < 0)
        return rc;
    if ((rc = veil_config_get_int(cfg, "secure_channel", "rekey_interval", DEFAULT_REKEY_INTERVAL,
                                  2, 1LL << 62, &v)) < 0)
        return rc;
    out->rekey_interval = (uint64_t)v;
    if ((rc = veil_config_get_int(cfg, "secure_channel", "handshake_timeout_ms",
                                  DEFAULT_HANDSHAKE_TIMEOUT_MS, 1, 3600000LL, &v)) < 0)
        return rc;
    out->handshake_timeout_ms = (uint64_t)v;
    if ((rc = veil_config_get_int(cfg, "secure_channel", "max_message", DEFAULT_MAX_MESSAGE, 1,
                                  (long long)(VEIL_PAYLOAD_MAX - VEIL_CH_OVERHEAD -
                                              VEIL_CH_ROUTES_OVERHEAD),
                                  &v)) < 0)
        return rc;
    out->max_message = (size_t)v;
    if ((rc = veil__ch_heal_settings(cfg, out)) < 0)
        return rc;
    return pending_settings(cfg, out);
}

int veil__ch_settings(veil_node *node, veil_ch_settings *out)
{
    return veil__ch_settings_from(veil_node_config(node), out);
}


/* ---- the channel worker and its lifetime -------------------------------
 * The worker holds one reference on the channel; an open holds one until
 * its completion ran (channel_open.c); every handler and timer callback holds one
 * while it runs.  Whatever stops the worker (a CLOSE, a refusal, a lost
 * route, a local close, eviction, node stop) only drops the worker's
 * reference: the struct goes with the last one, so nobody ever reads it
 * after it was freed.  After the stop only the struct is valid (ctx goes
 * with the round); an initiator stopped while its open's completion is
 * owed is marked failed (VEIL_ECLOSED, or VEIL_ESTOPPED when the node
 * stops) so the completion reports it. */

static bool sent_to(const veil_message *msg, const veil_address *a)
{
    uint8_t t;
    const uint8_t *b;
    size_t n;
    return veil_route_front(veil_message_onward_const(msg), &t, &b, &n) && t == a->type &&
           n == a->len && memcmp(b, a->bytes, n) == 0;
}

static int ch_start(veil_context *ctx, void *state)
{
    veil_channel *ch = state;
    size_t n;
    const veil_address *a = veil_ctx_addresses(ctx, &n);
    ch->ctx = ctx;
    ch->addr = &a[0];
    ch->peer_addr = &a[1];
    /* The public address only takes messages made on this node: a message
     * from a transport there would be encrypted and attributed to us by
     * the peer (a bearer token for anyone who learnt the address). */
    int rc = veil_ctx_set_local_only(ctx, ch->addr);
    /* The peer-facing address takes the peer's frames from the network. */
    if (rc == 0)
        rc = veil_ctx_set_network_facing(ctx, ch->peer_addr);
    if (rc == 0)
        veil__ch_list_append(&ch->shared->channels, ch, offsetof(veil_channel, in_all));
    return rc;
}

static int ch_dispatch(veil_channel *ch, veil_context *ctx, veil_message *msg)
{
    if (!sent_to(msg, ch->peer_addr))
        return veil__ch_encrypt_send(ch, msg);
    size_t len;
    const uint8_t *p = veil_message_payload(msg, &len);
    veil_ch_frame f;
    if (veil__ch_frame_parse(p, len, &f) < 0) {
        ch->stats.dropped_auth++;
        veil_log(VEIL_LOG_DEBUG, "channel", "%s: dropped a frame: %s", ch->addr->bytes,
                 veil_last_error());
        return 0;
    }
    if (f.type <= VEIL_CH_HANDSHAKE_LAST)
        return veil__ch_handshake_frame(ch, msg, &f);
    return veil__ch_receive(ch, msg, &f);
}

static int ch_handle(veil_context *ctx, void *state, veil_message *msg)
{
    veil_channel *ch = state;
    ch->refs++;
    int rc = ch_dispatch(ch, ctx, msg);
    veil__ch_unref(ch);
    return rc;
}

static void ch_free(veil_channel *ch)
{
    /* The channel holds a reference on its entity, which holds one on its
     * vault: even when the application already freed the entity or closed
     * the vault (or the node is stopping), the vault is still open here, so
     * the session and keys are destroyed in it, never leaked. */
    if (ch->timer != NULL)
        veil_node_timer_cancel(ch->timer);
    veil__ch_pending_remove(ch);
    veil__ch_pace_end(ch);
    veil__ch_alive_stop(ch);
    veil__ch_heal_free(ch);
    if (ch->session != NULL)
        ch->ka->session_free(ch->session);
    veil__ch_keys_destroy(ch, true);
    if (ch->listener != NULL)
        veil__ch_listener_unref(ch->listener);
    else if (ch->ka_inst != NULL)
        ch->ka->instance_free(ch->ka_inst);
    veil_trust_policy_free(ch->policy);
    free(ch->detail);
    free(ch->protocol);
    free(ch->close_detail);
    free(ch->route);
    free(ch->hs1);
    free(ch->prologue);
    veil__ch_allow_free(ch->allowed);
    veil__ch_senders_free(ch);
    veil_entity_close(ch->entity);   /* our reference */
    veil__memzero(ch, sizeof *ch);
    free(ch);
}

void veil__ch_public(const veil_channel *ch, veil_address *out)
{
    size_t n = strlen(ch->open_name);
    memset(out, 0, sizeof *out);
    out->type = VEIL_ADDRESS_TYPE_LOCAL;
    out->len = (uint8_t)n;
    memcpy(out->bytes, ch->open_name, n);
}

bool veil__ch_is_public(const veil_channel *ch, const veil_address *a)
{
    size_t n = strlen(ch->open_name);
    return a->type == VEIL_ADDRESS_TYPE_LOCAL && a->len == n && n > 0 &&
           memcmp(a->bytes, ch->open_name, n) == 0;
}

void veil__ch_keep_name(veil_channel *ch)
{
    _Static_assert(sizeof "sc_" - 1u + 16u <= VEIL_CH_NAME_MAX, "the public name fits");
    size_t n = ch->addr->len < VEIL_CH_NAME_MAX ? ch->addr->len : VEIL_CH_NAME_MAX;
    memcpy(ch->open_name, ch->addr->bytes, n);
    ch->open_name[n] = '\0';
}

void veil__ch_ref(veil_channel *ch)
{
    ch->refs++;
}

void veil__ch_unref(veil_channel *ch)
{
    if (--ch->refs == 0)
        ch_free(ch);
}

static void ch_stop(veil_context *ctx, void *state)
{
    veil_channel *ch = state;
    ch->stopping = ch->stopped = true;
    if (ch->role == VEIL_KA_RESPONDER)
        veil__ch_tell_close(ch);
    veil__ch_closed_notify(ch);
    veil__ch_alive_stop(ch);
    if (ch->role == VEIL_KA_INITIATOR)
        veil__ch_heal_stopped(ch);
    veil__ch_list_remove(&ch->shared->channels, ch, offsetof(veil_channel, in_all));
    if (ch->timer != NULL) {
        veil_node_timer_cancel(ch->timer);
        ch->timer = NULL;
    }
    veil__ch_pending_remove(ch);
    if (ch->role == VEIL_KA_INITIATOR && ch->state != VEIL_CH_ST_FAILED &&
        (ch->state != VEIL_CH_ST_OPEN || ch->waiting))
        veil__ch_fail(ch, veil__node_stopping(ch->node)
                      ? veil_error_set(VEIL_ESTOPPED, "secure channel %s: the node stopped "
                                       "during the handshake", veil_ctx_address(ctx)->bytes)
                      : veil_error_set(VEIL_ECLOSED, "secure channel %s: stopped during the "
                                       "handshake (closed locally or the node is "
                                       "stopping)",
                                       veil_ctx_address(ctx)->bytes));
    veil__ch_unref(ch);
}

static const veil_worker_ops ch_ops = {
    .size = sizeof(veil_worker_ops),
    .start = ch_start,
    .handle_message = ch_handle,
    .stop = ch_stop,
};

int veil__ch_start(veil_node *node, veil_entity *e, int role, const veil_ch_settings *set,
                   veil_channel **out)
{
    veil_ch_node *shared;
    int rc = veil__ch_node_get(node, set, &shared);
    if (rc < 0)
        return rc;
    veil_channel *ch = calloc(1, sizeof *ch);
    if (ch == NULL)
        return veil_error_set(VEIL_ENOMEM, "secure channel: out of memory");
    ch->node = node;
    ch->shared = shared;
    ch->set = *set;
    ch->entity = e;
    ch->vault = veil_entity_vault(e);
    ch->role = role;
    ch->state = VEIL_CH_ST_HANDSHAKE;
    ch->refs = 1; /* the worker's */
    veil__rw_init(&ch->window);
    veil_address a[2];
    if (role == VEIL_KA_INITIATOR && (rc = veil__ch_allow_from_config(node, &ch->allowed)) < 0) {
        free(ch);
        return rc;
    }
    rc = veil_address_random(&a[0], "sc_");
    if (rc == 0)
        rc = veil_address_random(&a[1], "scp_");
    if (rc == 0)
        rc = veil_ctx_start_worker_addrs(veil_node_context(node), a, 2, &ch_ops, ch);
    if (rc < 0) {
        veil__ch_allow_free(ch->allowed);
        free(ch);
        return rc;
    }
    veil__entity_ref(e);   /* dropped in ch_free */
    *out = ch;
    return 0;
}

void veil__ch_stop(veil_channel *ch)
{
    if (ch->stopping || ch->stopped)
        return;
    ch->stopping = true;
    char addr[VEIL_ADDRESS_MAX + 1];
    memcpy(addr, ch->addr->bytes, sizeof addr);
    if (veil_ctx_stop_worker(ch->ctx, addr) < 0)
        veil_log(VEIL_LOG_ERROR, "channel", "%s: could not stop: %s", addr, veil_last_error());
}

int veil__ch_set_route(veil_channel *ch, const veil_route *r)
{
    veil_packed_route *p;
    int rc = veil__route_pack(r, &p);
    if (rc < 0)
        return rc;
    free(ch->route);
    ch->route = p;
    return 0;
}

/* Address the message to the peer's channel (route, or NULL: the stored
 * route), from our peer-facing address. */
int veil__ch_address_to_peer(veil_channel *ch, veil_message *m, const veil_route *route)
{
    if (route != NULL)
        veil_route_copy(veil_message_onward(m), route);
    else
        veil__route_unpack(ch->route, veil_message_onward(m));
    veil_route *ret = veil_message_return(m);
    veil_route_init(ret);
    return veil_route_append(ret, ch->peer_addr);
}

int veil__ch_send_raw(veil_channel *ch, const veil_route *route, const uint8_t *frame, size_t len)
{
    veil_message *m;
    int rc = veil_message_new(ch->node, &m);
    if (rc < 0)
        return rc;
    if ((rc = veil_message_set_payload(m, frame, len)) < 0 ||
        (rc = veil__ch_address_to_peer(ch, m, route)) < 0) {
        veil_message_free(m);
        return rc;
    }
    return veil_ctx_forward(ch->ctx, m);
}

/* A message whose payload the caller fills (len bytes), addressed to the
 * peer along the stored route. */
int veil__ch_message_to_peer(veil_channel *ch, size_t len, veil_message **out, uint8_t **buf)
{
    veil_message *m;
    int rc = veil_message_new(ch->node, &m);
    if (rc < 0)
        return rc;
    if ((rc = veil_message_resize_payload(m, len, buf)) < 0 ||
        (rc = veil__ch_address_to_peer(ch, m, NULL)) < 0) {
        veil_message_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int veil__ch_fail(veil_channel *ch, int rc)
{
    if (ch->timer != NULL) {
        veil_node_timer_cancel(ch->timer);
        ch->timer = NULL;
    }
    free(ch->hs1);
    ch->hs1 = NULL;
    if (ch->role == VEIL_KA_INITIATOR && veil__ch_heal_failed(ch, rc))
        return 0; /* a heal's attempt: the next one is scheduled, or it closed */
    if (ch->role == VEIL_KA_INITIATOR) {
        if (ch->state == VEIL_CH_ST_FAILED)
            return 0;
        ch->state = VEIL_CH_ST_FAILED;
        ch->result = rc;
        free(ch->detail);
        ch->detail = strdup(veil_last_error());
        if (ch->session != NULL) {
            ch->ka->session_free(ch->session);
            ch->session = NULL;
        }
        veil__ch_open_settled(ch);
        return 0;
    }
    if (ch->stopped || ch->stopping)
        return 0;
    veil_ch_listener *l = ch->listener;
    if (ch->state != VEIL_CH_ST_OPEN)
        l->stats.failed++;
    else
        veil__ch_close_cause(ch, rc, veil_last_error());
    veil__ch_warn(l, "listener '%s': channel %s refused or failed: %s", l->name,
                  ch->addr->bytes, veil_last_error());
    veil__ch_stop(ch);
    return 0;
}

/* ---- close, stats ------------------------------------------------------- */

/* By either of the channel's addresses (the public one, or the one the peer
 * sends to, which is what a hop on the route sees). */
veil_channel *veil__ch_find(veil_node *node, const veil_address *a)
{
    return veil_node_worker_state(node, a, &ch_ops);
}

static int not_found(const veil_address *a)
{
    char text[VEIL_ADDRESS_TEXT_MAX + 1] = "(null)";
    if (a != NULL)
        veil_address_format(a, text, sizeof text);
    return veil_error_set(VEIL_ENOTFOUND, "no secure channel at address '%s'", text);
}

int veil_secure_channel_close(veil_node *node, const veil_address *channel)
{
    veil_channel *ch = veil__ch_find(node, channel);
    if (ch == NULL)
        return not_found(channel);
    int rc = 0;
    if (ch->state == VEIL_CH_ST_OPEN)
        rc = veil__ch_send_control(ch, VEIL_CH_CLOSE, NULL, 0);
    if (ch->role == VEIL_KA_INITIATOR)
        veil__ch_heal_stopped(ch); /* CLOSED is told now, never later */
    veil__ch_stop(ch);
    return rc;
}

int veil_secure_channel_stats(veil_node *node, const veil_address *channel,
                              veil_channel_stats *out)
{
    if (out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_secure_channel_stats: out is NULL");
    veil_channel *ch = veil__ch_find(node, channel);
    if (ch == NULL)
        return not_found(channel);
    *out = ch->stats;
    return 0;
}
