/* Portal outlets (docs/ARCHITECTURE.md, "Portals"): a worker that dials
 * its target for each stream a trusted channel peer opens.  What an OPEN
 * flood costs is bounded: max_streams streams (one fd and at most
 * VEIL_PORTAL_WINDOW buffered bytes each) and max_dials connects in
 * progress; OPENs past either are answered with RESET and cost nothing. */

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "portal_internal.h"

typedef struct portal_outlet {
    portal_side side;
    struct sockaddr_storage to;
    socklen_t to_len;
    veil_access_control *allow;
    uint32_t max_dials;
} portal_outlet;

static int outlet_handle(veil_context *ctx, void *state, veil_message *msg);
static int outlet_start(veil_context *ctx, void *state);
static void outlet_stop(veil_context *ctx, void *state);
static const veil_worker_ops outlet_ops = {
    .size = sizeof(veil_worker_ops),
    .start = outlet_start,
    .handle_message = outlet_handle,
    .stop = outlet_stop,
};

/* Answer msg (which it takes) with a RESET of stream id. */
static int refuse(portal_outlet *out, veil_context *ctx, veil_message *msg, uint32_t id,
                  const char *why)
{
    uint8_t f[VEIL_PORTAL_HEADER + VEIL_PORTAL_REASON_MAX];
    size_t h = veil_portal_frame_header(f, VEIL_PORTAL_RESET, id, 0, 0); /* its first frame */
    size_t n = strnlen(why, VEIL_PORTAL_REASON_MAX);
    memcpy(f + h, why, n);
    out->side.stats.refused++;
    return veil_ctx_reply_message(ctx, msg, f, h + n);
}

static uint32_t dials(const portal_outlet *out)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < out->side.n; i++)
        n += out->side.streams[i]->connecting && out->side.streams[i]->fd >= 0;
    return n;
}

/* Dial the target for st (queued: fd -1).  On failure st is reset. */
static void start_connect(portal_outlet *out, portal_stream *st)
{
    int one = 1;
    char why[VEIL_PORTAL_REASON_MAX];
    st->fd = socket(out->to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (st->fd >= 0) {
        (void)setsockopt(st->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(st->fd, (struct sockaddr *)&out->to, out->to_len) == 0 ||
            errno == EINPROGRESS) {
            portal_stream_arm(st);
            return;
        }
    }
    snprintf(why, sizeof why, "connect %s: %s", out->side.target, strerror(errno));
    plog(VEIL_LOG_WARN, "outlet %s: stream %u: %s", out->side.name, st->id, why);
    out->side.stats.refused++;
    st->connecting = false;
    portal_stream_reset(st, true, why);
}

static void dial_done(portal_side *side)
{
    portal_outlet *out = (portal_outlet *)side;
    uint32_t busy = dials(out);
    for (uint32_t i = 0; i < side->n && busy < out->max_dials; i++) {
        portal_stream *st = side->streams[i];
        if (st->connecting && st->fd < 0) {
            busy++;
            start_connect(out, st); /* may reset st: the table changed */
            i = (uint32_t)-1;
            busy = dials(out);
        }
    }
}

static int dial(portal_outlet *out, veil_message *msg, uint32_t id)
{
    const veil_local_info *info = veil_message_local_info(msg);
    portal_stream *st;
    int rc = portal_stream_new(&out->side, -1, id, &st);
    if (rc != 0)
        return rc;
    st->channel = info->channel;
    st->connecting = true;
    st->rx_seq = 1; /* the OPEN was 0 */
    st->route = malloc(sizeof *st->route);
    if (st->route == NULL) {
        portal_stream_reset(st, false, "out of memory");
        return veil_error_set(VEIL_ENOMEM, "route");
    }
    st->own_route = true;
    veil_route_copy(st->route, veil_message_return_const(msg));
    if (dials(out) < out->max_dials)
        start_connect(out, st);
    return 0; /* else queued: dial_done starts it */
}

static int on_open(portal_outlet *out, veil_context *ctx, veil_message *msg, uint32_t id,
                   uint32_t seq)
{
    const veil_local_info *info = veil_message_local_info(msg);
    char why[VEIL_PORTAL_REASON_MAX];
    if (seq != 0) { /* a stream's first frame; a later one: its start was lost */
        snprintf(why, sizeof why, "OPEN as frame %u (an OPEN is frame 0)", seq);
        plog(VEIL_LOG_WARN, "outlet %s: stream %u from %s refused: %s", out->side.name, id,
             info->peer_identifier, why);
        return refuse(out, ctx, msg, id, why);
    }
    if (veil_access_control_check(out->allow, info) != 0) {
        plog(VEIL_LOG_WARN, "outlet %s: stream %u from %s refused: not allowed by %s",
             out->side.name, id, info->peer_identifier, veil_access_control_name(out->allow));
        return refuse(out, ctx, msg, id, "refused by the outlet's policy");
    }
    if (portal_stream_find(&out->side, &info->channel, id) != NULL) {
        plog(VEIL_LOG_WARN, "outlet %s: OPEN of stream %u, which is open: dropped",
             out->side.name, id);
        return 0;
    }
    if (out->side.n >= out->side.cap) {
        snprintf(why, sizeof why, "outlet busy (%u streams at most)", out->side.cap);
        plog(VEIL_LOG_WARN, "outlet %s: stream %u from %s refused: %s", out->side.name, id,
             info->peer_identifier, why);
        return refuse(out, ctx, msg, id, why);
    }
    if (dial(out, msg, id) != 0) {
        snprintf(why, sizeof why, "cannot dial %s: %s", out->side.target, veil_last_error());
        plog(VEIL_LOG_WARN, "outlet %s: stream %u: %s", out->side.name, id, why);
        return refuse(out, ctx, msg, id, why);
    }
    return 0;
}

static int outlet_handle(veil_context *ctx, void *state, veil_message *msg)
{
    portal_outlet *out = state;
    veil_portal_frame f;
    size_t len;
    const uint8_t *p = veil_message_payload(msg, &len);
    const veil_local_info *info = veil_message_local_info(msg);
    if (!info->via_channel)
        return 0; /* streams come through secure channels only */
    if (veil_portal_frame_decode(p, len, &f) != 0) {
        plog(VEIL_LOG_WARN, "outlet %s: frame from %s dropped: %s", out->side.name,
             info->peer_identifier, veil_last_error());
        return 0;
    }
    if (f.type == VEIL_PORTAL_OPEN)
        return on_open(out, ctx, msg, f.stream, f.seq);
    portal_stream *st = portal_stream_find(&out->side, &info->channel, f.stream);
    if (st != NULL)
        portal_stream_recv(st, &f);
    return 0;
}

/* A channel closed: its streams are reset at once (their targets see RST). */
static void on_channel_close(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    portal_outlet *out = user; /* its side is first */
    (void)node;
    uint32_t n = portal_side_count(&out->side, ev->channel);
    if (n == 0)
        return;
    plog(VEIL_LOG_INFO, "outlet %s: the channel of %s is gone (%s%s%s): its %u streams reset",
         out->side.name, ev->peer_identifier,
         ev->reason != 0 ? veil_strerror(ev->reason) : "closed locally",
         ev->detail[0] ? ": " : "", ev->detail, n);
    portal_side_reset_channel(&out->side, ev->channel, "the channel is gone");
}

static int outlet_start(veil_context *ctx, void *state)
{
    portal_outlet *out = state;
    out->side.ctx = ctx;
    return portal_side_watch(&out->side, on_channel_close);
}

static void outlet_free(portal_outlet *out)
{
    portal_side_fini(&out->side);
    veil_access_control_free(out->allow);
    free(out);
}

static void outlet_stop(veil_context *ctx, void *state)
{
    (void)ctx;
    outlet_free(state);
}

static int resolve(portal_outlet *out, const char *to)
{
    char host[256], port[8];
    unsigned long p;
    struct addrinfo hints, *res = NULL;
    int rc = portal_split(to, "outlet to", host, sizeof host, &p);
    if (rc != 0)
        return rc;
    snprintf(port, sizeof port, "%lu", p);
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = to[0] == '[' ? AI_NUMERICHOST : 0; /* brackets: an IPv6 literal */
    hints.ai_family = to[0] == '[' ? AF_INET6 : AF_UNSPEC;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0)
        return veil_error_set(VEIL_EIO, "outlet to '%s': %s", to, gai_strerror(gai));
    memcpy(&out->to, res->ai_addr, res->ai_addrlen);
    out->to_len = res->ai_addrlen;
    freeaddrinfo(res);
    snprintf(out->side.target, sizeof out->side.target, "%s", to);
    return 0;
}

