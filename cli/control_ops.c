/* The control socket's requests (docs/CONTROL.md).  Each answer is data
 * lines ("= ...") then one final line: "ok" or "error CODE TEXT".
 * secure-channel-create and message-send are answered from the node's
 * loop when the open completes, the reply comes or the timeout passes. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"
#include "portal.h"

#define OPS_MAX CTL_CLIENTS_MAX
#define SEND_TIMEOUT_MAX 600000u

typedef struct ctl_op {
    bool used;
    bool is_send;
    struct ctl_client *client;    /* NULL once the client went away */
    veil_daemon *d;
    veil_address channel;         /* secure-channel-create */
    char route[CTL_LINE_MAX];
    veil_context *ctx;            /* message-send: the reply worker */
    char reply_addr[VEIL_ADDRESS_TEXT_MAX + 1];
    veil_timer *timer;
} ctl_op;

static ctl_op ops[OPS_MAX];

/* "VEIL_EDENIED" -> "EDENIED": the code's name, for scripts. */
static const char *code_name(int rc)
{
    static const struct { int rc; const char *name; } names[] = {
        { VEIL_EINVAL, "EINVAL" }, { VEIL_ENOROUTE, "ENOROUTE" },
        { VEIL_ETIMEDOUT, "ETIMEDOUT" }, { VEIL_ELIMIT, "ELIMIT" },
        { VEIL_ENOTFOUND, "ENOTFOUND" }, { VEIL_ECONFIG, "ECONFIG" },
        { VEIL_EDENIED, "EDENIED" }, { VEIL_EHANDSHAKE, "EHANDSHAKE" },
        { VEIL_EAUTH, "EAUTH" }, { VEIL_ECLOSED, "ECLOSED" }, { VEIL_EREVOKED, "EREVOKED" },
        { VEIL_EEXPIRED, "EEXPIRED" }, { VEIL_ESTOPPED, "ESTOPPED" }, { VEIL_EBUSY, "EBUSY" },
        { VEIL_EAGAIN, "EAGAIN" }, { VEIL_EEXIST, "EEXIST" }, { VEIL_EUNSUPPORTED, "EUNSUPPORTED" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].rc == rc)
            return names[i].name;
    return "EFAIL";
}

void ctl_reply_error(struct ctl_client *c, int rc)
{
    const char *detail = veil_last_error();
    ctl_reply(c, "error %s %s", code_name(rc), detail[0] != '\0' ? detail : veil_strerror(rc));
}

static ctl_op *op_new(struct ctl_client *c, bool is_send)
{
    for (size_t i = 0; i < OPS_MAX; i++)
        if (!ops[i].used) {
            memset(&ops[i], 0, sizeof ops[i]);
            ops[i].used = true;
            ops[i].is_send = is_send;
            ops[i].client = c;
            ops[i].d = ctl_daemon(c);
            return &ops[i];
        }
    return NULL;
}

void ctl_ops_abandon(struct ctl_client *c)
{
    for (size_t i = 0; i < OPS_MAX; i++)
        if (ops[i].used && ops[i].client == c)
            ops[i].client = NULL;
}

/* ---- status, channel-list, channel-close, connection-list --------------- */

static size_t channel_count(veil_daemon *d)
{
    size_t n = 0;
    veil_channel_stats st;
    for (size_t i = 0; i < DAEMON_CHANNELS_MAX; i++)
        if (d->chans[i].used) {
            if (veil_secure_channel_stats(d->node, &d->chans[i].addr, &st) == 0)
                n++;
            else
                d->chans[i].used = false; /* closed meanwhile (an initiator's channel) */
        }
    return n;
}

