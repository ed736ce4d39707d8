/* A channel's public address is not a bearer token (issue #10, item 10;
 * docs/PROTOCOL.md, "Messages from the network never enter a channel's
 * public address").  Over a real TCP connection, a stranger that learnt
 * both ends' sc_ addresses sends messages to [sc_, "echoer"]: nothing is
 * delivered (the far end would have attributed them to this node), the
 * node counts each drop and logs it once per source; the peer-facing scp_
 * addresses keep taking the channel's own frames over TCP; a relay that
 * deliberately vouches for network traffic (clears from_transport) still
 * can. */
#include "world.h"
#include "flood.h"

#include <signal.h>

typedef struct inject_world {
    world p;
    int port;
} inject_world;

/* Alice and Bob's listener on a node that listens on TCP. */
static void inject_up(inject_world *w)
{
    pair_up(&w->p, "[transport.tcp]\nplugin = tcp\n", "bob");
    veil_address bound;
    assert_int_equal(veil_node_transport_listen(w->p.node, "tcp", "127.0.0.1:0", &bound), 0);
    w->port = atoi(strrchr(bound.bytes, ':') + 1);
    /* auto_connect is off by default: dial our own port explicitly */
    char where[64];
    snprintf(where, sizeof where, "127.0.0.1:%d", w->port);
    assert_int_equal(veil_node_transport_connect(w->p.node, "tcp", where, NULL), 0);
}

/* Workers the stranger may reach: network-facing (veil/access.h). */
static int expose(veil_context *ctx, void *state)
{
    (void)state;
    return veil_ctx_set_network_facing(ctx, NULL);
}

/* One frame of the tcp transport: onward route, return ["mallory"],
 * payload text. */
static void raw_send(int fd, const char *onward, const char *text)
{
    send_tcp_frame(fd, onward, "mallory", text);
}

static veil_worker_ops exposed_ops;

static veil_node_stats node_stats(veil_node *node)
{
    veil_node_stats s;
    veil_node_get_stats(node, &s);
    return s;
}

/* Run the loop until pred holds (at most ~5 s: only a hang ends there). */
#define PUMP_UNTIL(node, cond)                                                               \
    do {                                                                                     \
        for (int i_ = 0; i_ < 1000 && !(cond); i_++)                                         \
            assert_int_equal(veil_node_run_once((node), 5), 0);                              \
        assert_true(cond);                                                                   \
    } while (0)

static int connect_raw(int port)
{
    flood f;
    memset(&f, 0, sizeof f);
    assert_int_equal(flood_connect(&f, port), 0);
    return f.fd;
}

