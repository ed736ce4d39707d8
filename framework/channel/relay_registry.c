/* The relay side of registered names (veil/relay.h; docs/PROTOCOL.md,
 * "Relay registration").  Two workers share one registry, kept as the node
 * extension "veil.relay":
 *
 *  - the registry (default "relay_registry"), local-only: it takes
 *    REGISTER requests a secure channel decrypted (the channel's peer is
 *    the registrant) and answers RESULT through the same channel;
 *  - the forwarder (default "relay"), network-facing: [relay, NAME, rest]
 *    becomes [route to NAME's registrant..., rest]; a message with a
 *    transport next hop goes on as a hop when it came over a registrant's
 *    connection (the return path) or goes to one (the initiator's frames
 *    after the handshake, along the route the registrant's reply taught
 *    it); a message for an unknown or stale name is answered
 *    with a handshake refusal (rate-limited), anything else is dropped and
 *    counted.
 *
 * A registration lives as long as the channel it came through: a lost
 * connection expires it (route-lost subscription), a closed channel on
 * its next use.  With a persistent node store the bindings (name → owner)
 * are kept (relay_persist.c): after a restart each is held for its owner,
 * without a route, for restart_hold_ms or until the owner registers
 * again. */
#include "channel_internal.h"
#include "relay_internal.h"

#include "core/util.h"

#include <veil/error.h>
#include <veil/log.h>
#include <veil/transport.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXT "veil.relay"

typedef struct entry {
    char name[VEIL_RELAY_NAME_MAX + 1];
    char owner[VEIL_IDENTIFIER_TEXT_MAX];
    veil_address channel;          /* the registration channel (local) */
    veil_route prefix;             /* to the registrant's node */
    veil_address conn;             /* prefix's first address: its connection */
    uint64_t held_until;           /* kept from before a restart: held for its
                                    * owner until then (node ms); 0: live */
} entry;

typedef struct registry {
    veil_node *node;
    entry **e;
    unsigned n, max, per_identity, refusal_rate;
    veil_relay_conns conns;        /* the names' connections (relay_conns.c) */
    char **registrants;
    size_t n_registrants;
    char **reserved;               /* "NAME=IDENTIFIER" */
    size_t n_reserved;
    veil_address fwd;
    veil_ratelimit refusals, drops;
    veil_relay_registry_stats stats;
    uint64_t hold_ms;              /* restart_hold_ms */
    veil_timer *sweep;             /* ends the holds of kept names */
} registry;

static registry *registry_of(const veil_node *node)
{
    return veil_node_extension_get(node, EXT);
}

static entry *find(registry *g, const char *name, size_t len, unsigned *at)
{
    for (unsigned i = 0; i < g->n; i++)
        if (strlen(g->e[i]->name) == len && memcmp(g->e[i]->name, name, len) == 0) {
            if (at != NULL)
                *at = i;
            return g->e[i];
        }
    return NULL;
}

static void drop_at(registry *g, unsigned i, const char *why)
{
    veil__relay_conns_remove(&g->conns, &g->e[i]->conn);
    veil_log(VEIL_LOG_INFO, "relay", "name '%s' of %s expired: %s", g->e[i]->name, g->e[i]->owner, why);
    veil__relay_persist_unbind(g->node, g->e[i]->name);
    free(g->e[i]);
    g->e[i] = g->e[--g->n];
    g->stats.expired++;
}

/* Held for its owner after a restart (no channel yet)? */
static bool held(registry *g, const entry *en)
{
    return en->held_until != 0 && veil_node_now_ms(g->node) < en->held_until;
}

/* Is the registration channel still up? */
static bool alive(registry *g, const entry *en)
{
    veil_channel *ch = veil__ch_find(g->node, &en->channel);
    return ch != NULL && !ch->stopping && ch->route != NULL;
}

/* ---- registration ------------------------------------------------------ */

