/* tcp transport: nodes in separate processes over loopback (tests/support/tcp_peer)
 * — two-node echo, three-node relay with replies back along the return
 * route, IPv6, a host name, refused connects, bad addresses and
 * configuration, batching and the no-malloc steady state. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"
#include "msg.h"

#include "tcp_peer_spawn.h"

#include "tcp_raw.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static veil_node *node;
static veil_context *app;

static int setup(void **state)
{
    (void)state;
    return tcp_test_node(&node, &app, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    veil_node_free(node);
    node = NULL;
    return 0;
}

static void start_peer(tcp_peer_proc *p, const char *const *args)
{
    assert_int_equal(tcp_peer_start(p, args), 0);
}

/* ---- echo ----------------------------------------------------------------- */

typedef struct conn_seen {
    unsigned n;
    char peer[VEIL_ADDRESS_TEXT_MAX + 1];
    char state[16];
    bool inbound;
} conn_seen;

static void on_conn(const veil_transport_conn_info *info, void *arg)
{
    conn_seen *s = arg;
    s->n++;
    veil_address_format(info->peer, s->peer, sizeof s->peer);
    snprintf(s->state, sizeof s->state, "%s", info->state);
    s->inbound = info->inbound;
}

static void test_two_node_echo(void **state)
{
    (void)state;
    tcp_peer_proc p;
    start_peer(&p, NULL);
    veil_address peer;
    assert_int_equal(veil_node_transport_connect(node, "tcp", p.where, &peer), 0);
    char text[VEIL_ADDRESS_TEXT_MAX + 1];
    veil_address_format(&peer, text, sizeof text);
    assert_string_equal(text, p.address);
    /* veil_node_transport_connections: the one dialed connection, open. */
    conn_seen seen = { 0 };
    assert_int_equal(veil_node_transport_connections(node, "tcp", on_conn, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.peer, p.address);
    assert_string_equal(seen.state, "open");
    assert_false(seen.inbound);
    assert_int_equal(veil_node_transport_connections(node, "tcp", NULL, NULL), VEIL_EINVAL);

    char route_text[300];
    snprintf(route_text, sizeof route_text, "%s => echoer", p.address);
    veil_route r = route_of(route_text);
    assert_int_equal(veil_ctx_send(app, &r, "Hello Ockam!", 12), 0);
    veil_message *m = receive_ok(app, 5000);
    payload_is(m, "Hello Ockam!");
    route_is(veil_message_onward_const(m), "app");
    route_is(veil_message_return_const(m), route_text); /* reply retraces the route */
    veil_message_free(m);

    /* 100 messages queued in one round go out in far fewer writes. */
    veil_transport_stats before, after;
    assert_int_equal(veil_node_transport_stats(node, "tcp", &before), 0);
    for (int i = 0; i < 100; i++) {
        char msg[32];
        snprintf(msg, sizeof msg, "message %d", i);
        assert_int_equal(veil_ctx_send(app, &r, msg, strlen(msg)), 0);
    }
    for (int i = 0; i < 100; i++) {
        char msg[32];
        snprintf(msg, sizeof msg, "message %d", i);
        m = receive_ok(app, 5000);
        payload_is(m, msg); /* in order */
        veil_message_free(m);
    }
    assert_int_equal(veil_node_transport_stats(node, "tcp", &after), 0);
    assert_int_equal(after.frames_sent - before.frames_sent, 100);
    assert_int_equal(after.frames_received - before.frames_received, 100);
    assert_true(after.writes - before.writes <= 2);
    assert_int_equal(after.connections_open, 1);
    assert_int_equal(tcp_peer_stop(&p), 0);
}

/* After a warm-up, round trips cost no malloc: node pools and the
 * connection's buffers are reused. */
static void test_steady_state_no_malloc(void **state)
{
    (void)state;
    tcp_peer_proc p;
    start_peer(&p, NULL);
    char route_text[300];
    snprintf(route_text, sizeof route_text, "%s => echoer", p.address);
    veil_route r = route_of(route_text);
    uint8_t data[4096];
    memset(data, 0x5a, sizeof data);
    veil_node_stats ns0, ns1;
    veil_transport_stats ts0, ts1;
    for (int round = 0; round < 2; round++) {
        if (round == 1) {
            veil_node_get_stats(node, &ns0);
            assert_int_equal(veil_node_transport_stats(node, "tcp", &ts0), 0);
        }
        for (int i = 0; i < 200; i++) {
            size_t len = (size_t)(1 + (i * 37) % (int)sizeof data);
            assert_int_equal(veil_ctx_send(app, &r, data, len), 0);
            veil_message *m = receive_ok(app, 5000);
            size_t got;
            veil_message_payload(m, &got);
            assert_int_equal(got, len);
            veil_message_free(m);
        }
    }
    veil_node_get_stats(node, &ns1);
    assert_int_equal(veil_node_transport_stats(node, "tcp", &ts1), 0);
    assert_int_equal(ns1.message_allocs, ns0.message_allocs);
    assert_int_equal(ns1.buffer_allocs, ns0.buffer_allocs);
    assert_int_equal(ts1.buffer_allocs, ts0.buffer_allocs);
    assert_int_equal(ts1.frames_received - ts0.frames_received, 200);
    assert_int_equal(tcp_peer_stop(&p), 0);
}

/* ---- relay ---------------------------------------------------------------- */

static void test_three_node_relay(void **state)
{
    (void)state;
    tcp_peer_proc b, c;
    /* B relays (its explicit role) and dials onward hops itself */
    static const char *const relay[] = {"-r", "-c", "auto_connect=true", NULL};
    start_peer(&b, relay);
    start_peer(&c, NULL);
    /* No connect(): A dials B on first send, B (listening only) dials C. */
    char route_text[600];
    snprintf(route_text, sizeof route_text, "%s => %s => echoer", b.address, c.address);
    veil_route r = route_of(route_text);
    assert_int_equal(veil_ctx_send(app, &r, "through B", 9), 0);
    veil_message *m = receive_ok(app, 5000);
    payload_is(m, "through B");
    route_is(veil_message_return_const(m), route_text);
    /* Reply to the reply: the return route works as a route. */
    veil_route back;
    veil_route_copy(&back, veil_message_return_const(m));
    veil_message_free(m);
    assert_int_equal(veil_ctx_send(app, &back, "and again", 9), 0);
    m = receive_ok(app, 5000);
    payload_is(m, "and again");
    veil_message_free(m);
    veil_transport_stats st;
    assert_int_equal(veil_node_transport_stats(node, "tcp", &st), 0);
    assert_int_equal(st.connections_dialed, 1); /* only B: C is B's business */
    assert_int_equal(tcp_peer_stop(&b), 0);
    assert_int_equal(tcp_peer_stop(&c), 0);
}

/* ---- addresses ------------------------------------------------------------ */

static bool ipv6_loopback_works(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 s = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&s, sizeof s) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void test_ipv6(void **state)
{
    (void)state;
    if (!ipv6_loopback_works()) {
        print_message("# SKIP: cannot bind [::1] (IPv6 loopback unavailable here)\n");
        skip();
    }
    tcp_peer_proc p;
    static const char *const args[] = {"-l", "[::1]:0", NULL};
    start_peer(&p, args);
    assert_int_equal(strncmp(p.address, "1#[::1]:", 8), 0);
    char route_text[300];
    snprintf(route_text, sizeof route_text, "%s => echoer", p.address);
    veil_route r = route_of(route_text);
    assert_int_equal(veil_ctx_send(app, &r, "six", 3), 0);
    veil_message *m = receive_ok(app, 5000);
    payload_is(m, "six");
    route_is(veil_message_return_const(m), route_text);
    veil_message_free(m);
    assert_int_equal(tcp_peer_stop(&p), 0);
}

static void test_hostname_localhost(void **state)
{
    (void)state;
    tcp_peer_proc p;
    start_peer(&p, NULL); /* 127.0.0.1 */
    const char *port = strrchr(p.where, ':') + 1;
    char where[64], route_text[300];
    snprintf(where, sizeof where, "localhost:%s", port);
    veil_address peer;
    /* localhost may resolve to ::1 first: the dial falls back to 127.0.0.1 */
    assert_int_equal(veil_node_transport_connect(node, "tcp", where, &peer), 0);
    snprintf(route_text, sizeof route_text, "1#%s => echoer", where);
    veil_route r = route_of(route_text);
    assert_int_equal(veil_ctx_send(app, &r, "by name", 7), 0);
    veil_message *m = receive_ok(app, 5000);
    payload_is(m, "by name");
    route_is(veil_message_return_const(m), route_text);
    veil_message_free(m);
    assert_int_equal(tcp_peer_stop(&p), 0);
}

/* ---- errors --------------------------------------------------------------- */

static void test_connect_refused(void **state)
{
    (void)state;
    int port = tcp_free_port();
    assert_true(port > 0);
    char where[64], want[200];
    snprintf(where, sizeof where, "127.0.0.1:%d", port);
    assert_int_equal(veil_node_transport_connect(node, "tcp", where, NULL), VEIL_EIO);
    snprintf(want, sizeof want, "connection %s: connect failed: Connection refused", where);
    assert_last_error_contains(want);

    /* Through a route: the send is accepted, the refusal reaches the
     * route-lost subscribers with the same code and reason. */
    tcp_lost l = {0};
    assert_int_equal(veil_node_on_route_lost(node, tcp_on_lost, &l), 0);
    char route_text[128];
    snprintf(route_text, sizeof route_text, "1#%s => echoer", where);
    veil_route r = route_of(route_text);
    assert_int_equal(veil_ctx_send(app, &r, "nobody", 6), 0);
    assert_true(tcp_pump_until(node, &l.calls, 3000));
    assert_int_equal(l.reason, VEIL_EIO);
    snprintf(want, sizeof want, "1#%s", where);
    assert_string_equal(l.peer, want);
    assert_non_null(strstr(l.detail, "connect failed: Connection refused"));
    assert_non_null(strstr(l.detail, "queued bytes dropped")); /* the frame never left */
    veil_node_off_route_lost(node, tcp_on_lost, &l);
    veil_transport_stats st;
    assert_int_equal(veil_node_transport_stats(node, "tcp", &st), 0);
    assert_int_equal(st.connections_open, 0);
}

static void expect_connect_error(const char *where, int code, const char *detail)
{
    assert_error_contains(veil_node_transport_connect(node, "tcp", where, NULL), code, detail);
}

static void test_bad_addresses(void **state)
{
    (void)state;
    expect_connect_error("nohost", VEIL_EINVAL, "address 'nohost' has no port");
    expect_connect_error("127.0.0.1:", VEIL_EINVAL, "has no port");
    expect_connect_error("127.0.0.1:99999", VEIL_EINVAL, "has a port over 65535");
    expect_connect_error("127.0.0.1:8x", VEIL_EINVAL, "not a decimal number");
    expect_connect_error("[::1:80", VEIL_EINVAL, "has '[' without ']'");
    expect_connect_error("::1:80", VEIL_EINVAL, "IPv6 address without brackets");
    expect_connect_error("[nothex]:80", VEIL_EINVAL, "invalid IPv6 address");
    expect_connect_error(":80", VEIL_EINVAL, "has no host");
    expect_connect_error("127.0.0.1:0", VEIL_EINVAL, "cannot connect to port 0");
    char longer[VEIL_ADDRESS_MAX + 2];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    expect_connect_error(longer, VEIL_ELIMIT, "is longer than 255 bytes");
    /* the framework's own checks, before any transport sees the call */
    expect_connect_error(NULL, VEIL_EINVAL, "veil_node_transport_connect: where must not be NULL");
    assert_error_contains(veil_node_transport_listen(node, "tcp", NULL, NULL), VEIL_EINVAL,
                          "veil_node_transport_listen: where must not be NULL");
    assert_error_contains(veil_node_transport_stats(node, "tcp", NULL), VEIL_EINVAL,
                          "veil_node_transport_stats: out must not be NULL");
    assert_error_contains(veil_node_transport_connect(node, "", "h:1", NULL), VEIL_EINVAL,
                          "node and name must not be NULL or empty");
    char long_name[VEIL_CONFIG_NAME_MAX + 1];
    memset(long_name, 't', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_error_contains(veil_node_transport_connect(node, long_name, "h:1", NULL), VEIL_EINVAL,
                          "is too long (at most 54 bytes)");
    assert_error_contains(veil_node_on_route_lost(node, NULL, NULL), VEIL_EINVAL,
                          "node and fn must not be NULL");
    assert_error_contains(veil_node_prepoll_add(node, NULL, NULL), VEIL_EINVAL,
                          "veil_node_prepoll_add: node and fn must not be NULL");
    veil_transport_stats st;
    assert_int_equal(veil_node_transport_stats(node, "tcp", &st), 0);
    assert_int_equal(st.connections_open, 0); /* none of these left a connection behind */
    /* names resolve on a helper thread; the failure comes back as the
     * connection's reason */
    expect_connect_error("no-such-host.invalid:80", VEIL_ENOTFOUND,
                         "tcp: connection no-such-host.invalid:80: cannot resolve "
                         "'no-such-host.invalid'");

    /* listening where something already listens */
    veil_address bound;
    assert_int_equal(veil_node_transport_listen(node, "tcp", "127.0.0.1:0", &bound), 0);
    char where[300];
    snprintf(where, sizeof where, "%s", bound.bytes);
    assert_error_contains(veil_node_transport_listen(node, "tcp", where, &bound), VEIL_EEXIST,
                          "cannot listen on");
    assert_last_error_contains("Address already in use");

    /* a route that ends at a tcp hop has nothing to deliver to */
    char route_text[320];
    snprintf(route_text, sizeof route_text, "1#%s", where);
    veil_route r = route_of(route_text);
    assert_error_contains(veil_ctx_send(app, &r, "x", 1), VEIL_EINVAL, "route ends at 1#");

    /* an unknown transport name */
    assert_error_contains(veil_node_transport_connect(node, "no_such_transport", "h:1", NULL),
                          VEIL_EPLUGIN_NOTFOUND, "no_such_transport");
}

/* max_connections: past it a dial fails at once (ELIMIT) and an incoming
 * connection is closed and logged; the connection held is untouched. */
static void test_max_connections(void **state)
{
    (void)state;
    veil_node *n;
    veil_context *a;
    static const char *const kv[] = {"max_connections=1", NULL};
    assert_int_equal(tcp_test_node(&n, &a, kv), 0);
    veil_address big, small;
    assert_int_equal(veil_node_transport_listen(node, "tcp", "127.0.0.1:0", &big), 0);
    assert_int_equal(veil_node_transport_listen(n, "tcp", "127.0.0.1:0", &small), 0);
    assert_int_equal(veil_node_transport_connect(n, "tcp", big.bytes, NULL), 0);

    assert_error_contains(veil_node_transport_connect(n, "tcp", "127.0.0.1:9", NULL), VEIL_ELIMIT,
                          "tcp: cannot connect to 127.0.0.1:9: 1 connections open "
                          "(max_connections)");

    tcp_log_capture_start();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)atoi(strrchr(small.bytes, ':') + 1))};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    bool closed = false;
    for (int waited = 0; waited < 2000 && !closed; waited += 5) {
        char b;
        closed = recv(fd, &b, 1, MSG_DONTWAIT) == 0;
        assert_int_equal(veil_node_run_once(n, 5), 0);
    }
    close(fd);
    assert_true(closed);
    bool logged = strstr(tcp_log_captured(), ": 1 connections open (max_connections)") != NULL &&
                  strstr(tcp_log_captured(), "tcp: refused connection from 127.0.0.1:") != NULL;
    tcp_log_capture_stop();
    assert_true(logged);

    veil_transport_stats st;
    assert_int_equal(veil_node_transport_stats(n, "tcp", &st), 0);
    assert_int_equal(st.connections_open, 1);
    assert_int_equal(st.connections_accepted, 0);
    veil_node_free(n);
}