/* One line per running listener: veil_secure_channel_listener_stats. */
static void status_listeners(struct ctl_client *c, veil_daemon *d)
{
    veil_listener_stats ls;
    size_t n = veil_config_section_count(d->cfg);
    for (size_t i = 0; i < n; i++) {
        const char *sec = veil_config_section_name(d->cfg, i);
        if (strncmp(sec, "listener.", 9) != 0)
            continue;
        const char *a = veil_config_get(d->cfg, sec, "address");
        if (a == NULL)
            a = sec + 9;
        if (veil_secure_channel_listener_stats(d->node, a, &ls) != 0)
            continue; /* not running (a reload that failed to start it) */
        ctl_reply(c, "= listener %s opened %llu failed %llu pending %u first_messages %llu "
                  "cookies_sent %llu evicted %llu", a, (unsigned long long)ls.opened,
                  (unsigned long long)ls.failed, ls.pending,
                  (unsigned long long)ls.first_messages, (unsigned long long)ls.cookies_sent,
                  (unsigned long long)ls.evicted);
    }
}

static void do_status(struct ctl_client *c, veil_daemon *d)
{
    veil_transport_stats ts = { .size = sizeof ts };
    veil_node_stats ns;
    bool have_ts = veil_node_transport_stats(d->node, "tcp", &ts) == 0;
    veil_node_get_stats(d->node, &ns);
    ctl_reply(c, "= name %s", d->name);
    ctl_reply(c, "= identifier %s", veil_entity_identifier(d->entity));
    ctl_reply(c, "= pid %ld", (long)getpid());
    ctl_reply(c, "= uptime %llu", (unsigned long long)((uint64_t)time(NULL) - d->started));
    ctl_reply(c, "= channels %zu", channel_count(d));
    ctl_reply(c, "= connections %llu", have_ts ? (unsigned long long)ts.connections_open : 0ull);
    ctl_reply(c, "= delivered %llu", (unsigned long long)ns.delivered);
    ctl_reply(c, "= dropped_access %llu", (unsigned long long)ns.dropped_access);
    ctl_reply(c, "= control_requests %llu", (unsigned long long)d->requests);
    status_listeners(c, d);
    ctl_reply(c, "ok");
}

static void do_channel_list(struct ctl_client *c, veil_daemon *d)
{
    char a[VEIL_ADDRESS_TEXT_MAX + 1];
    char state[48];
    veil_channel_stats st;
    unsigned attempts = 0;
    (void)channel_count(d);
    uint64_t now = (uint64_t)time(NULL);
    for (size_t i = 0; i < DAEMON_CHANNELS_MAX; i++) {
        daemon_chan *ch = &d->chans[i];
        if (!ch->used || veil_secure_channel_stats(d->node, &ch->addr, &st) != 0)
            continue;
        veil_address_format(&ch->addr, a, sizeof a);
        if (veil_secure_channel_reconnect_attempts(d->node, &ch->addr, &attempts) == 1)
            snprintf(state, sizeof state, "reconnecting attempts %u", attempts);
        else
            snprintf(state, sizeof state, "open");
        ctl_reply(c, "= %s state %s peer %s role %s key_agreement %s crypto %s age %llu sent %llu "
                  "received %llu bytes_sent %llu bytes_received %llu rekeys %llu dropped %llu",
                  a, state, st.peer_identifier, ch->initiator ? "initiator" : "responder",
                  ch->key_agreement, d->crypto, (unsigned long long)(now - ch->opened),
                  (unsigned long long)st.sent, (unsigned long long)st.received,
                  (unsigned long long)st.bytes_sent, (unsigned long long)st.bytes_received,
                  (unsigned long long)st.rekeys,
                  (unsigned long long)(st.dropped_auth + st.dropped_replay +
                                       st.dropped_oversize + st.dropped_flow));
    }
    ctl_reply(c, "ok");
}

static void do_channel_close(struct ctl_client *c, veil_daemon *d, const char *arg)
{
    veil_address a;
    veil_channel_stats st;
    int rc = veil_address_parse(&a, arg);
    if (rc == 0 && veil_secure_channel_stats(d->node, &a, &st) != 0)
        rc = veil_error_set(VEIL_ENOTFOUND, "no secure channel at '%s'", arg);
    if (rc == 0)
        rc = veil_secure_channel_close(d->node, &a);
    if (rc != 0)
        return ctl_reply_error(c, rc);
    daemon_chan_remove(d, &a);
    dlog(VEIL_LOG_INFO, "channel %s closed by a control request", arg);
    ctl_reply(c, "ok");
}