static bool may_register(const registry *g, const char *who)
{
    if (g->registrants == NULL)
        return true;
    for (size_t i = 0; i < g->n_registrants; i++)
        if (strcmp(g->registrants[i], who) == 0)
            return true;
    return false;
}

/* Is name reserved for an identity other than who? */
static bool reserved_for_other(const registry *g, const char *name, const char *who)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < g->n_reserved; i++)
        if (strncmp(g->reserved[i], name, n) == 0 && g->reserved[i][n] == '=')
            return strcmp(g->reserved[i] + n + 1, who) != 0;
    return false;
}

static unsigned held_by(const registry *g, const char *who)
{
    unsigned k = 0;
    for (unsigned i = 0; i < g->n; i++)
        k += strcmp(g->e[i]->owner, who) == 0;
    return k;
}

/* The route to the registrant's node: the channel's route to its peer's
 * channel without that last address. */
static int prefix_of(registry *g, const veil_address *channel, veil_route *out)
{
    veil_channel *ch = veil__ch_find(g->node, channel);
    if (ch == NULL || ch->route == NULL)
        return VEIL_ENOTFOUND;
    veil_route r;
    veil__route_unpack(ch->route, &r);
    size_t n = veil_route_count(&r);
    veil_route_init(out);
    for (size_t i = 0; i + 1 < n; i++) {
        veil_address a;
        if (veil_route_get(&r, i, &a) < 0 || veil_route_append(out, &a) < 0)
            return VEIL_ELIMIT;
    }
    return 0;
}

static int do_register(registry *g, const char *name, const veil_local_info *li)
{
    const char *who = li->peer_identifier;
    if (!may_register(g, who))
        return VEIL_RELAY_DENIED;
    if (reserved_for_other(g, name, who))
        return VEIL_RELAY_TAKEN;
    veil_route prefix;
    if (prefix_of(g, &li->channel, &prefix) < 0)
        return VEIL_RELAY_DENIED;
    unsigned at;
    entry *en = find(g, name, strlen(name), &at);
    if (en != NULL && strcmp(en->owner, who) != 0) {
        if (alive(g, en) || held(g, en))
            return VEIL_RELAY_TAKEN;
        drop_at(g, at, en->held_until != 0 ? "not registered again within restart_hold_ms "
                "of a restart" : "its channel closed"); /* stale: the name is free again */
        en = NULL;
    }
    if (en == NULL) {
        if (held_by(g, who) >= g->per_identity)
            return VEIL_RELAY_IDENTITY_LIMIT;
        if (g->n >= g->max)
            return VEIL_RELAY_FULL;
        if ((en = calloc(1, sizeof *en)) == NULL)
            return VEIL_RELAY_FULL;
        veil__strlcpy(en->name, name, sizeof en->name);
        veil__strlcpy(en->owner, who, sizeof en->owner);
        g->e[g->n++] = en;
        veil_log(VEIL_LOG_INFO, "relay", "name '%s' registered by %s", name, who);
        veil__relay_persist_bind(g->node, name, who);
    } else if (en->held_until != 0) {
        veil_log(VEIL_LOG_INFO, "relay", "name '%s' of %s registered again after a restart",
                 name, who);
    } else if (!veil_address_equal(&en->channel, &li->channel)) {
        veil_log(VEIL_LOG_INFO, "relay", "name '%s' of %s moved to a new channel", name, who);
    }
    en->channel = li->channel;
    en->held_until = 0;
    veil_route_copy(&en->prefix, &prefix);
    veil__relay_conns_remove(&g->conns, &en->conn);
    if (veil_route_get(&prefix, 0, &en->conn) < 0)
        en->conn.len = 0; /* an empty prefix: no connection to match */
    veil__relay_conns_add(&g->conns, &en->conn);
    return VEIL_RELAY_OK;
}

