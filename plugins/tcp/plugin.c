/* The tcp transport plugin: descriptor, [transport.NAME] configuration,
 * one instance per node (router registration for address type 1, the
 * prepoll flush, the deadline timer), and the listen/connect/stats ops.
 *
 * Sending: the router hands a message whose next hop is "1#host:port" to
 * tcp_route() at send time.  The hop is popped, the rest of the message is
 * framed into that connection's send queue (opening the connection first
 * when none exists and auto_connect is on), and the frames a loop round
 * queued are written with one send() per connection just before the loop
 * polls.  The sender's call returns the outcome it can know now: a bad
 * address, a refused dial, a full queue (VEIL_EAGAIN).  What happens later
 * (refused connect, reset, timeout) is logged and reported to route-lost
 * subscribers (veil_node_on_route_lost).  docs/PLUGINS.md has the whole
 * policy. */
#include "tcp.h"

#include <veil/error.h>

#include <stdio.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_FRAME (VEIL_PAYLOAD_MAX + 4096u)
#define DEFAULT_SEND_QUEUE_MAX (4u << 20)
#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_FRAME_TIMEOUT_MS 30000
#define DEFAULT_PREAMBLE_TIMEOUT_MS 5000
#define DEFAULT_MAX_CONNECTIONS 4096
/* About 64 frames of the default max_frame arriving at once, beyond the
 * 16 KiB every connection reads into (docs/PROTOCOL.md, "Security properties and
 * limits"). */
#define DEFAULT_PARTIAL_FRAME_BUDGET (64ll << 20)

/* ---- configuration ------------------------------------------------------ */

static const char *const config_keys[] = {
    "max_frame", "send_queue_max", "auto_connect", "keepalive", "connect_timeout",
    "frame_timeout", "max_connections", "partial_frame_budget", "preamble_timeout", "listen",
    "listen_backlog", NULL,
};

/* The kernel's cap on a listen backlog (net.core.somaxconn), else
 * SOMAXCONN: the default backlog, so a burst of connects waits in the
 * kernel instead of being refused or timing out. */
static long long somaxconn(void)
{
    long long n = 0;
    FILE *f = fopen("/proc/sys/net/core/somaxconn", "re");
    if (f != NULL) {
        if (fscanf(f, "%lld", &n) != 1)
            n = 0;
        fclose(f);
    }
    return n >= 1 && n <= 65535 ? n : SOMAXCONN;
}

static int read_config(const veil_config_scope *s, tcp_config *c)
{
    long long v[9];
    bool ac;
    int rc = veil_config_scope_get_int(s, "max_frame", DEFAULT_MAX_FRAME, TCP_FRAME_MIN_MAX,
                                       TCP_FRAME_MAX_MAX, &v[0]);
    if (rc == 0)
        rc = veil_config_scope_get_int(s, "send_queue_max", DEFAULT_SEND_QUEUE_MAX,
                                       TCP_FRAME_MIN_MAX, 1ll << 32, &v[1]);
    if (rc == 0)
        rc = veil_config_scope_get_bool(s, "auto_connect", false, &ac);
    if (rc == 0)
        rc = veil_config_scope_get_int(s, "keepalive", 0, 0, 86400, &v[2]);
    if (rc == 0)
        rc = veil_config_scope_get_int(s, "connect_timeout", DEFAULT_CONNECT_TIMEOUT_MS, 1,
                                       3600000, &v[3]);
    if (rc == 0)
        rc = veil_config_scope_get_int(s, "frame_timeout", DEFAULT_FRAME_TIMEOUT_MS, 1, 3600000,
                                       &v[4]);
    if (rc == 0)
        rc = veil_config_scope_get_int(s, "max_connections", DEFAULT_MAX_CONNECTIONS, 1, 1 << 20,
                                       &v[5]);
    if (rc == 0)
        rc = veil_config_scope_get_int(s, "partial_frame_budget", DEFAULT_PARTIAL_FRAME_BUDGET, 0,
                                       1ll << 40, &v[6]);
    if (rc == 0)
        rc = veil_config_scope_get_int(s, "preamble_timeout", DEFAULT_PREAMBLE_TIMEOUT_MS, 1,
                                       3600000, &v[7]);
    if (rc == 0)
        rc = veil_config_scope_get_int(s, "listen_backlog", somaxconn(), 1, 65535, &v[8]);
    if (rc < 0)
        return rc;
    /* The default queue holds several full frames; a smaller max_frame
     * keeps the default unless the queue is set too. */
    if ((unsigned long long)v[1] < (unsigned long long)v[0] + TCP_FRAME_HEADER)
        return veil_error_set(VEIL_ECONFIG, "[%s] send_queue_max (%lld) must hold one frame: "
                              "at least max_frame + 4 (%lld)", s->section, v[1],
                              v[0] + (long long)TCP_FRAME_HEADER);
    /* One frame of max_frame must always fit, or it could never arrive
     * (its buffer: the frame and a base buffer, tcp_frame.c). */
    size_t one = tcp_budget_charge((size_t)v[0] + TCP_FRAME_HEADER + TCP_READER_BASE);
    if ((unsigned long long)v[6] < one)
        return veil_error_set(VEIL_ECONFIG, "[%s] partial_frame_budget (%lld) must hold one "
                              "frame: at least max_frame + 4 (%zu)", s->section, v[6], one);
    c->max_frame = (size_t)v[0];
    c->send_queue_max = (size_t)v[1];
    c->auto_connect = ac;
    c->keepalive_s = (int)v[2];
    c->connect_timeout_ms = (int)v[3];
    c->frame_timeout_ms = (int)v[4];
    c->max_connections = (size_t)v[5];
    c->partial_frame_budget = (size_t)v[6];
    c->preamble_timeout_ms = (int)v[7];
    c->listen_backlog = (int)v[8];
    return 0;
}