static void list_conn(const veil_transport_conn_info *info, void *arg)
{
    char a[VEIL_ADDRESS_TEXT_MAX + 1];
    veil_address_format(info->peer, a, sizeof a);
    ctl_reply(arg, "= %s %s %s", a, info->state, info->inbound ? "inbound" : "outbound");
}

static void do_connection_list(struct ctl_client *c, veil_daemon *d)
{
    veil_transport_stats ts = { .size = sizeof ts };
    int rc = veil_node_transport_stats(d->node, "tcp", &ts);
    if (rc != 0)
        return ctl_reply_error(c, rc);
    ctl_reply(c, "= transport tcp open %llu accepted %llu dialed %llu closed %llu bytes_sent "
              "%llu bytes_received %llu", (unsigned long long)ts.connections_open,
              (unsigned long long)ts.connections_accepted,
              (unsigned long long)ts.connections_dialed,
              (unsigned long long)ts.connections_closed, (unsigned long long)ts.bytes_sent,
              (unsigned long long)ts.bytes_received);
    if ((rc = veil_node_transport_connections(d->node, "tcp", list_conn, c)) != 0)
        return ctl_reply_error(c, rc);
    for (size_t i = 0; i < DAEMON_CONNS_MAX; i++)
        if (d->conns[i].used)
            ctl_reply(c, "= %s %s", d->conns[i].peer, d->conns[i].state);
    ctl_reply(c, "ok");
}

/* ---- routes ------------------------------------------------------------- */

/* A route's first hop over tcp is dialed first (auto_connect is off by
 * default): from the loop the dial goes on in the background and what is
 * sent meanwhile waits for it. */
static int parse_route(veil_daemon *d, const char *text, veil_route *r)
{
    veil_address first;
    int rc = veil_route_parse(r, text);
    if (rc == 0 && veil_route_count(r) == 0)
        rc = veil_error_set(VEIL_EINVAL, "empty route");
    if (rc == 0)
        rc = veil_route_get(r, 0, &first);
    if (rc != 0 || first.type != VEIL_ADDRESS_TYPE_TCP)
        return rc != 0 ? veil_error_wrap(rc, "route '%s'", text) : 0;
    rc = veil_node_transport_connect(d->node, "tcp", first.bytes, NULL);
    if (rc == 0) {
        char peer[VEIL_ADDRESS_TEXT_MAX + 1];
        veil_address_format(&first, peer, sizeof peer);
        daemon_conn_forget(d, peer); /* dialed again: no longer lost */
    }
    return rc;
}

/* ---- secure-channel-create TRUST ROUTE ---------------------------------- */

static void open_done(veil_node *node, int rc, const veil_address *channel, const char *detail,
                      void *user)
{
    ctl_op *op = user;
    veil_channel_stats st;
    char a[VEIL_ADDRESS_TEXT_MAX + 1];
    (void)detail;
    if (rc == 0) {
        veil_address_format(channel, a, sizeof a);
        (void)daemon_chan_add(op->d, channel, true, op->d->key_agreement, op->route);
        if (veil_secure_channel_stats(node, channel, &st) != 0)
            st.peer_identifier[0] = '\0';
        dlog(VEIL_LOG_INFO, "channel %s opened to %s (%s)", a, st.peer_identifier, op->route);
        if (op->client != NULL) {
            ctl_reply(op->client, "= channel %s", a);
            ctl_reply(op->client, "= peer %s", st.peer_identifier);
            ctl_reply(op->client, "ok");
        }
    } else {
        dlog(VEIL_LOG_WARN, "channel to %s: %s", op->route, veil_last_error());
        if (op->client != NULL)
            ctl_reply_error(op->client, rc);
    }
    struct ctl_client *c = op->client;
    op->used = false;
    if (c != NULL)
        ctl_done(c);
}