static void test_encryptor_refuses_transport(void **state)
{
    (void)state;
    inject_world w;
    inject_up(&w);
    /* Alice's channel to bob runs over TCP (this node dials its own
     * port): its frames reach the peer-facing scp_ addresses from the
     * transport, and work. */
    char text[64];
    snprintf(text, sizeof text, "1#127.0.0.1:%d => bob", w.port);
    veil_address ch;
    assert_int_equal(pair_create(&w.p, text, &ch), 0);
    round_trip(w.p.app, &ch, "over tcp");
    assert_int_equal(w.p.echo.count, 1);
    veil_address bob_end = w.p.echo.last_info.channel; /* the far end's sc_ */
    veil_channel_stats a0, b0;
    assert_int_equal(veil_secure_channel_stats(w.p.node, &ch, &a0), 0);
    assert_int_equal(veil_secure_channel_stats(w.p.node, &bob_end, &b0), 0);
    /* A stranger who learnt both sc_ addresses, over its own connection. */
    int fd = connect_raw(w.port);
    veil_node_stats s0 = node_stats(w.p.node);
    logs_start();
    char to_a[300], to_b[300];
    snprintf(to_a, sizeof to_a, "%s => echoer", ch.bytes);
    snprintf(to_b, sizeof to_b, "%s => echoer", bob_end.bytes);
    for (int i = 0; i < 3; i++) {
        raw_send(fd, to_a, "injected as alice");
        raw_send(fd, to_b, "injected as bob");
    }
    /* The same stranger reaching a network-facing worker works (the frames
     * do arrive): the echo comes back to it, unattributed. */
    unsigned seen = 0;
    assert_int_equal(veil_ctx_start_worker(w.p.app, "exposed", &exposed_ops, &seen), 0);
    raw_send(fd, "exposed => echoer", "plain");
    PUMP_UNTIL(w.p.node, seen == 1 &&
                       node_stats(w.p.node).dropped_local_only == s0.dropped_local_only + 7);
    logs_stop();
    /* ... but the echoer behind it is local only: what came from the
     * network stays out of it (the seventh drop). */
    assert_int_equal(w.p.echo.count, 1);
    /* Nothing went through either channel. */
    veil_channel_stats a1, b1;
    assert_int_equal(veil_secure_channel_stats(w.p.node, &ch, &a1), 0);
    assert_int_equal(veil_secure_channel_stats(w.p.node, &bob_end, &b1), 0);
    assert_int_equal(a1.sent, a0.sent);
    assert_int_equal(b1.sent, b0.sent);
    assert_int_equal(a1.received, a0.received);
    assert_int_equal(b1.received, b0.received);
    /* Logged once for this source, with the reason; counted seven times. */
    const char *first = strstr(LOGS.text, "from connection '1#127.0.0.1:");
    assert_non_null(first);
    assert_null(strstr(first + 1, "from connection '1#127.0.0.1:"));
    assert_non_null(strstr(LOGS.text, "a transport delivered it, and the address is not "
                                      "network-facing"));
    assert_int_equal(node_stats(w.p.node).dropped_local_only, s0.dropped_local_only + 7);
    assert_int_equal(node_stats(w.p.node).dropped_access, s0.dropped_access + 7);
    /* The channel itself is unharmed. */
    round_trip(w.p.app, &ch, "still fine");
    close(fd);
    pair_down(&w.p);
}

/* A relay that vouches for what it forwards (clears from_transport with
 * veil_message_set_local_info) feeds network traffic into a channel on
 * purpose: then it is delivered, and the far end attributes it to this
 * node.  Without the vouching the same route is refused. */
static int vouch_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)state;
    veil_local_info li = *veil_message_local_info(msg);
    li.from_transport = false;
    veil_message_set_local_info(msg, &li);
    return veil_ctx_forward_next(ctx, msg);
}

static const veil_worker_ops vouch_ops = {
    .size = sizeof(veil_worker_ops),
    .start = expose,
    .handle_message = vouch_handle,
};

static void test_relay_vouches_explicitly(void **state)
{
    (void)state;
    inject_world w;
    inject_up(&w);
    unsigned hops = 0;
    assert_int_equal(veil_ctx_start_worker(w.p.app, "vouch", &vouch_ops, NULL), 0);
    assert_int_equal(veil_ctx_start_worker(w.p.app, "hop", &exposed_ops, &hops), 0);
    veil_address ch;
    assert_int_equal(pair_create(&w.p, "bob", &ch), 0);
    int fd = connect_raw(w.port);
    char route[300];
    veil_node_stats s0 = node_stats(w.p.node);
    snprintf(route, sizeof route, "hop => %s => echoer", ch.bytes); /* a plain hop keeps the mark */
    raw_send(fd, route, "through a plain hop");
    PUMP_UNTIL(w.p.node, node_stats(w.p.node).dropped_local_only == s0.dropped_local_only + 1);
    assert_int_equal(hops, 1);
    assert_int_equal(w.p.echo.count, 0);
    snprintf(route, sizeof route, "vouch => %s => echoer", ch.bytes);
    raw_send(fd, route, "vouched for");
    PUMP_UNTIL(w.p.node, w.p.echo.count == 1);
    assert_string_equal(w.p.echo.last_payload, "vouched for");
    assert_true(w.p.echo.last_info.via_channel);
    assert_false(w.p.echo.last_info.from_transport);
    assert_string_equal(w.p.echo.last_info.peer_identifier, veil_entity_identifier(w.p.alice));
    close(fd);
    pair_down(&w.p);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    exposed_ops = hop_ops; /* a counting hop, network-facing */
    exposed_ops.start = expose;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encryptor_refuses_transport),
        cmocka_unit_test(test_relay_vouches_explicitly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