int veil_portal_outlet_open(veil_node *node, const veil_portal_outlet_options *o)
{
    if (node == NULL || o == NULL ||
        o->size < VEIL_ABI_SIZE(veil_portal_outlet_options, transport) || o->address == NULL ||
        o->to == NULL || o->policy == NULL) {
        if (o != NULL)
            veil_trust_policy_free(o->policy);
        return veil_error_set(VEIL_EINVAL, "portal outlet: missing option (address, to, "
                                           "policy)");
    }
    portal_outlet *out = calloc(1, sizeof *out);
    if (out == NULL) {
        veil_trust_policy_free(o->policy);
        return veil_error_set(VEIL_ENOMEM, "portal outlet");
    }
    out->max_dials = o->max_dials != 0 ? o->max_dials : VEIL_PORTAL_DIALS_DEFAULT;
    out->side.dial_done = dial_done;
    snprintf(out->side.transport, sizeof out->side.transport, "%s",
             o->transport != NULL ? o->transport : "");
    int rc = veil_access_control_from_trust_policy(o->policy, &out->allow);
    if (rc == 0)
        rc = portal_side_init(&out->side, node, false, o->address,
                              o->max_streams != 0 ? o->max_streams : VEIL_PORTAL_STREAMS_DEFAULT,
                              VEIL_ABI_HAS(o, max_window) ? o->max_window : 0,
                              VEIL_ABI_HAS(o, window_budget) ? o->window_budget : 0);
    if (rc == 0)
        rc = resolve(out, o->to);
    if (rc == 0)
        rc = veil_ctx_start_worker(veil_node_context(node), o->address, &outlet_ops, out);
    if (rc != 0)
        outlet_free(out);
    return rc;
}

static portal_outlet *outlet_at(veil_node *node, const char *address)
{
    veil_address a;
    if (node == NULL || address == NULL || veil_address_parse(&a, address) != 0)
        return NULL;
    return veil_node_worker_state(node, &a, &outlet_ops);
}

int veil_portal_outlet_close(veil_node *node, const char *address)
{
    if (outlet_at(node, address) == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no portal outlet at '%s'",
                              address != NULL ? address : "(null)");
    return veil_ctx_stop_worker(veil_node_context(node), address);
}

int veil_portal_outlet_stats(veil_node *node, const char *address, veil_portal_stats *out)
{
    portal_outlet *o = outlet_at(node, address);
    if (o == NULL || out == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no portal outlet at '%s'",
                              address != NULL ? address : "(null)");
    *out = o->side.stats;
    return 0;
}