/* A resilient channel's events, one log line each (no key material). */
static void chan_event(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    veil_daemon *d = user;
    char a[VEIL_ADDRESS_TEXT_MAX + 1];
    (void)node;
    veil_address_format(ev->channel, a, sizeof a);
    if (ev->kind == VEIL_SECURE_CHANNEL_RECONNECTING)
        dlog(VEIL_LOG_WARN, "channel %s reconnecting to %s: %s: %s", a, ev->peer_identifier,
             code_name(ev->reason), ev->detail);
    else if (ev->kind == VEIL_SECURE_CHANNEL_OPENED)
        dlog(VEIL_LOG_INFO, "channel %s open again to %s", a, ev->peer_identifier);
    else if (ev->kind == VEIL_SECURE_CHANNEL_CLOSED) {
        dlog(VEIL_LOG_INFO, "channel %s closed: %s%s%s", a,
             ev->reason != 0 ? code_name(ev->reason) : "closed locally",
             ev->detail[0] ? ": " : "", ev->detail);
        daemon_chan_remove(d, ev->channel);
    }
}

static bool do_create(struct ctl_client *c, veil_daemon *d, char *args)
{
    veil_route r;
    veil_trust_policy *p = NULL;
    veil_secure_channel_options so = { .size = sizeof so, .on_event = chan_event, .user = d };
    bool by_config = false;
    if (strncmp(args, "--resilient ", 12) == 0) {
        so.resilient = true;
        args += 12;
    } else if (veil_config_get_bool(veil_node_config(d->node), "secure_channel", "resilient",
                                    false, &by_config) == 0) {
        so.resilient = by_config;
    }
    char *route = strchr(args, ' ');
    if (route == NULL)
        return ctl_reply_error(c, veil_error_set(VEIL_EINVAL, "usage: secure-channel-create TRUST "
                                                          "ROUTE")), false;
    *route++ = '\0';
    ctl_op *op = op_new(c, false);
    if (op == NULL)
        return ctl_reply_error(c, veil_error_set(VEIL_EBUSY, "too many pending requests")), false;
    snprintf(op->route, sizeof op->route, "%s", route);
    int rc = parse_route(d, route, &r);
    if (rc == 0 && strcmp(args, "-") == 0 && !veil_config_has_section(veil_node_config(d->node),
                                                                      "policy"))
        rc = veil_error_set(VEIL_EINVAL, "no trust given (--trust IDENTIFIER) and no [policy] "
                                         "in the daemon's configuration");
    if (rc == 0)
        rc = daemon_trust_policy(d->node, strcmp(args, "-") == 0 ? "policy" : args, &p);
    if (rc == 0)
        rc = veil_secure_channel_open_async_with(d->entity, &r, p, &so, open_done, op,
                                                 &op->channel);
    if (rc != 0) {
        op->used = false;
        ctl_reply_error(c, rc);
        return false;
    }
    return true;
}

/* ---- message-send TIMEOUT_MS ROUTE TEXT ---------------------------------- */

static void send_finish(ctl_op *op)
{
    struct ctl_client *c = op->client;
    if (op->timer != NULL)
        veil_node_timer_cancel(op->timer);
    if (veil_ctx_stop_worker(op->d->app, op->reply_addr) != 0)
        dlog(VEIL_LOG_WARN, "stopping %s: %s", op->reply_addr, veil_last_error());
    op->used = false;
    if (c != NULL)
        ctl_done(c);
}

static int reply_handle(veil_context *ctx, void *state, veil_message *msg)
{
    ctl_op *op = state;
    size_t len;
    const uint8_t *data = veil_message_payload(msg, &len);
    (void)ctx;
    if (!op->used || op->ctx == NULL)
        return 0;
    if (op->client != NULL) {
        char text[CTL_LINE_MAX];
        size_t n = 0;
        for (size_t i = 0; i < len && n + 5 < sizeof text; i++) /* printable, \xHH otherwise */
            n += (size_t)(data[i] >= 0x20 && data[i] < 0x7f && data[i] != '\\'
                              ? snprintf(text + n, sizeof text - n, "%c", data[i])
                              : snprintf(text + n, sizeof text - n, "\\x%02x", data[i]));
        text[n] = '\0';
        ctl_reply(op->client, "= %s", text);
        ctl_reply(op->client, "ok");
    }
    send_finish(op);
    return 0;
}

static int reply_start(veil_context *ctx, void *state)
{
    ((ctl_op *)state)->ctx = ctx;
    return 0;
}

