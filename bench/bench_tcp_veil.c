/* The veil side of the tcp benchmark (bench_tcp.h): a forked server node
 * listening on loopback TCP with a secure channel listener, a sink and an
 * echoer; this process's node opens one channel to it through the TCP
 * transport and sends along [channel, "sink"] or [channel, "echoer"].
 * Default configuration otherwise (software vault, Noise XX with
 * AES-256-GCM); the server trusts exactly the client's identifier and the
 * client exactly the server's. */
#include "config.h"
#include "bench.h"
#include "bench_tcp.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <veil/veil.h>

/* The tcp plugin as a transport of the node, with defaults otherwise; the
 * relay (tcpb_veil_relay_ops) relays. */
static const char config_text[] = "[transport.tcp]\nplugin = tcp\n";
static const char relay_config_text[] = "[transport.tcp]\nplugin = tcp\n[node]\nrelay = true\n";

typedef struct node_env {
    veil_node *node;
    veil_context *app;
    veil_vault *vault;
    veil_entity *entity;
} node_env;

static int env_up(node_env *e, const char *text)
{
    veil_config *cfg;
    memset(e, 0, sizeof *e);
    int rc = veil_config_new_from_text(&cfg, text, "bench_tcp");
    if (rc < 0)
        return rc;
    veil_node_options o = { .size = sizeof o, .config = cfg };
    rc = veil_node_new(&e->node, &e->app, &o);
    veil_config_free(cfg);
    if (rc == 0)
        rc = veil_vault_open(e->node, NULL, &e->vault);
    if (rc == 0)
        rc = veil_entity_open(e->node, e->vault, NULL, VEIL_ENTITY_CREATE, &e->entity);
    return rc;
}

static void env_down(node_env *e)
{
    veil_entity_close(e->entity);
    veil_vault_close(e->vault);
    (void)veil_node_free(e->node);
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "tcp: veil %s: %s (%s)\n", what, veil_strerror(rc), veil_last_error());
    return -1;
}

/* ---- server process --------------------------------------------------- */

typedef struct sink_state {
    uint64_t count;               /* messages received, cumulative */
    size_t unacked;               /* payload bytes since the last ack */
} sink_state;

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Acks every TCPB_ACK_BYTES with the cumulative count, reusing the
 * message (its return route leads back through the channel). */
static int sink_handle(veil_context *ctx, void *state, veil_message *msg)
{
    sink_state *s = state;
    size_t len;
    (void)veil_message_payload(msg, &len);
    s->count++;
    s->unacked += len;
    if (s->unacked < TCPB_ACK_BYTES)
        return 0;
    s->unacked -= TCPB_ACK_BYTES;
    uint8_t ack[8];
    put64(ack, s->count);
    return veil_ctx_reply_message(ctx, msg, ack, sizeof ack);
}

static int echo_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)state;
    return veil_ctx_reply_message(ctx, msg, NULL, 0);
}

static int quit_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)state;
    (void)msg;
    veil_node_interrupt(veil_ctx_node(ctx));
    return 0;
}

static const veil_worker_ops sink_ops = { .size = sizeof sink_ops, .handle_message = sink_handle };
static const veil_worker_ops echo_ops = { .size = sizeof echo_ops, .handle_message = echo_handle };
static const veil_worker_ops quit_ops = { .size = sizeof quit_ops, .handle_message = quit_handle };

/* Through a relay, the server's line goes out once its name is registered. */
typedef struct ready {
    int wfd;
    char line[VEIL_ADDRESS_TEXT_MAX + VEIL_IDENTIFIER_LEN + 8];
    bool sent;
} ready;

static void on_registered(veil_node *node, const char *name, int rc, const char *detail, void *arg)
{
    ready *r = arg;
    (void)node, (void)name;
    if (rc < 0)
        fprintf(stderr, "tcp: veil server: registering at the relay: %s\n", detail);
    else if (!r->sent)
        r->sent = tcpb_write_line(r->wfd, r->line) == 0;
}