static int registry_handle(veil_context *ctx, void *state, veil_message *msg)
{
    registry *g = state;
    const veil_local_info *li = veil_message_local_info(msg);
    if (!li->via_channel || li->peer_identifier[0] == '\0') {
        g->stats.refused++;
        return veil_error_set(VEIL_EDENIED, "relay registry: a request that came through no "
                              "secure channel (dropped)");
    }
    size_t len;
    const uint8_t *p = veil_message_payload(msg, &len);
    veil_relay_msg req, res = { .version = VEIL_RELAY_VERSION, .type = VEIL_RELAY_RESULT };
    int rc = veil__relay_decode(p, len, &req);
    if (rc == VEIL_EVERSION)
        res.code = VEIL_RELAY_BAD_VERSION;
    else if (rc < 0 || req.type != VEIL_RELAY_REGISTER)
        res.code = rc == VEIL_EFORMAT && p[1] == VEIL_RELAY_REGISTER && p[2] == 0
                       ? VEIL_RELAY_BAD_NAME /* the decoder refused the name */
                       : VEIL_RELAY_MALFORMED;
    else
        res.code = (uint8_t)do_register(g, req.name, li);
    if (rc == 0)
        memcpy(res.name, req.name, sizeof res.name);
    if (res.code == VEIL_RELAY_OK)
        g->stats.registered++;
    else
        g->stats.refused++;
    uint8_t out[VEIL_RELAY_MSG_MAX];
    int n = veil__relay_encode(&res, out, sizeof out);
    if (n < 0)
        return n;
    return veil_ctx_reply_message(ctx, msg, out, (size_t)n);
}

/* ---- forwarding ------------------------------------------------------- */

static int refuse_unknown(registry *g, veil_context *ctx, veil_message *msg, const veil_address *name)
{
    g->stats.unknown++;
    uint64_t skipped;
    if (!veil__ratelimit_pass(&g->refusals, veil_node_now_ms(g->node), g->refusal_rate, &skipped)) {
        g->stats.refusals_suppressed++;
        return 0;
    }
    veil_log(VEIL_LOG_INFO, "relay", "refused a message for '%.*s': no such name (%llu refusals "
             "not sent before this one: rate)", (int)name->len, name->bytes, (unsigned long long)skipped);
    uint8_t frame[80];
    size_t n = veil__relay_refusal_frame(frame, sizeof frame);
    return veil_ctx_reply_message(ctx, msg, frame, n);
}

/* [relay, NAME, rest...] becomes [prefix of NAME..., rest...]; the
 * forwarder goes in front of the return route. */
static int to_name(const registry *g, const entry *en, veil_route *on, veil_route *ret)
{
    veil_address a;
    if (veil_route_pop_front(on, &a) < 0 || veil_route_pop_front(on, &a) < 0)
        return VEIL_EINVAL;
    for (size_t i = veil_route_count(&en->prefix); i-- > 0;) {
        int rc = veil_route_get(&en->prefix, i, &a);
        if (rc < 0 || (rc = veil_route_prepend(on, &a)) < 0)
            return veil_error_wrap(rc, "relay: route to '%s' does not fit", en->name);
    }
    int rc = veil_route_prepend(ret, &g->fwd);
    return rc < 0 ? veil_error_wrap(rc, "relay: return route full") : 0;
}

static int forward_to_name(registry *g, veil_context *ctx, veil_message *msg, const veil_address *name)
{
    unsigned at;
    entry *en = find(g, name->bytes, name->len, &at);
    if (en != NULL && !alive(g, en)) {
        if (!held(g, en)) /* held: no route until its owner registers again */
            drop_at(g, at, en->held_until != 0 ? "not registered again within "
                    "restart_hold_ms of a restart" : "its channel closed");
        en = NULL;
    }
    if (en == NULL)
        return refuse_unknown(g, ctx, msg, name);
    int rc = to_name(g, en, veil_message_onward(msg), veil_message_return(msg));
    if (rc < 0)
        return rc;
    g->stats.forwarded++;
    return veil_ctx_forward(ctx, msg);
}

/* Is a the first hop of a registered name's route (its connection)? */
static bool registrant_conn(const registry *g, const veil_address *a)
{
    return veil__relay_conns_has(&g->conns, a);
}