/* ---- deadlines ---------------------------------------------------------- */

/* Connect, preamble and frame deadlines of every connection. */
void tcp_conn_check_timeouts(tcp_inst *inst, uint64_t now)
{
    tcp_conn *c = inst->conns;
    while (c != NULL) {
        tcp_conn *next = c->next;
        if ((c->state == TCP_CONNECTING || c->state == TCP_RESOLVING) &&
            now >= c->deadline_ms) {
            inst->stats.timeouts++;
            tcp_conn_fail(c, VEIL_ETIMEDOUT, VEIL_LOG_WARN, "connect timed out after %d ms "
                          "(connect_timeout)", inst->cfg.connect_timeout_ms);
        } else if (c->state == TCP_OPEN && !c->preamble_ok && now >= c->deadline_ms) {
            inst->stats.timeouts++;
            tcp_conn_fail(c, VEIL_ETIMEDOUT, VEIL_LOG_WARN, "no veil-tcp preamble from the peer "
                          "within %d ms (preamble_timeout; %zu of its %u bytes received): not "
                          "a veil node?", inst->cfg.preamble_timeout_ms,
                          tcp_frame_reader_partial(&c->rd), TCP_PREAMBLE_LEN);
        } else if (c->state == TCP_OPEN && c->frame_start_ms != 0 && !c->held &&
                   now - c->frame_start_ms >= (uint64_t)inst->cfg.frame_timeout_ms) {
            inst->stats.timeouts++;
            tcp_conn_fail(c, VEIL_ETIMEDOUT, VEIL_LOG_WARN, "incomplete frame (%zu of %zu bytes) "
                          "stalled for %d ms (frame_timeout)", tcp_frame_reader_partial(&c->rd),
                          TCP_FRAME_HEADER + tcp_frame_reader_expected(&c->rd),
                          inst->cfg.frame_timeout_ms);
        }
        c = next;
    }
}


static void tick(veil_node *node, void *arg)
{
    tcp_inst *inst = arg;
    inst->tick = NULL;
    tcp_conn_check_timeouts(inst, veil_node_now_ms(node));
    tcp_conn_reap(inst);
    tcp_inst_arm_tick(inst);
}

/* One timer per instance while connections exist (not one per frame):
 * a quarter of the shortest timeout, between 5 ms and 1 s. */
void tcp_inst_arm_tick(tcp_inst *inst)
{
    if (inst->tick != NULL || inst->nconns == 0)
        return;
    int t = inst->cfg.connect_timeout_ms < inst->cfg.frame_timeout_ms
                ? inst->cfg.connect_timeout_ms : inst->cfg.frame_timeout_ms;
    if (inst->cfg.preamble_timeout_ms < t)
        t = inst->cfg.preamble_timeout_ms;
    t /= 4;
    if (t < 5)
        t = 5;
    if (t > 1000)
        t = 1000;
    if (veil_node_timer_add(inst->node, (uint64_t)t, tick, inst, &inst->tick) < 0)
        inst->tick = NULL; /* out of memory: deadlines wait for the next arm */
}

/* ---- the loop's side ---------------------------------------------------- */

static void prepoll(veil_node *node, void *arg)
{
    tcp_inst *inst = arg;
    (void)node;
    inst->round++;
    tcp_conn_backlog_run(inst);
    /* Subscribers told about a failure may queue more: a few passes. */
    for (int pass = 0; pass < 4 && (inst->dirty != NULL || inst->dead != NULL || inst->resume);
         pass++) {
        if (inst->resume) /* a send queue drained: held frames first */
            tcp_conn_held_retry(inst);
        while (inst->dirty != NULL) {
            tcp_conn *c = inst->dirty;
            inst->dirty = c->next_dirty;
            c->dirty = false;
            c->next_dirty = NULL;
            tcp_conn_flush(c);
        }
        tcp_conn_reap(inst);
    }
}

