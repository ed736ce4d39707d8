/* Access control and flow control (issue #12; docs/ARCHITECTURE.md,
 * "Access control"), over real TCP sockets on loopback:
 *   - a TCP peer sending to a worker that is not network-facing is refused
 *     (exact counters, one log line per source, the handler never runs);
 *     exposing the worker lets it through;
 *   - a channel peer reaching a worker its listener did not allow is
 *     refused (the channel's dropped_flow), until the listener allows it;
 *   - "from identifiers" and "trust policy" controls admit exactly the
 *     peers they name and refuse others and local senders;
 *   - a node with default settings does not relay (router or hop worker),
 *     and cannot start a relay; a node with [node] relay = true does. */
#include "world.h"
#include "assert_error.h"
#include "flood.h"

#include <signal.h>

typedef struct net {
    world w;
    int port;
    int fd;                       /* a stranger's raw connection */
} net;

static const char *const listen_conf =
    "[transport.tcp]\nplugin = tcp\n[secure_channel]\nallowed_workers = echoer\n";

static void net_up(net *n, const char *config)
{
    veil_address bound;
    char where[64];
    world_up(&n->w, config != NULL ? config : listen_conf, WORLD_CAROL);
    assert_int_equal(veil_node_transport_listen(n->w.node, "tcp", "127.0.0.1:0", &bound), 0);
    n->port = atoi(strrchr(bound.bytes, ':') + 1);
    snprintf(where, sizeof where, "127.0.0.1:%d", n->port);
    assert_int_equal(veil_node_transport_connect(n->w.node, "tcp", where, NULL), 0);
    flood f;
    memset(&f, 0, sizeof f);
    assert_int_equal(flood_connect(&f, n->port), 0);
    n->fd = f.fd;
}

static void net_down(net *n)
{
    close(n->fd);
    world_down(&n->w);
}

static veil_node_stats stats(veil_node *node)
{
    veil_node_stats s;
    veil_node_get_stats(node, &s);
    return s;
}

#define PUMP_UNTIL(node, cond)                                                               \
    do {                                                                                     \
        for (int i_ = 0; i_ < 1000 && !(cond); i_++)                                         \
            assert_int_equal(veil_node_run_once((node), 5), 0);                              \
        assert_true(cond);                                                                   \
    } while (0)

/* A worker that counts and keeps the local info of the last message. */
typedef struct seen {
    unsigned count;
    veil_local_info info;
} seen;

static int seen_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)ctx;
    seen *s = state;
    s->count++;
    s->info = *veil_message_local_info(msg);
    return 0;
}


/* ---- a TCP peer and a worker that is not network-facing ---------------- */

static veil_access_control *expose_next; /* the control start_with hands the worker */

static int start_guarded(veil_context *ctx, void *state)
{
    (void)state;
    return expose_next != NULL ? veil_ctx_set_access_control(ctx, NULL, expose_next) : 0;
}

static const veil_worker_ops guarded_ops = {
    .size = sizeof guarded_ops, .start = start_guarded, .handle_message = seen_handle};

static void start_with(net *n, const char *address, veil_access_control *ac, seen *s)
{
    expose_next = ac;
    assert_int_equal(veil_ctx_start_worker(n->w.app, address, &guarded_ops, s), 0);
    expose_next = NULL;
}

static void test_tcp_peer_refused(void **state)
{
    (void)state;
    net n;
    net_up(&n, NULL);
    seen secret = {0}, open = {0};
    start_with(&n, "secret", NULL, &secret);       /* default: local only */
    veil_access_control *nf;
    assert_int_equal(veil_access_control_network_facing(&nf), 0);
    start_with(&n, "open", nf, &open);
    veil_node_stats s0 = stats(n.w.node);
    logs_start();
    send_tcp_frame(n.fd, "secret", "mallory", "one");
    send_tcp_frame(n.fd, "secret", "mallory", "two");
    send_tcp_frame(n.fd, "open", "mallory", "three");
    PUMP_UNTIL(n.w.node, open.count == 1 && stats(n.w.node).dropped_access == s0.dropped_access + 2);
    logs_stop();
    assert_int_equal(secret.count, 0);             /* the handler never ran */
    assert_int_equal(stats(n.w.node).dropped_local_only, s0.dropped_local_only + 2);
    assert_true(open.info.from_transport);
    assert_int_equal(open.info.connection.type, VEIL_ADDRESS_TYPE_TCP);
    /* one line for the source, with the reason */
    const char *first = strstr(LOGS.text, "refused a message for 'secret' from connection "
                                          "'1#127.0.0.1:");
    assert_non_null(first);
    assert_null(strstr(first + 1, "refused a message for 'secret'"));
    assert_non_null(strstr(first, "a transport delivered it, and the address is not "
                                  "network-facing"));
    net_down(&n);
}