/* arg: the client's identifier (the only peer the listener trusts), then
 * for tcpb_veil_relay_ops the relay's host:port and identifier. */
static int serve(int wfd, void *arg)
{
    char *client_id = arg, *relay = strchr(client_id, ' '), *relay_id = NULL;
    node_env e;
    sink_state sink = { 0, 0 };
    veil_address bound;
    veil_trust_policy *p;
    ready r = { .wfd = wfd };
    veil_relay_register_options ro = { .size = sizeof ro, .on_state = on_registered, .arg = &r };
    if (relay != NULL && (*relay++ = '\0', relay_id = strchr(relay, ' ')) != NULL)
        *relay_id++ = '\0';
    int rc = env_up(&e, config_text);
    if (rc == 0)
        rc = veil_node_transport_listen(e.node, "tcp", "127.0.0.1:0", &bound);
    const char *trusted = client_id;
    if (rc == 0)
        rc = veil_trust_policy_new_identifier(e.node, &trusted, 1, &p);
    if (rc == 0)
        rc = veil_secure_channel_listener_open(e.entity, "listener", p);
    static const char *const allowed[] = {"sink", "echoer", "quit"};
    if (rc == 0)
        rc = veil_secure_channel_listener_allow(e.node, "listener", allowed, 3);
    if (rc == 0 && (rc = veil_ctx_start_worker(e.app, "sink", &sink_ops, &sink)) == 0 &&
        (rc = veil_ctx_start_worker(e.app, "echoer", &echo_ops, NULL)) == 0)
        rc = veil_ctx_start_worker(e.app, "quit", &quit_ops, NULL);
    if (rc == 0)
        snprintf(r.line, sizeof r.line, "%s %s\n", bound.bytes, veil_entity_identifier(e.entity));
    if (rc == 0 && relay_id != NULL)
        rc = veil_relay_register_start(e.entity, relay, "relay_listener", relay_id, "bob", &ro);
    else if (rc == 0)
        rc = tcpb_write_line(wfd, r.line) < 0 ? VEIL_EIO : 0;
    if (rc == 0)
        rc = veil_node_run(e.node, -1);
    if (rc < 0)
        (void)fail("server", rc);
    env_down(&e);
    return rc < 0 ? 1 : 0;
}

/* The relay process: a relaying node with a listener that lets anyone
 * register, the registry and its forwarder; runs until it is killed. */
static int serve_relay(int wfd, void *arg)
{
    node_env e;
    veil_address bound;
    veil_trust_policy *p;
    char line[VEIL_ADDRESS_TEXT_MAX + VEIL_IDENTIFIER_LEN + 8];
    static const char *const none[] = { NULL }, *const registry[] = { "relay_registry" };
    (void)arg;
    int rc = env_up(&e, relay_config_text);
    if (rc == 0)
        rc = veil_node_transport_listen(e.node, "tcp", "127.0.0.1:0", &bound);
    if (rc == 0)
        rc = veil_trust_policy_new(e.node, "everyone", none, &p);
    if (rc == 0)
        rc = veil_secure_channel_listener_open(e.entity, "relay_listener", p);
    if (rc == 0)
        rc = veil_secure_channel_listener_allow(e.node, "relay_listener", registry, 1);
    if (rc == 0)
        rc = veil_relay_registry_start(e.node, NULL, NULL);
    if (rc == 0) {
        snprintf(line, sizeof line, "%s %s\n", bound.bytes, veil_entity_identifier(e.entity));
        rc = tcpb_write_line(wfd, line) < 0 ? VEIL_EIO : 0;
    }
    if (rc == 0)
        rc = veil_node_run(e.node, -1);
    if (rc < 0)
        (void)fail("relay", rc);
    env_down(&e);
    return rc < 0 ? 1 : 0;
}

/* ---- client (this process) ------------------------------------------- */

