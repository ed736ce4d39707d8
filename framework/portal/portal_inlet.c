/* Portal inlets (docs/ARCHITECTURE.md, "Portals"): a TCP listener whose
 * connections become streams through one secure channel to an outlet.
 * The channel opens with the first connection and again after it died;
 * connections accepted meanwhile wait (without being read) for it. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <veil/transport.h>

#include "portal_internal.h"

enum { CH_NONE, CH_OPENING, CH_OPEN, CH_HEALING };

typedef struct portal_inlet {
    portal_side side;
    int lfd;
    veil_watch *lwatch;
    veil_route to;          /* to the outlet node's listener */
    veil_address outlet;
    veil_entity *entity;
    veil_portal_policy_fn policy;
    void *policy_user;
    int ch;                 /* CH_* */
    veil_address channel;   /* while CH_OPENING: the pending open's handle */
    veil_route route;       /* [channel, outlet] */
    uint32_t next_id;
    bool resilient;         /* its channel heals */
} portal_inlet;

static int inlet_handle(veil_context *ctx, void *state, veil_message *msg);
static int inlet_start(veil_context *ctx, void *state);
static void inlet_stop(veil_context *ctx, void *state);
static const veil_worker_ops inlet_ops = {
    .size = sizeof(veil_worker_ops),
    .start = inlet_start,
    .handle_message = inlet_handle,
    .stop = inlet_stop,
};

/* ---- the channel ------------------------------------------------------- */

static void stream_go(portal_inlet *in, portal_stream *st)
{
    st->channel = in->channel;
    st->route = &in->route;
    if (portal_send_ctl(st, VEIL_PORTAL_OPEN, 0, NULL) != 0)
        portal_stream_reset(st, false, "the channel is gone");
    else
        portal_stream_arm(st);
}

static void channel_done(veil_node *node, int rc, const veil_address *channel,
                         const char *detail, void *user)
{
    portal_inlet *in = user;
    (void)node;
    if (rc != 0) {
        plog(VEIL_LOG_WARN, "inlet %s: channel to the outlet failed: %s%s%s", in->side.name,
             veil_strerror(rc), detail != NULL && detail[0] ? ": " : "",
             detail != NULL ? detail : "");
        in->ch = CH_NONE;
        memset(&in->channel, 0, sizeof in->channel);
        portal_side_reset_channel(&in->side, NULL, "no channel to the outlet");
        return;
    }
    in->ch = CH_OPEN;
    in->channel = *channel;
    veil_route_init(&in->route);
    if (veil_route_append(&in->route, channel) != 0 ||
        veil_route_append(&in->route, &in->outlet) != 0) {
        portal_side_reset_channel(&in->side, NULL, "route too long");
        return;
    }
    char a[VEIL_ADDRESS_TEXT_MAX + 1];
    veil_address_format(channel, a, sizeof a);
    plog(VEIL_LOG_INFO, "inlet %s: channel %s to the outlet open", in->side.name, a);
    for (uint32_t i = in->side.n; i-- > 0;)
        if (i < in->side.n && in->side.streams[i]->route == NULL)
            stream_go(in, in->side.streams[i]);
}

/* The first hop of the route, dialed by the transport named in dial. */
static int dial_first(portal_inlet *in)
{
    veil_address first;
    char a[VEIL_ADDRESS_TEXT_MAX + 1];
    if (in->side.transport[0] == '\0' || veil_route_get(&in->to, 0, &first) != 0 ||
        first.type == VEIL_ADDRESS_TYPE_LOCAL)
        return 0;
    veil_address_format(&first, a, sizeof a);
    const char *where = strchr(a, '#');
    return veil_node_transport_connect(in->side.node, in->side.transport, where != NULL ? where + 1 : a,
                                       NULL);
}

/* A resilient channel opened again, or gave up (RECONNECTING comes to
 * on_channel_close, as every channel's close does). */
static void on_channel_event(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    portal_inlet *in = user;
    char a[VEIL_ADDRESS_TEXT_MAX + 1];
    (void)node;
    if (!veil_address_equal(ev->channel, &in->channel))
        return;
    veil_address_format(&in->channel, a, sizeof a);
    if (ev->kind == VEIL_SECURE_CHANNEL_OPENED && in->ch == CH_HEALING) {
        plog(VEIL_LOG_INFO, "inlet %s: channel %s to the outlet open again", in->side.name, a);
        in->ch = CH_OPEN;
        for (uint32_t i = in->side.n; i-- > 0;)
            if (i < in->side.n && in->side.streams[i]->route == NULL)
                stream_go(in, in->side.streams[i]);
    } else if (ev->kind == VEIL_SECURE_CHANNEL_CLOSED && in->ch != CH_NONE) {
        plog(ev->reason == VEIL_ESTOPPED ? VEIL_LOG_INFO : VEIL_LOG_WARN,
             "inlet %s: channel %s closed (%s%s%s): its %u streams reset",
             in->side.name, a, ev->reason != 0 ? veil_strerror(ev->reason) : "closed locally",
             ev->detail[0] ? ": " : "", ev->detail, in->side.n);
        in->ch = CH_NONE;
        portal_side_reset_channel(&in->side, NULL, "no channel to the outlet");
    }
}