/* ---- flow control of a channel ------------------------------------------ */

static int open_over_tcp(net *n, veil_entity *who, const char *listener, veil_entity *peer,
                         veil_address *ch)
{
    char text[128];
    snprintf(text, sizeof text, "1#127.0.0.1:%d => %s", n->port, listener);
    veil_route r = route_of(text);
    return veil_secure_channel_open(who, &r, trust_only(n->w.node, peer), ch);
}

static void send_via(net *n, const veil_address *ch, const char *to, const char *text)
{
    veil_route r;
    veil_route_init(&r);
    assert_int_equal(veil_route_append(&r, ch), 0);
    assert_int_equal(veil_route_append_str(&r, to), 0);
    assert_int_equal(veil_ctx_send(n->w.app, &r, text, strlen(text)), 0);
}

/* Run the loop until ch has refused `want` messages in all (5 s at most);
 * its stats then. */
static veil_channel_stats pump_dropped_flow(net *n, const veil_address *ch, uint64_t want)
{
    veil_channel_stats st;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(veil_node_run_once(n->w.node, 2), 0);
        assert_int_equal(veil_secure_channel_stats(n->w.node, ch, &st), 0);
        if (st.dropped_flow == want)
            break;
    }
    return st;
}

static void test_channel_peer_refused_by_flow_control(void **state)
{
    (void)state;
    net n;
    net_up(&n, NULL);
    assert_int_equal(veil_secure_channel_listener_open(n.w.bob, "bob",
                                                       trust_only(n.w.node, n.w.alice)), 0);
    seen secret = {0};
    veil_access_control *peers;
    assert_int_equal(veil_access_control_from_channel_peers(&peers), 0);
    start_with(&n, "secret", peers, &secret); /* its control would admit Alice */
    veil_access_control_free(peers);
    veil_address ch;
    assert_int_equal(open_over_tcp(&n, n.w.alice, "bob", n.w.bob, &ch), 0);
    round_trip(n.w.app, &ch, "echoer is allowed");
    veil_address bob_end = n.w.echo.last_info.channel;
    veil_channel_stats b0, b1;
    assert_int_equal(veil_secure_channel_stats(n.w.node, &bob_end, &b0), 0);
    logs_start();
    send_via(&n, &ch, "secret", "not allowed");
    send_via(&n, &ch, "secret", "still not");
    send_via(&n, &ch, "1#127.0.0.1:9", "no relaying through a channel");
    b1 = pump_dropped_flow(&n, &bob_end, b0.dropped_flow + 3);
    logs_stop();
    assert_int_equal(b1.dropped_flow, b0.dropped_flow + 3);
    assert_int_equal(b1.received, b0.received);   /* decrypted, refused, not delivered */
    assert_int_equal(secret.count, 0);
    assert_non_null(strstr(LOGS.text, "for 'secret': the channel does not allow that worker"));
    assert_null(strstr(LOGS.text, "1#127.0.0.1:9")); /* logged once per channel */
    /* The listener allows it: the same peer gets through, attributed. */
    static const char *const allow[] = {"echoer", "secret"};
    assert_error(veil_secure_channel_listener_allow(n.w.node, "nobody", allow, 2), VEIL_ENOTFOUND,
                 "no secure channel listener at address 'nobody'");
    static const char *const bad[] = {"1#127.0.0.1:9"};
    assert_error_contains(veil_secure_channel_listener_allow(n.w.node, "bob", bad, 1),
                          VEIL_EINVAL, "is not a local address");
    assert_int_equal(veil_secure_channel_listener_allow(n.w.node, "bob", allow, 2), 0);
    send_via(&n, &ch, "secret", "now allowed");
    PUMP_UNTIL(n.w.node, secret.count == 1);
    assert_true(secret.info.via_channel);
    assert_false(secret.info.from_transport);
    assert_false(secret.info.admitted);               /* consumed at that hop */
    assert_string_equal(secret.info.peer_identifier, veil_entity_identifier(n.w.alice));
    /* Initiators: a channel opened by a listener is set through it; Alice's
     * own channel lets Bob's end reach only what sent through it ("app")
     * until she allows more. */
    assert_error_contains(veil_secure_channel_allow(n.w.node, &bob_end, allow, 2), VEIL_EINVAL,
                          "veil_secure_channel_listener_allow");
    seen inbox = {0};
    assert_int_equal(veil_access_control_from_channel_peers(&peers), 0);
    start_with(&n, "inbox", peers, &inbox);
    veil_access_control_free(peers);
    veil_channel_stats a0, a1;
    assert_int_equal(veil_secure_channel_stats(n.w.node, &ch, &a0), 0);
    send_via(&n, &bob_end, "inbox", "from bob's end, not allowed");
    a1 = pump_dropped_flow(&n, &ch, a0.dropped_flow + 1);
    assert_int_equal(a1.dropped_flow, a0.dropped_flow + 1);
    assert_int_equal(inbox.count, 0);
    static const char *const inbox_only[] = {"inbox"};
    assert_int_equal(veil_secure_channel_allow(n.w.node, &ch, inbox_only, 1), 0);
    send_via(&n, &bob_end, "inbox", "from bob's end, allowed");
    PUMP_UNTIL(n.w.node, inbox.count == 1);
    assert_string_equal(inbox.info.peer_identifier, veil_entity_identifier(n.w.bob));
    net_down(&n);
}