struct tcpb_peer {
    node_env e;
    pid_t pid, relay_pid;
    char relay[VEIL_ADDRESS_TEXT_MAX + VEIL_IDENTIFIER_LEN + 8]; /* "host:port id" */
    veil_address channel;
    veil_route sink, echo;
    uint64_t acked;               /* the sink's count after the last run */
    uint8_t buf[TCPB_MAX_MESSAGE];
};

static int route_via(veil_route *r, const veil_address *first, const char *rest)
{
    veil_route_init(r);
    int rc = veil_route_append(r, first);
    return rc < 0 ? rc : veil_route_append_str(r, rest);
}

/* line: "<host:port> <identifier>" from the server.  Through the relay
 * (p->relay set): dial the relay, route [relay, bob, listener] from it. */
static int open_channel(tcpb_peer *p, char *line)
{
    char *sp = strchr(line, ' ');
    if (sp == NULL)
        return veil_error_set(VEIL_EFORMAT, "server line '%s' is not 'host:port identifier'", line);
    *sp = '\0';
    const char *server_id = sp + 1;
    veil_address peer;
    veil_trust_policy *policy;
    veil_route r;
    int rc = veil_node_transport_connect(p->e.node, "tcp", p->relay[0] != '\0' ? p->relay : line,
                                         &peer);
    if (rc == 0)
        rc = veil_trust_policy_new_identifier(p->e.node, &server_id, 1, &policy);
    if (rc == 0 && (rc = route_via(&r, &peer, p->relay[0] != '\0' ? "relay" : "listener")) == 0 &&
        p->relay[0] != '\0' && (rc = veil_route_append_str(&r, "bob")) == 0)
        rc = veil_route_append_str(&r, "listener");
    if (rc < 0)
        veil_trust_policy_free(policy);
    if (rc == 0)
        rc = veil_secure_channel_open(p->e.entity, &r, policy, &p->channel);
    if (rc == 0 && (rc = route_via(&p->sink, &p->channel, "sink")) == 0)
        rc = route_via(&p->echo, &p->channel, "echoer");
    return rc;
}

static void veil_close(tcpb_peer *p)
{
    if (p == NULL)
        return;
    if (p->pid > 0) {
        veil_route q;
        int status;
        /* "quit", then our close frame behind it (so the channel is gone
         * before the connection), then run the loop until the server
         * exited (5 s). */
        if (route_via(&q, &p->channel, "quit") == 0 && veil_ctx_send(p->e.app, &q, "", 0) == 0 &&
            veil_node_run_once(p->e.node, 0) == 0 && /* the channel sends it */
            veil_secure_channel_close(p->e.node, &p->channel) == 0)
            for (int i = 0; i < 500 && waitpid(p->pid, &status, WNOHANG) == 0; i++)
                if (veil_node_run_once(p->e.node, 10) < 0)
                    break;
        if (tcpb_reap(p->pid) < 0 && waitpid(p->pid, &status, WNOHANG) >= 0)
            fprintf(stderr, "tcp: the veil server process failed\n");
    }
    if (p->relay_pid > 0) {
        kill(p->relay_pid, SIGTERM);
        (void)tcpb_reap(p->relay_pid);
    }
    env_down(&p->e);
    free(p);
}

static int open_with(tcpb_peer **out, bool via_relay)
{
    tcpb_peer *p = calloc(1, sizeof *p);
    char line[VEIL_ADDRESS_TEXT_MAX + VEIL_IDENTIFIER_LEN + 8];
    char arg[2 * sizeof line + VEIL_IDENTIFIER_LEN];
    if (p == NULL)
        return -1;
    int rc = env_up(&p->e, config_text);
    if (rc < 0) {
        (void)fail("node", rc);
        veil_close(p);
        return -1;
    }
    /* The children get a copy of our identifier to trust (and the relay's
     * address and identifier); their own nodes are made after the fork. */
    if (via_relay && tcpb_spawn(serve_relay, NULL, &p->relay_pid, p->relay, sizeof p->relay) < 0) {
        veil_close(p);
        return -1;
    }
    snprintf(arg, sizeof arg, "%s%s%s", veil_entity_identifier(p->e.entity), via_relay ? " " : "",
             p->relay);
    if (tcpb_spawn(serve, arg, &p->pid, line, sizeof line) < 0) {
        veil_close(p);
        return -1;
    }
    char *sp = strchr(p->relay, ' ');
    if (sp != NULL)
        *sp = '\0'; /* the relay's host:port is what the client dials */
    if ((rc = open_channel(p, line)) < 0) {
        (void)fail("channel over TCP", rc);
        veil_close(p);
        return -1;
    }
    *out = p;
    return 0;
}