/* A frame to the connection named by onward's first address (popped):
 * what the router hands us as a message, and what the node forwards
 * without one (veil_node_forward_frame; the payload is borrowed). */
static int route_frame(void *arg, veil_route *onward, const veil_route *ret,
                       const uint8_t *payload, size_t plen)
{
    tcp_inst *inst = arg;
    uint8_t type;
    const uint8_t *bytes;
    size_t len;
    if (!veil_route_front(onward, &type, &bytes, &len) || type != VEIL_ADDRESS_TYPE_TCP)
        return veil_error_set(VEIL_EINVAL, "tcp: message without a tcp next hop");
    tcp_conn *c = tcp_conn_find(inst, bytes, len);
    if (veil_route_count(onward) < 2)
        return veil_error_set(VEIL_EINVAL, "tcp: route ends at 1#%.*s: the peer needs an address "
                              "after it to deliver to", (int)len, (const char *)bytes);
    if (c == NULL && !inst->cfg.auto_connect)
        return veil_error_set(VEIL_ENOROUTE, "tcp: no connection to 1#%.*s and auto_connect is "
                              "off", (int)len, (const char *)bytes);
    int rc = c == NULL ? tcp_conn_dial(inst, (const char *)bytes, len, &c) : 0;
    if (rc == 0)
        rc = veil_route_pop_front(onward, NULL);
    if (rc == 0)
        rc = tcp_conn_queue(c, onward, ret, payload, plen);
    return rc;
}

static int tcp_route(void *arg, veil_message *msg)
{
    size_t plen;
    const uint8_t *payload = veil_message_payload(msg, &plen);
    int rc = route_frame(arg, veil_message_onward(msg), veil_message_return_const(msg), payload,
                         plen);
    veil_message_free(msg);
    return rc;
}

/* ---- instances ---------------------------------------------------------- */

static void instance_free(void *p)
{
    tcp_inst *inst = p;
    if (inst == NULL)
        return;
    veil_node_unregister_transport(inst->node, VEIL_ADDRESS_TYPE_TCP);
    veil_node_prepoll_remove(inst->node, prepoll, inst);
    if (inst->tick != NULL)
        veil_node_timer_cancel(inst->tick);
    if (inst->held_timer != NULL)
        veil_node_timer_cancel(inst->held_timer);
    inst->held_timer = NULL;
    tcp_listener_close_all(inst);
    tcp_conn_destroy_all(inst);
    tcp_resolver_join_all(inst);
    tcp_conn_table_free(inst);
    free(inst);
}

static int tcp_listen(void *p, const char *where, veil_address *bound);

static int instance_new(void *plugin_state, veil_node *node, const veil_config_scope *scope,
                        void **out)
{
    (void)plugin_state;
    if (node == NULL)
        return veil_error_set(VEIL_EINVAL, "tcp: instance_new needs a node");
    tcp_inst *inst = calloc(1, sizeof *inst);
    if (inst == NULL)
        return veil_error_set(VEIL_ENOMEM, "tcp: out of memory for an instance");
    inst->node = node;
    inst->stats.size = sizeof inst->stats;
    int rc = read_config(scope, &inst->cfg);
    if (rc == 0)
        rc = veil_node_register_transport(node, VEIL_ADDRESS_TYPE_TCP, tcp_route, inst);
    if (rc == 0 && (rc = veil_node_register_transport_frames(node, VEIL_ADDRESS_TYPE_TCP,
                                                             route_frame)) < 0)
        veil_node_unregister_transport(node, VEIL_ADDRESS_TYPE_TCP);
    if (rc < 0) {
        free(inst);
        return rc;
    }
    rc = veil_node_prepoll_add(node, prepoll, inst);
    const char *where = veil_config_scope_get(scope, "listen");
    if (rc == 0 && where != NULL && where[0] != '\0') {
        veil_address bound;
        rc = tcp_listen(inst, where, &bound);
    }
    if (rc < 0) {
        instance_free(inst);
        return rc;
    }
    *out = inst;
    return 0;
}

/* ---- ops ---------------------------------------------------------------- */

static int tcp_listen(void *p, const char *where, veil_address *bound)
{
    if (p == NULL || where == NULL || bound == NULL)
        return veil_error_set(VEIL_EINVAL, "tcp: listen: NULL argument");
    return tcp_listener_open(p, where, bound);
}