static void test_auto_connect_off(void **state)
{
    (void)state;
    veil_node *n;
    veil_context *a;
    static const char *const kv[] = {"auto_connect=false", NULL};
    assert_int_equal(tcp_test_node(&n, &a, kv), 0);
    veil_route r = route_of("1#127.0.0.1:9 => echoer");
    assert_error_contains(veil_ctx_send(a, &r, "x", 1), VEIL_ENOROUTE,
                          "no connection to 1#127.0.0.1:9 and auto_connect is off");
    veil_node_free(n);
}

static void expect_node_error(const char *const *kv, int code, const char *detail)
{
    veil_node *n = NULL;
    veil_context *a;
    assert_error_contains(tcp_test_node(&n, &a, kv), code, detail);
    assert_null(n);
}

/* A node stopped while a lookup runs: the lookup thread is joined, the
 * connection and its queued frame are freed (valgrind/ASan clean). */
static void test_stop_during_lookup(void **state)
{
    (void)state;
    veil_node *n;
    veil_context *a;
    assert_int_equal(tcp_test_node(&n, &a, NULL), 0);
    veil_route r = route_of("1#localhost:9 => echoer");
    assert_int_equal(veil_ctx_send(a, &r, "queued while resolving", 22), 0);
    veil_transport_stats st;
    assert_int_equal(veil_node_transport_stats(n, "tcp", &st), 0);
    assert_int_equal(st.connections_dialed, 1);
    assert_int_equal(st.connections_open, 1);
    assert_true(st.queued_bytes > 22);
    assert_int_equal(veil_node_free(n), 0);
}