static int receive_ack(tcpb_peer *p, uint64_t *count)
{
    veil_message *m;
    int rc = veil_ctx_receive(p->e.app, &m, 10000);
    if (rc < 0)
        return fail("waiting for an acknowledgement", rc);
    size_t len;
    const uint8_t *d = veil_message_payload(m, &len);
    if (len == 8)
        *count = get64(d);
    veil_message_free(m);
    return len == 8 ? 0 : -1;
}

static int veil_oneway(tcpb_peer *p, size_t size, long count)
{
    long window = (long)(TCPB_WINDOW_BYTES / size), sent = 0, done = 0;
    uint64_t base = p->acked, total = base;
    memset(p->buf, 0x5a, size);
    while (done < count) {
        for (; sent < count && sent - done < window; sent++) {
            int rc = veil_ctx_send(p->e.app, &p->sink, p->buf, size);
            if (rc < 0)
                return fail("send", rc);
        }
        if (receive_ack(p, &total) < 0)
            return -1;
        done = (long)(total - base);
    }
    p->acked = total;
    return 0;
}

static int veil_rtt(tcpb_peer *p, size_t size, long count, double *samples)
{
    memset(p->buf, 0x5a, size);
    for (long i = 0; i < count; i++) {
        veil_message *m;
        double t0 = bench_now_s();
        int rc = veil_ctx_send(p->e.app, &p->echo, p->buf, size);
        if (rc == 0)
            rc = veil_ctx_receive(p->e.app, &m, 10000);
        if (rc < 0)
            return fail("request/response", rc);
        samples[i] = bench_now_s() - t0;
        size_t len;
        (void)veil_message_payload(m, &len);
        veil_message_free(m);
        if (len != size)
            return -1;
    }
    return 0;
}

static int veil_open(tcpb_peer **out)
{
    return open_with(out, false);
}

/* The same server reached through a relay process by a registered name. */
static int veil_relay_open(tcpb_peer **out)
{
    return open_with(out, true);
}

static int veil_pin(tcpb_peer *p, const cpu_set_t *set)
{
    if (sched_setaffinity(p->pid, sizeof *set, set) < 0 ||
        (p->relay_pid > 0 && sched_setaffinity(p->relay_pid, sizeof *set, set) < 0)) {
        fprintf(stderr, "tcp: pinning the veil server processes: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

static double veil_cpu_ns(tcpb_peer *p, int process)
{
    if (process == TCPB_SERVER)
        return tcpb_pid_cpu_ns(p->pid);
    return process == TCPB_RELAY && p->relay_pid > 0 ? tcpb_pid_cpu_ns(p->relay_pid) : 0;
}

static pid_t veil_pid_of(tcpb_peer *p, int process)
{
    return process == TCPB_SERVER ? p->pid : process == TCPB_RELAY ? p->relay_pid : 0;
}

const tcpb_ops tcpb_veil_ops = { "veil", veil_open, veil_oneway, veil_rtt, veil_close, veil_pin,
                                 veil_cpu_ns, veil_pid_of };
const tcpb_ops tcpb_veil_relay_ops = { "veil via relay", veil_relay_open, veil_oneway, veil_rtt,
                                       veil_close, veil_pin, veil_cpu_ns, veil_pid_of };