static tcp_conn *conn_by_id(tcp_inst *inst, uint64_t id)
{
    for (tcp_conn *c = inst->conns; c != NULL; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

/* Wait for the dial to finish, running the loop (other connections keep
 * going).  Inside a handler the loop cannot run: return with it pending. */
static int wait_connected(tcp_inst *inst, tcp_conn *c)
{
    uint64_t id = c->id;
    inst->wait_id = id;
    inst->wait_code = VEIL_ECLOSED;
    snprintf(inst->wait_detail, sizeof inst->wait_detail, "tcp: connection 1#%.255s closed",
             c->addr.bytes);
    int rc = 0;
    while ((c = conn_by_id(inst, id)) != NULL &&
           (c->state == TCP_CONNECTING || c->state == TCP_RESOLVING)) {
        rc = veil_node_run_once(inst->node, 50);
        if (rc < 0)
            break;
    }
    inst->wait_id = 0;
    if (rc == VEIL_ESTATE)
        return 0; /* called from a handler: the dial goes on */
    if (rc < 0)
        return rc;
    if (c != NULL && c->state == TCP_OPEN)
        return 0;
    return veil_error_set(inst->wait_code, "%s", inst->wait_detail);
}

static int tcp_connect(void *p, const char *where, veil_address *peer)
{
    tcp_inst *inst = p;
    if (inst == NULL || where == NULL || peer == NULL)
        return veil_error_set(VEIL_EINVAL, "tcp: connect: NULL argument");
    size_t len = strlen(where);
    if (len > VEIL_ADDRESS_MAX)
        return veil_error_set(VEIL_ELIMIT, "tcp: address '%.40s...' is longer than %u bytes",
                              where, VEIL_ADDRESS_MAX);
    tcp_conn *c = tcp_conn_find(inst, (const uint8_t *)where, len);
    int rc = c == NULL ? tcp_conn_dial(inst, where, len, &c) : 0;
    if (rc == 0)
        rc = veil_address_set(peer, VEIL_ADDRESS_TYPE_TCP, where, len);
    if (rc == 0 && (c->state == TCP_CONNECTING || c->state == TCP_RESOLVING))
        rc = wait_connected(inst, c);
    return rc;
}

static int tcp_stats(void *p, veil_transport_stats *out)
{
    tcp_inst *inst = p;
    size_t size = out->size < sizeof *out ? out->size : sizeof *out;
    veil_transport_stats s = inst->stats;
    s.size = size;
    memcpy(out, &s, size);
    return 0;
}

static int tcp_connections(void *p, veil_transport_conn_fn fn, void *arg)
{
    static const char *const names[] = { "?", "connecting", "open", "closing", "resolving" };
    tcp_inst *inst = p;
    for (tcp_conn *c = inst->conns; c != NULL; c = c->next) {
        veil_transport_conn_info info = {
            .peer = &c->addr,
            .state = c->state >= TCP_CONNECTING && c->state <= TCP_RESOLVING ? names[c->state]
                                                                              : names[0],
            .inbound = c->inbound,
        };
        fn(&info, arg);
    }
    return 0;
}

/* A connection found silent by the layer above (a resilient channel's
 * keep-alive): closed when nothing came for quiet_ms; reaped (route-lost
 * subscribers told) at the next prepoll. */
static int tcp_drop(void *p, const veil_address *peer, uint64_t quiet_ms, const char *why)
{
    tcp_inst *inst = p;
    tcp_conn *c = tcp_conn_find(inst, (const uint8_t *)peer->bytes, peer->len);
    if (c == NULL || c->state == TCP_DEAD)
        return veil_error_set(VEIL_ENOTFOUND, "tcp: no connection %s to drop", peer->bytes);
    uint64_t quiet = veil_node_now_ms(inst->node) - c->last_rx_ms;
    /* A held connection is not read (its frame waits for a full next hop,
     * at most frame_timeout): its silence says nothing about the peer. */
    if (quiet_ms != 0 && (quiet < quiet_ms || c->held))
        return 0;
    tcp_conn_fail(c, VEIL_ETIMEDOUT, VEIL_LOG_WARN, "dropped after %llu ms without a byte "
                  "in: %s", (unsigned long long)quiet, why);
    return 1;
}

static const veil_transport_ops ops = {
    .size = sizeof ops,
    .address_type = VEIL_ADDRESS_TYPE_TCP,
    .instance_new = instance_new,
    .instance_free = instance_free,
    .listen = tcp_listen,
    .connect = tcp_connect,
    .stats = tcp_stats,
    .connections = tcp_connections,
    .drop = tcp_drop,
};

static const veil_plugin_descriptor descriptor = {
    VEIL_PLUGIN_ABI,
    .kind = VEIL_PLUGIN_TRANSPORT,
    .name = "tcp",
    .version = "1.0",
    .description = "TCP transport: length-prefixed frames, address type 1 (host:port)",
    .config_keys = config_keys,
    .ops = &ops,
};

VEIL_PLUGIN_ENTRY(descriptor)