static void test_bad_config(void **state)
{
    (void)state;
    static const char *const k1[] = {"max_frame=10", NULL};
    expect_node_error(k1, VEIL_ECONFIG, "max_frame");
    static const char *const k2[] = {"max_frame=1m", "send_queue_max=64k", NULL};
    expect_node_error(k2, VEIL_ECONFIG, "send_queue_max (65536) must hold one frame");
    static const char *const k3[] = {"max_frames=1024", NULL};
    expect_node_error(k3, VEIL_ECONFIG, "unknown key 'max_frames'");
    static const char *const k4[] = {"auto_connect=maybe", NULL};
    expect_node_error(k4, VEIL_ECONFIG, "auto_connect");
    static const char *const k5[] = {"listen=127.0.0.1", NULL};
    expect_node_error(k5, VEIL_EINVAL, "address '127.0.0.1' has no port");
}

/* `listen = ...` in the configuration listens at node creation. */
static void test_listen_from_config(void **state)
{
    (void)state;
    veil_node *n;
    veil_context *a;
    static const char *const kv[] = {"listen=127.0.0.1:0", NULL};
    assert_int_equal(tcp_test_node(&n, &a, kv), 0);
    veil_transport_stats st;
    assert_int_equal(veil_node_transport_stats(n, "tcp", &st), 0);
    assert_int_equal(st.connections_open, 0);
    veil_node_free(n);

    /* A [transport.tcp] section without `plugin` starts plugin tcp too:
     * the transport is registered right after creation. */
    veil_config *cfg;
    assert_int_equal(veil_config_new_from_text(&cfg, "[transport.tcp]\nlisten = 127.0.0.1:0\n"
                                               "max_frame = 8k\n", "<test>"), 0);
    veil_node_options o = {.size = sizeof o, .config = cfg};
    assert_int_equal(veil_node_new(&n, &a, &o), 0);
    veil_config_free(cfg);
    assert_int_equal(veil_node_transport_stats(n, "tcp", &st), 0);
    veil_route r = route_of("1#127.0.0.1:9");
    assert_int_equal(veil_ctx_send(a, &r, "x", 1), VEIL_EINVAL); /* tcp is registered */
    assert_last_error_contains("route ends at 1#127.0.0.1:9");
    veil_node_free(n);
    /* ...and its keys are checked like any plugin section's */
    assert_int_equal(veil_config_new_from_text(&cfg, "[transport.tcp]\nlisten_on = x\n", "<test>"), 0);
    o.config = cfg;
    assert_error_contains(veil_node_new(&n, &a, &o), VEIL_ECONFIG,
                          "unknown key 'listen_on' in [transport.tcp]");
    veil_config_free(cfg);
}