/* ---- identity controls ----------------------------------------------------- */

static void test_identifiers_and_trust_policy(void **state)
{
    (void)state;
    net n;
    net_up(&n, "[transport.tcp]\nplugin = tcp\n[secure_channel]\n"
               "allowed_workers = echoer, by_id, by_policy, by_channel\n");
    veil_trust_policy *everyone;
    assert_int_equal(veil_trust_policy_new(n.w.node, "everyone", NULL, &everyone), 0);
    assert_int_equal(veil_secure_channel_listener_open(n.w.bob, "bob", everyone), 0);
    const char *alice_id = veil_entity_identifier(n.w.alice);
    static const char *const bad_ids[] = {"Pnot-an-identifier"};
    veil_access_control *by_id, *by_policy;
    assert_error_contains(veil_access_control_from_identifiers(bad_ids, 1, &by_id), VEIL_EINVAL,
                          "'Pnot-an-identifier' is not an identifier");
    assert_int_equal(veil_access_control_from_identifiers(&alice_id, 1, &by_id), 0);
    assert_int_equal(veil_access_control_from_trust_policy(trust_only(n.w.node, n.w.alice),
                                                           &by_policy), 0);
    seen s_id = {0}, s_pol = {0};
    start_with(&n, "by_id", by_id, &s_id);
    start_with(&n, "by_policy", by_policy, &s_pol);
    veil_access_control_free(by_id);
    veil_access_control_free(by_policy);
    veil_address a_ch, c_ch;
    assert_int_equal(open_over_tcp(&n, n.w.alice, "bob", n.w.bob, &a_ch), 0);
    assert_int_equal(open_over_tcp(&n, n.w.carol, "bob", n.w.bob, &c_ch), 0);
    veil_node_stats s0 = stats(n.w.node);
    logs_start();
    send_via(&n, &c_ch, "by_id", "carol is not named");
    send_via(&n, &c_ch, "by_policy", "carol is not trusted");
    send_text(n.w.app, "by_id", "a local sender has no identity");
    PUMP_UNTIL(n.w.node, stats(n.w.node).dropped_access == s0.dropped_access + 3);
    logs_stop();
    assert_int_equal(s_id.count, 0);
    assert_int_equal(s_pol.count, 0);
    /* logged once per source: Carol's channel once (the first refusal),
     * the local sender once */
    assert_non_null(strstr(LOGS.text, "refused by its access control 'from identifiers {P"));
    assert_null(strstr(LOGS.text, "refused by its access control 'trust policy '"));
    assert_non_null(strstr(LOGS.text, "refused a message for 'by_id' from 'app': refused by its "
                                      "access control 'from identifiers {P"));
    assert_int_equal(stats(n.w.node).dropped_local_only, s0.dropped_local_only);
    send_via(&n, &a_ch, "by_id", "alice is named");
    send_via(&n, &a_ch, "by_policy", "alice is trusted");
    PUMP_UNTIL(n.w.node, s_id.count == 1 && s_pol.count == 1);
    assert_string_equal(s_id.info.peer_identifier, alice_id);
    assert_string_equal(s_pol.info.peer_identifier, alice_id);
    /* from this channel: Alice's channel only (Bob's end of it) */
    round_trip(n.w.app, &a_ch, "which end");
    veil_access_control *by_ch;
    assert_int_equal(veil_access_control_from_channel(&n.w.echo.last_info.channel, &by_ch), 0);
    seen s_ch = {0};
    start_with(&n, "by_channel", by_ch, &s_ch);
    veil_local_info li;
    memset(&li, 0, sizeof li);
    assert_error_contains(veil_access_control_check(by_ch, &li), VEIL_EDENIED, "from channel sc_");
    veil_access_control_free(by_ch);
    send_via(&n, &c_ch, "by_channel", "another channel");
    send_via(&n, &a_ch, "by_channel", "this channel");
    PUMP_UNTIL(n.w.node, s_ch.count == 1);
    assert_string_equal(s_ch.info.peer_identifier, alice_id);
    net_down(&n);
}