/* Not the open relay: a transport next hop only from a registrant's
 * connection (its replies) or to one (an initiator's frames after the
 * handshake, along the route the registrant's reply taught it). */
static bool may_return(const registry *g, const veil_local_info *li, const veil_address *next)
{
    return !li->from_transport || registrant_conn(g, &li->connection) || registrant_conn(g, next);
}

static int forward_handle(veil_context *ctx, void *state, veil_message *msg)
{
    registry *g = state;
    veil_address next;
    if (veil_route_get(veil_message_onward_const(msg), 1, &next) < 0) {
        g->stats.dropped_return++;
        return 0;
    }
    if (next.type == VEIL_ADDRESS_TYPE_LOCAL)
        return forward_to_name(g, ctx, msg, &next);
    if (!may_return(g, veil_message_local_info(msg), &next)) {
        g->stats.dropped_return++;
        uint64_t skipped;
        if (veil__ratelimit_pass(&g->drops, veil_node_now_ms(g->node), 1, &skipped))
            veil_log(VEIL_LOG_WARN, "relay", "dropped a message for a transport address from a "
                     "connection no registered name uses (%llu more not logged)",
                     (unsigned long long)skipped);
        return 0;
    }
    g->stats.returned++;
    return veil_ctx_forward_next(ctx, msg);
}

/* The same decisions for a frame that has not become a message
 * (veil_node_forward_frame): the two forward cases only.  An unknown or
 * stale name (refused, expired) and a drop are the ordinary path's. */
static int forward_frame(veil_context *ctx, void *state, const veil_local_info *li,
                         veil_route *onward, veil_route *ret, uint64_t **sent)
{
    (void)ctx;
    registry *g = state;
    veil_address next;
    if (veil_route_get(onward, 1, &next) < 0)
        return 0;
    if (next.type == VEIL_ADDRESS_TYPE_LOCAL) {
        entry *en = find(g, next.bytes, next.len, NULL);
        if (en == NULL || !alive(g, en) || to_name(g, en, onward, ret) < 0)
            return 0;
        *sent = &g->stats.forwarded; /* counted once it went (it may be held first) */
        return 1;
    }
    if (!may_return(g, li, &next) || veil_route_pop_front(onward, NULL) < 0 ||
        veil_route_prepend(ret, &g->fwd) < 0)
        return 0;
    *sent = &g->stats.returned;
    return 1;
}

static int forward_start(veil_context *ctx, void *state)
{
    (void)state;
    int rc = veil_ctx_set_network_facing(ctx, NULL);
    return rc < 0 ? rc : veil__ctx_set_frame_forwarder(ctx, forward_frame);
}

static const veil_worker_ops registry_ops = {
    .size = sizeof(veil_worker_ops),
    .handle_message = registry_handle,
};

static const veil_worker_ops forward_ops = {
    .size = sizeof(veil_worker_ops),
    .start = forward_start,
    .handle_message = forward_handle,
};

/* ---- lifetime --------------------------------------------------------- */

static void lost(veil_node *node, const veil_address *peer, int reason, const char *detail, void *arg)
{
    (void)node, (void)reason, (void)detail;
    registry *g = arg;
    for (unsigned i = g->n; i-- > 0;)
        if (veil_address_equal(&g->e[i]->conn, peer))
            drop_at(g, i, "its connection was lost");
}

static void strings_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void registry_free(registry *g)
{
    for (unsigned i = 0; i < g->n; i++)
        free(g->e[i]);
    free(g->e);
    veil__relay_conns_free(&g->conns);
    strings_free(g->registrants, g->n_registrants);
    strings_free(g->reserved, g->n_reserved);
    free(g);
}

static void destroy(veil_node *node, void *data)
{
    registry *g = data;
    if (g->sweep != NULL)
        veil_node_timer_cancel(g->sweep);
    veil_node_off_route_lost(node, lost, data);
    registry_free(data);
}