/* A dial nobody answers times out with the configured connect_timeout.
 * "Nobody answers": a listener that never accepts, its backlog filled by
 * other connects, so the kernel drops our SYNs and the connect stays in
 * progress (arbitrary remote addresses may be answered by a proxy in a
 * sandbox, so they make no reliable silent peer). */
static void test_connect_timeout(void **state)
{
    (void)state;
    struct sockaddr_in sin;
    int ls = raw_listen(0, 0, &sin);
    int fillers[4];
    for (int i = 0; i < 4; i++) {
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        (void)connect(fillers[i], (struct sockaddr *)&sin, sizeof sin);
    }
    usleep(50000);
    veil_node *n;
    veil_context *a;
    static const char *const kv[] = {"connect_timeout=150", NULL};
    assert_int_equal(tcp_test_node(&n, &a, kv), 0);
    char where[64], want[200];
    snprintf(where, sizeof where, "127.0.0.1:%u", ntohs(sin.sin_port));
    int rc = veil_node_transport_connect(n, "tcp", where, NULL);
    for (int i = 0; i < 4; i++)
        close(fillers[i]);
    close(ls);
    if (rc == 0) {
        print_message("# SKIP: the kernel completed a connect to a full backlog here\n");
        veil_node_free(n);
        skip();
    }
    assert_int_equal(rc, VEIL_ETIMEDOUT);
    snprintf(want, sizeof want, "tcp: connection %s: connect timed out after 150 ms "
             "(connect_timeout)", where);
    assert_last_error(want);
    veil_transport_stats st;
    assert_int_equal(veil_node_transport_stats(n, "tcp", &st), 0);
    assert_int_equal(st.timeouts, 1);
    assert_int_equal(st.connections_open, 0);
    veil_node_free(n);
}