static const veil_worker_ops reply_ops = {
    .size = sizeof(veil_worker_ops),
    .start = reply_start,
    .handle_message = reply_handle,
};

static void send_timeout(veil_node *node, void *arg)
{
    ctl_op *op = arg;
    (void)node;
    op->timer = NULL;
    if (op->client != NULL)
        ctl_reply(op->client, "error ETIMEDOUT no reply from %s in time", op->route);
    send_finish(op);
}

static int start_send(veil_daemon *d, ctl_op *op, unsigned long ms, const char *route,
                      const char *text)
{
    veil_route r;
    veil_address a;
    int rc = parse_route(d, route, &r);
    if (rc == 0)
        rc = veil_address_random(&a, "ctl_reply_");
    if (rc != 0)
        return rc;
    veil_address_format(&a, op->reply_addr, sizeof op->reply_addr);
    if ((rc = veil_ctx_start_worker(d->app, op->reply_addr, &reply_ops, op)) != 0)
        return rc;
    rc = veil_node_timer_add(d->node, ms, send_timeout, op, &op->timer);
    if (rc == 0)
        rc = veil_ctx_send(op->ctx, &r, text, strlen(text));
    if (rc != 0) {
        if (op->timer != NULL)
            veil_node_timer_cancel(op->timer);
        if (veil_ctx_stop_worker(d->app, op->reply_addr) != 0)
            dlog(VEIL_LOG_WARN, "stopping %s: %s", op->reply_addr, veil_last_error());
    }
    return rc;
}

static bool do_send(struct ctl_client *c, veil_daemon *d, char *args)
{
    char *end, *route = strchr(args, ' '), *text = NULL;
    if (route != NULL) {
        *route++ = '\0';
        text = strchr(route, ' ');
    }
    if (text == NULL)
        return ctl_reply_error(c, veil_error_set(VEIL_EINVAL, "usage: message-send TIMEOUT_MS "
                                                          "ROUTE TEXT")), false;
    *text++ = '\0';
    errno = 0;
    unsigned long ms = strtoul(args, &end, 10);
    if (*end != '\0' || errno != 0 || ms == 0 || ms > SEND_TIMEOUT_MAX)
        return ctl_reply_error(c, veil_error_set(VEIL_EINVAL, "timeout '%s': not 1..%u ms", args,
                                             SEND_TIMEOUT_MAX)), false;
    ctl_op *op = op_new(c, true);
    if (op == NULL)
        return ctl_reply_error(c, veil_error_set(VEIL_EBUSY, "too many pending requests")), false;
    snprintf(op->route, sizeof op->route, "%s", route);
    int rc = start_send(d, op, ms, route, text);
    if (rc != 0) {
        op->used = false;
        ctl_reply_error(c, rc);
        return false;
    }
    return true;
}

/* ---- dispatch ----------------------------------------------------------- */

bool ctl_dispatch(struct ctl_client *c, char *line)
{
    veil_daemon *d = ctl_daemon(c);
    int rc = 0;
    char *args = strchr(line, ' ');
    if (args != NULL)
        *args++ = '\0';
    if (strcmp(line, "status") == 0 && args == NULL)
        do_status(c, d);
    else if (strcmp(line, "channel-list") == 0 && args == NULL)
        do_channel_list(c, d);
    else if (strcmp(line, "connection-list") == 0 && args == NULL)
        do_connection_list(c, d);
    else if (strcmp(line, "channel-close") == 0 && args != NULL)
        do_channel_close(c, d, args);
    else if (strcmp(line, "secure-channel-create") == 0 && args != NULL)
        return do_create(c, d, args);
    else if (strcmp(line, "message-send") == 0 && args != NULL)
        return do_send(c, d, args);
    else if (strncmp(line, "relay-", 6) == 0 && relay_dispatch(c, d, line, args, &rc)) {
        if (rc < 0)
            ctl_reply_error(c, rc);
    } else if (strncmp(line, "tcp-", 4) == 0)
        return portal_dispatch(c, d, line, args);
    else
        ctl_reply(c, "error EINVAL unknown request '%.64s'%s (see docs/CONTROL.md)", line,
                  args != NULL ? " or wrong arguments" : "");
    return false;
}