/* Copy n strings (none when in is NULL); *count says how many were. */
static int strings_copy(const char *const *in, size_t n, char ***out, size_t *count)
{
    if (in == NULL)
        return 0;
    if ((*out = calloc(n + 1u, sizeof **out)) == NULL)
        return VEIL_ENOMEM;
    for (size_t i = 0; i < n; i++, (*count)++)
        if (((*out)[i] = strdup(in[i])) == NULL)
            return VEIL_ENOMEM;
    return 0;
}

static int check_reserved(const veil_relay_registry_options *o)
{
    for (size_t i = 0; o->reserved != NULL && i < o->n_reserved; i++) {
        const char *eq = strchr(o->reserved[i], '=');
        char name[VEIL_RELAY_NAME_MAX + 1];
        size_t n = eq != NULL ? (size_t)(eq - o->reserved[i]) : 0;
        if (n > 0 && n <= VEIL_RELAY_NAME_MAX)
            snprintf(name, sizeof name, "%.*s", (int)n, o->reserved[i]);
        if (n == 0 || n > VEIL_RELAY_NAME_MAX || !veil_relay_name_valid(name) || eq[1] != 'P')
            return veil_error_set(VEIL_EINVAL, "relay registry: reserved '%s' is not "
                                  "NAME=IDENTIFIER", o->reserved[i]);
    }
    return 0;
}

static int configure(registry *g, const veil_relay_registry_options *opts)
{
    veil_relay_registry_options o = { 0 };
    if (opts != NULL)
        memcpy(&o, opts, opts->size < sizeof o ? opts->size : sizeof o);
    if (o.max_names > 65536u)
        return veil_error_set(VEIL_EINVAL, "relay registry: max_names %u, at most 65536", o.max_names);
    g->max = o.max_names != 0 ? o.max_names : 256u;
    g->per_identity = o.max_per_identity != 0 ? o.max_per_identity : 4u;
    g->refusal_rate = o.refusals_per_second != 0 ? o.refusals_per_second : 20u;
    if (o.restart_hold_ms > 86400000u)
        return veil_error_set(VEIL_EINVAL, "relay registry: restart_hold_ms %u, at most "
                              "86400000 (a day)", o.restart_hold_ms);
    g->hold_ms = o.restart_hold_ms != 0 ? o.restart_hold_ms : 120000u;
    int rc = veil_address_parse(&g->fwd, o.forward_address != NULL ? o.forward_address : "relay");
    if (rc < 0 || g->fwd.type != VEIL_ADDRESS_TYPE_LOCAL)
        return veil_error_set(VEIL_EINVAL, "relay registry: forward address '%s' is not a local address",
                              o.forward_address);
    if ((rc = check_reserved(&o)) < 0)
        return rc;
    if ((g->e = calloc(g->max, sizeof *g->e)) == NULL ||
        veil__relay_conns_init(&g->conns, g->max) < 0 ||
        strings_copy(o.registrants, o.n_registrants, &g->registrants, &g->n_registrants) < 0 ||
        strings_copy(o.reserved, o.n_reserved, &g->reserved, &g->n_reserved) < 0)
        return veil_error_set(VEIL_ENOMEM, "out of memory starting the relay registry");
    return 0;
}

/* ---- names kept from before a restart ------------------------------ */

/* Ends the holds: every kept name its owner did not register again. */
static void sweep(veil_node *node, void *arg)
{
    (void)node;
    registry *g = arg;
    g->sweep = NULL;
    for (unsigned i = g->n; i-- > 0;)
        if (g->e[i]->held_until != 0 && !held(g, g->e[i]))
            drop_at(g, i, "not registered again within restart_hold_ms of a restart");
}