static int channel_open(portal_inlet *in)
{
    veil_trust_policy *p = NULL;
    veil_secure_channel_options co = { .size = sizeof co, .resilient = in->resilient,
                                       .on_event = on_channel_event, .user = in };
    int rc = dial_first(in);
    if (rc == 0)
        rc = in->policy(in->side.node, in->policy_user, &p);
    if (rc == 0)
        rc = in->resilient ? veil_secure_channel_open_async_with(in->entity, &in->to, p, &co,
                                                                 channel_done, in, &in->channel)
                           : veil_secure_channel_open_async(in->entity, &in->to, p, channel_done,
                                                            in, &in->channel);
    if (rc != 0) {
        plog(VEIL_LOG_WARN, "inlet %s: cannot open a channel: %s", in->side.name,
             veil_last_error());
        return rc;
    }
    in->ch = CH_OPENING;
    return 0;
}

/* The node's channel closes: ours takes its streams with it, at once. */
static void on_channel_close(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    portal_inlet *in = user; /* its side is first */
    char a[VEIL_ADDRESS_TEXT_MAX + 1];
    (void)node;
    if (in->ch != CH_OPEN || !veil_address_equal(ev->channel, &in->channel))
        return;
    veil_address_format(&in->channel, a, sizeof a);
    if (ev->kind == VEIL_SECURE_CHANNEL_RECONNECTING) {
        /* The old session's bytes in flight are gone: a stream cannot go
         * on where it was.  New connections wait for the heal. */
        plog(VEIL_LOG_WARN, "inlet %s: channel %s reconnecting (%s: %s): its %u streams reset",
             in->side.name, a, veil_strerror(ev->reason), ev->detail, in->side.n);
        in->ch = CH_HEALING;
        portal_side_reset_channel(&in->side, &in->channel, "the channel is reconnecting");
        return;
    }
    plog(ev->reason == VEIL_ESTOPPED ? VEIL_LOG_INFO : VEIL_LOG_WARN, /* a node stop is no news */
         "inlet %s: channel %s is gone (%s%s%s): its %u streams reset",
         in->side.name, a, ev->reason != 0 ? veil_strerror(ev->reason) : "closed locally",
         ev->detail[0] ? ": " : "", ev->detail, in->side.n);
    in->ch = CH_NONE;
    portal_side_reset_channel(&in->side, &in->channel, "the channel is gone");
}

/* ---- accepting ----------------------------------------------------------- */

static void take(portal_inlet *in, int fd)
{
    portal_stream *st;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (portal_stream_new(&in->side, fd, in->next_id, &st) != 0) {
        struct linger l = { 1, 0 };
        plog(VEIL_LOG_WARN, "inlet %s: connection refused: %s", in->side.name,
             veil_last_error());
        in->side.stats.refused++;
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close(fd);
        return;
    }
    in->next_id = in->next_id == UINT32_MAX ? 1 : in->next_id + 1;
    if (in->ch == CH_OPEN)
        stream_go(in, st);
    else if (in->ch == CH_NONE && channel_open(in) != 0)
        portal_stream_reset(st, false, "cannot open a channel");
}

static void on_accept(veil_node *node, int fd, uint32_t events, void *arg)
{
    portal_inlet *in = arg;
    (void)node;
    (void)events;
    for (int i = 0; i < 64; i++) {
        int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                plog(VEIL_LOG_WARN, "inlet %s: accept: %s", in->side.name, strerror(errno));
            return;
        }
        take(in, c);
    }
}

/* ---- the worker ------------------------------------------------------------ */

static int inlet_handle(veil_context *ctx, void *state, veil_message *msg)
{
    portal_inlet *in = state;
    veil_portal_frame f;
    size_t len;
    const uint8_t *p = veil_message_payload(msg, &len);
    const veil_local_info *info = veil_message_local_info(msg);
    (void)ctx;
    if (in->ch != CH_OPEN || !info->via_channel ||
        !veil_address_equal(&info->channel, &in->channel))
        return 0; /* not from our channel: dropped */
    if (veil_portal_frame_decode(p, len, &f) != 0) {
        plog(VEIL_LOG_WARN, "inlet %s: frame dropped: %s", in->side.name, veil_last_error());
        return 0;
    }
    portal_stream *st = portal_stream_find(&in->side, &in->channel, f.stream);
    if (st != NULL)
        portal_stream_recv(st, &f);
    return 0;
}

static int inlet_start(veil_context *ctx, void *state)
{
    portal_inlet *in = state;
    in->side.ctx = ctx;
    int rc = veil_node_watch_add(in->side.node, in->lfd, VEIL_WATCH_READ, on_accept, in,
                                 &in->lwatch);
    if (rc == 0)
        rc = portal_side_watch(&in->side, on_channel_close);
    return rc;
}