/* ---- relaying ------------------------------------------------------------- */

static int hop_start(veil_context *ctx, void *state)
{
    (void)state;
    return veil_ctx_set_network_facing(ctx, NULL);
}

static void test_default_node_does_not_relay(void **state)
{
    (void)state;
    net n;
    /* auto_connect on: only the relay rule stands in the way */
    net_up(&n, "[transport.tcp]\nplugin = tcp\nauto_connect = true\n");
    veil_worker_ops hop = hop_ops;
    hop.start = hop_start;
    unsigned hops = 0;
    assert_int_equal(veil_ctx_start_worker(n.w.app, "hop", &hop, &hops), 0);
    assert_error(veil_ctx_start_relay(n.w.app, "relay", NULL), VEIL_EDENIED,
                 "relay 'relay': this node does not relay ([node] relay = false; "
                 "docs/CONFIG.md)");
    veil_transport_stats t0, t1;
    assert_int_equal(veil_node_transport_stats(n.w.node, "tcp", &t0), 0);
    veil_node_stats s0 = stats(n.w.node);
    logs_start();
    send_tcp_frame(n.fd, "1#127.0.0.1:9 => echoer", "mallory", "through the router");
    send_tcp_frame(n.fd, "hop => 1#127.0.0.1:9 => echoer", "mallory", "through a hop");
    PUMP_UNTIL(n.w.node, stats(n.w.node).dropped_access == s0.dropped_access + 2);
    logs_stop();
    assert_int_equal(hops, 1);
    assert_int_equal(stats(n.w.node).handler_errors, s0.handler_errors + 1); /* VEIL_EDENIED */
    assert_non_null(strstr(LOGS.text, "refused a message to '1#127.0.0.1:9' from connection"));
    assert_non_null(strstr(LOGS.text, "this node does not relay ([node] relay = false)"));
    assert_int_equal(veil_node_transport_stats(n.w.node, "tcp", &t1), 0);
    assert_int_equal(t1.connections_dialed, t0.connections_dialed); /* nothing dialed */
    net_down(&n);
}

static void test_relay_role(void **state)
{
    (void)state;
    net n;
    net_up(&n, "[node]\nrelay = true\n[transport.tcp]\nplugin = tcp\n");
    assert_int_equal(veil_ctx_start_relay(n.w.app, "relay", NULL), 0);
    /* The stranger's message goes through the relay, out over this node's
     * own connection (to itself) and back in: the echoer is local only, so
     * what the relay forwarded from the network still stays out of it, but
     * the relay rule let it leave. */
    char route[128];
    snprintf(route, sizeof route, "relay => 1#127.0.0.1:%d => relay => echoer", n.port);
    veil_node_stats s0 = stats(n.w.node);
    send_tcp_frame(n.fd, route, "mallory", "relayed");
    PUMP_UNTIL(n.w.node, stats(n.w.node).dropped_local_only == s0.dropped_local_only + 1);
    assert_int_equal(n.w.echo.count, 0);
    assert_int_equal(stats(n.w.node).handler_errors, s0.handler_errors);
    net_down(&n);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_peer_refused),
        cmocka_unit_test(test_channel_peer_refused_by_flow_control),
        cmocka_unit_test(test_identifiers_and_trust_policy),
        cmocka_unit_test(test_default_node_does_not_relay),
        cmocka_unit_test(test_relay_role),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