static void restore(void *arg, const char *name, const char *owner)
{
    registry *g = arg;
    entry *en = NULL;
    if (find(g, name, strlen(name), NULL) != NULL || g->n >= g->max ||
        held_by(g, owner) >= g->per_identity || (en = calloc(1, sizeof *en)) == NULL) {
        veil_log(VEIL_LOG_WARN, "relay", "kept name '%s' of %s not restored (max_names, "
                 "max_per_identity or memory)", name, owner);
        veil__relay_persist_unbind(g->node, name);
        return;
    }
    veil__strlcpy(en->name, name, sizeof en->name);
    veil__strlcpy(en->owner, owner, sizeof en->owner);
    veil_route_init(&en->prefix);
    en->held_until = veil_node_now_ms(g->node) + g->hold_ms;
    g->e[g->n++] = en;
    veil_log(VEIL_LOG_INFO, "relay", "name '%s' held for %s until it registers again (at most "
             "%llu ms)", name, owner, (unsigned long long)g->hold_ms);
}

static int restore_all(registry *g)
{
    int rc = veil__relay_persist_load(g->node, restore, g);
    if (rc == 0 && g->n > 0)
        rc = veil_node_timer_add(g->node, g->hold_ms, sweep, g, &g->sweep);
    return rc;
}

static int start_workers(registry *g, const char *address)
{
    veil_context *app = veil_node_context(g->node);
    char fwd[VEIL_ADDRESS_TEXT_MAX];
    snprintf(fwd, sizeof fwd, "%.*s", (int)g->fwd.len, g->fwd.bytes);
    int rc = veil_ctx_start_worker(app, address, &registry_ops, g);
    if (rc < 0)
        return veil_error_wrap(rc, "relay registry at '%s'", address);
    if ((rc = veil_ctx_start_worker(app, fwd, &forward_ops, g)) < 0) {
        if (veil_ctx_stop_worker(app, address) < 0)
            veil_log(VEIL_LOG_DEBUG, "relay", "stop: %s", veil_last_error());
        return veil_error_wrap(rc, "relay forwarder at '%s'", fwd);
    }
    return 0;
}

int veil_relay_registry_start(veil_node *node, const char *address,
                              const veil_relay_registry_options *opts)
{
    if (node == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_relay_registry_start: node must not be NULL");
    bool relay = false;
    int rc = veil_config_get_bool(veil_node_config(node), "node", "relay", false, &relay);
    if (rc < 0)
        return rc;
    if (!relay)
        return veil_error_set(VEIL_EDENIED, "relay registry: this node does not relay ([node] relay "
                              "= false; docs/CONFIG.md)");
    if (registry_of(node) != NULL)
        return veil_error_set(VEIL_EEXIST, "relay registry: one runs on this node already");
    registry *g = calloc(1, sizeof *g);
    if (g == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory starting the relay registry");
    g->node = node;
    if ((rc = configure(g, opts)) < 0 || (rc = veil_node_extension_add(node, EXT, g, destroy)) < 0) {
        registry_free(g);
        return rc;
    }
    if ((rc = veil_node_on_route_lost(node, lost, g)) < 0 || (rc = restore_all(g)) < 0 ||
        (rc = start_workers(g, address != NULL ? address : "relay_registry")) < 0) {
        (void)veil_node_extension_remove(node, EXT); /* frees g */
        return rc;
    }
    return 0;
}

int veil_relay_registry_get_stats(veil_node *node, veil_relay_registry_stats *out)
{
    registry *g = node != NULL ? registry_of(node) : NULL;
    if (g == NULL || out == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "relay registry: none runs on this node");
    *out = g->stats;
    out->names = g->n;
    return 0;
}

int veil_relay_registry_list(veil_node *node, veil_relay_name_fn fn, void *arg)
{
    registry *g = node != NULL ? registry_of(node) : NULL;
    if (g == NULL || fn == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "relay registry: none runs on this node");
    for (unsigned i = 0; i < g->n; i++) {
        char route[VEIL_ADDRESS_TEXT_MAX * 4];
        veil_route_format(&g->e[i]->prefix, route, sizeof route);
        fn(g->e[i]->name, g->e[i]->owner, route, arg);
    }
    return 0;
}