static void inlet_free(portal_inlet *in)
{
    if (in->ch == CH_OPENING && veil_secure_channel_open_cancel(in->side.node, &in->channel) != 0)
        plog(VEIL_LOG_DEBUG, "inlet %s: no open to cancel", in->side.name);
    if (in->resilient && (in->ch == CH_OPEN || in->ch == CH_HEALING)) {
        in->ch = CH_NONE; /* its events point at us: they end with this close */
        if (veil_secure_channel_close(in->side.node, &in->channel) != 0)
            plog(VEIL_LOG_DEBUG, "inlet %s: closing its channel: %s", in->side.name,
                 veil_last_error());
    }
    portal_side_fini(&in->side);
    if (in->lwatch != NULL)
        veil_node_watch_remove(in->lwatch);
    if (in->lfd >= 0)
        close(in->lfd);
    free(in);
}

static void inlet_stop(veil_context *ctx, void *state)
{
    (void)ctx;
    inlet_free(state);
}

/* ---- open / close ------------------------------------------------------- */

static int listen_on(portal_inlet *in, const char *from)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int one = 1, rc = portal_parse_numeric(from, &ss, &sl);
    if (rc != 0)
        return rc;
    in->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (in->lfd < 0)
        return veil_error_set(VEIL_EIO, "inlet %s: socket: %s", in->side.name, strerror(errno));
    (void)setsockopt(in->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6) /* [::]:PORT is IPv6 only, whatever the sysctl says */
        (void)setsockopt(in->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(in->lfd, (struct sockaddr *)&ss, sl) != 0 || listen(in->lfd, 512) != 0 ||
        getsockname(in->lfd, (struct sockaddr *)&ss, &sl) != 0)
        return veil_error_set(VEIL_EIO, "inlet %s: listen on %s: %s", in->side.name, from,
                              strerror(errno));
    in->side.stats.port = ntohs(ss.ss_family == AF_INET6
                                    ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                    : ((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

int veil_portal_inlet_open(veil_node *node, const veil_portal_inlet_options *o)
{
    if (node == NULL || o == NULL ||
        o->size < VEIL_ABI_SIZE(veil_portal_inlet_options, resilient) || o->address == NULL ||
        o->from == NULL || o->route == NULL || o->outlet == NULL || o->entity == NULL ||
        o->policy == NULL)
        return veil_error_set(VEIL_EINVAL, "portal inlet: missing option (address, from, "
                                           "route, outlet, entity, policy)");
    portal_inlet *in = calloc(1, sizeof *in);
    if (in == NULL)
        return veil_error_set(VEIL_ENOMEM, "portal inlet");
    in->lfd = -1;
    in->next_id = 1;
    in->entity = o->entity;
    in->policy = o->policy;
    in->policy_user = o->policy_user;
    bool by_config = false; /* [secure_channel] resilient makes every channel heal */
    if (veil_config_get_bool(veil_node_config(node), "secure_channel", "resilient", false,
                             &by_config) != 0)
        by_config = false; /* the channel's open reports the bad value */
    in->resilient = o->resilient || by_config;
    veil_route_copy(&in->to, o->route);
    int rc = veil_address_parse(&in->outlet, o->outlet);
    if (rc == 0)
        rc = portal_side_init(&in->side, node, true, o->address,
                              o->max_streams != 0 ? o->max_streams : VEIL_PORTAL_STREAMS_DEFAULT,
                              VEIL_ABI_HAS(o, max_window) ? o->max_window : 0,
                              VEIL_ABI_HAS(o, window_budget) ? o->window_budget : 0);
    if (rc == 0)
        snprintf(in->side.transport, sizeof in->side.transport, "%s",
                 o->transport != NULL ? o->transport : "");
    if (rc == 0)
        rc = listen_on(in, o->from);
    if (rc == 0)
        rc = veil_ctx_start_worker(veil_node_context(node), o->address, &inlet_ops, in);
    if (rc != 0)
        inlet_free(in); /* the worker did not start: its stop never runs */
    return rc;
}

static portal_inlet *inlet_at(veil_node *node, const char *address)
{
    veil_address a;
    if (node == NULL || address == NULL || veil_address_parse(&a, address) != 0)
        return NULL;
    return veil_node_worker_state(node, &a, &inlet_ops);
}

int veil_portal_inlet_close(veil_node *node, const char *address)
{
    if (inlet_at(node, address) == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no portal inlet at '%s'",
                              address != NULL ? address : "(null)");
    return veil_ctx_stop_worker(veil_node_context(node), address);
}

int veil_portal_inlet_stats(veil_node *node, const char *address, veil_portal_stats *out)
{
    portal_inlet *in = inlet_at(node, address);
    if (in == NULL || out == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no portal inlet at '%s'",
                              address != NULL ? address : "(null)");
    *out = in->side.stats;
    return 0;
}