/* Without any [transport.tcp] section the plugin loads on first use with
 * its defaults; keepalive configured turns on without errors. */
static void test_default_load_and_keepalive(void **state)
{
    (void)state;
    veil_node *n;
    veil_context *a;
    veil_node_options o = {.size = sizeof o};
    veil_config *cfg;
    assert_int_equal(veil_config_new(&cfg), 0);
    o.config = cfg;
    assert_int_equal(veil_node_new(&n, &a, &o), 0);
    veil_route r = route_of("1#127.0.0.1:9 => echoer");
    assert_int_equal(veil_ctx_send(a, &r, "x", 1), VEIL_ENOROUTE); /* not started yet */
    assert_last_error_contains("no transport registered for address type 1");
    veil_address bound;
    assert_int_equal(veil_node_transport_listen(n, "tcp", "127.0.0.1:0", &bound), 0);
    assert_int_equal(bound.type, VEIL_ADDRESS_TYPE_TCP);
    assert_int_equal(strncmp(bound.bytes, "127.0.0.1:", 10), 0);
    assert_true(atoi(bound.bytes + 10) > 0);
    veil_node_free(n);
    veil_config_free(cfg);

    tcp_peer_proc p;
    static const char *const args[] = {"-c", "keepalive=5", NULL};
    start_peer(&p, args);
    static const char *const kv[] = {"keepalive=5", NULL};
    assert_int_equal(tcp_test_node(&n, &a, kv), 0);
    char route_text[300];
    snprintf(route_text, sizeof route_text, "%s => echoer", p.address);
    r = route_of(route_text);
    assert_int_equal(veil_ctx_send(a, &r, "ka", 2), 0);
    veil_message *m;
    assert_int_equal(veil_ctx_receive(a, &m, 5000), 0);
    payload_is(m, "ka");
    veil_message_free(m);
    veil_node_free(n);
    assert_int_equal(tcp_peer_stop(&p), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_node_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_steady_state_no_malloc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_three_node_relay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostname_localhost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_connections, setup, teardown),
        cmocka_unit_test(test_auto_connect_off),
        cmocka_unit_test(test_stop_during_lookup),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_listen_from_config),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_default_load_and_keepalive),
    };
    return cmocka_run_group_tests_name("tcp", tests, NULL, NULL);
}
