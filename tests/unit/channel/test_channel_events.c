/* Listener callbacks (veil_secure_channel_listener_open_with): on_open with
 * the peer's identifier, the channel's address and the key agreement;
 * on_close once per opened channel with the reason; nothing for a refused
 * handshake.  Node-wide close subscribers (veil_secure_channel_on_close):
 * both ends, initiator and responder, once each with the reason; removal
 * from inside a notification; nothing for an open that failed. */
#include "world.h"
#include "assert_error.h"

#define MAX_EVENTS 8

typedef struct seen {
    unsigned opens, closes;
    int stop_rc;                  /* veil_node_stop from on_close */
    struct {
        veil_address channel;
        char peer[VEIL_IDENTIFIER_LEN + 1];
        char ka[VEIL_KA_PROTOCOL_NAME_MAX + 1];
        int reason;
        char detail[512];
    } ev[MAX_EVENTS];
    unsigned n;
} seen;

static void keep(seen *s, const veil_secure_channel_event *ev)
{
    assert_true(s->n < MAX_EVENTS);
    s->ev[s->n].channel = *ev->channel;
    snprintf(s->ev[s->n].peer, sizeof s->ev[s->n].peer, "%s", ev->peer_identifier);
    snprintf(s->ev[s->n].ka, sizeof s->ev[s->n].ka, "%s", ev->key_agreement);
    s->ev[s->n].reason = ev->reason;
    snprintf(s->ev[s->n].detail, sizeof s->ev[s->n].detail, "%s", ev->detail);
    s->n++;
}

static void on_open(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    (void)node;
    seen *s = user;
    s->opens++;
    keep(s, ev);
}

static void on_close(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    (void)node;
    seen *s = user;
    s->closes++;
    keep(s, ev);
    s->stop_rc = veil_node_stop(node); /* refused: inside a callback */
}

/* Bob listens at "bob" trusting only Alice, with the callbacks into s. */
static void listen_with(world *w, seen *s)
{
    memset(s, 0, sizeof *s);
    veil_secure_channel_listener_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.on_open = on_open;
    o.on_close = on_close;
    o.user = s;
    assert_int_equal(veil_secure_channel_listener_open_with(w->bob, "bob",
                                                            trust_only(w->node, w->alice), &o),
                     0);
}

/* Open Alice's channel to "bob", round trip; *bob_side gets the address
 * of Bob's end (what the echoer saw the message arrive through). */
static void open_pair(world *w, veil_address *alice_side, veil_address *bob_side)
{
    assert_int_equal(pair_create(w, "bob", alice_side), 0);
    round_trip(w->app, alice_side, "hello");
    assert_true(w->echo.last_info.via_channel);
    *bob_side = w->echo.last_info.channel;
}

static void test_open_then_peer_closes(void **state)
{
    (void)state;
    world w;
    seen s;
    pair_up(&w, NULL, NULL);
    listen_with(&w, &s);
    veil_address a, b;
    open_pair(&w, &a, &b);
    assert_int_equal(s.opens, 1);
    assert_int_equal(s.closes, 0);
    assert_true(veil_address_equal(&s.ev[0].channel, &b));
    assert_string_equal(s.ev[0].peer, veil_entity_identifier(w.alice));
    assert_string_equal(s.ev[0].ka, "Noise_XX_25519_AESGCM_SHA256");
    assert_int_equal(s.ev[0].reason, 0);
    assert_string_equal(s.ev[0].detail, "");
    /* the listener closes; its channel stays and is still reported */
    assert_int_equal(veil_secure_channel_listener_close(w.node, "bob"), 0);
    settle(w.node);
    assert_int_equal(s.closes, 0);
    assert_int_equal(veil_secure_channel_close(w.node, &a), 0); /* Alice's end */
    settle(w.node);
    assert_int_equal(s.opens, 1);
    assert_int_equal(s.closes, 1);
    assert_true(veil_address_equal(&s.ev[1].channel, &b));
    assert_string_equal(s.ev[1].peer, veil_entity_identifier(w.alice));
    assert_int_equal(s.ev[1].reason, VEIL_ECLOSED);
    char want[256];
    snprintf(want, sizeof want, "closed by the peer %s", veil_entity_identifier(w.alice));
    assert_string_equal(s.ev[1].detail, want);
    pair_down(&w);
    assert_int_equal(s.closes, 1); /* not again at node stop */
}

static void test_closed_locally_and_node_stop(void **state)
{
    (void)state;
    world w;
    seen s;
    pair_up(&w, NULL, NULL);
    listen_with(&w, &s);
    veil_address a, b, a2, b2;
    open_pair(&w, &a, &b);
    open_pair(&w, &a2, &b2);
    assert_int_equal(s.opens, 2);
    assert_false(veil_address_equal(&b, &b2));
    assert_int_equal(veil_secure_channel_close(w.node, &b), 0); /* Bob's end */
    settle(w.node);
    assert_int_equal(s.closes, 1);
    assert_true(veil_address_equal(&s.ev[2].channel, &b));
    assert_int_equal(s.ev[2].reason, 0);
    assert_string_equal(s.ev[2].detail, "closed locally");
    /* the node stops with b2 open */
    assert_int_equal(veil_node_stop(w.node), 0);
    assert_int_equal(s.closes, 2);
    assert_true(veil_address_equal(&s.ev[3].channel, &b2));
    assert_int_equal(s.ev[3].reason, VEIL_ESTOPPED);
    assert_string_equal(s.ev[3].detail, "the node stopped");
    assert_int_equal(s.stop_rc, VEIL_ESTATE);
    pair_down(&w);
    assert_int_equal(s.closes, 2);
}

/* The route under the channel is lost (a transport reports its first
 * hop gone): VEIL_ENOROUTE with the transport's reason. */
static void test_route_lost(void **state)
{
    (void)state;
    world w;
    seen s;
    unsigned hops = 0;
    pair_up(&w, NULL, NULL);
    listen_with(&w, &s);
    assert_int_equal(veil_ctx_start_worker(w.app, "hop1", &hop_ops, &hops), 0);
    veil_address a;
    assert_int_equal(pair_create(&w, "hop1,bob", &a), 0);
    settle(w.node);
    assert_int_equal(s.opens, 1);
    veil_address hop;
    assert_int_equal(veil_address_parse(&hop, "hop1"), 0);
    logs_start();
    veil_node_route_lost(w.node, &hop, VEIL_ECLOSED, "the test cut it");
    settle(w.node);
    logs_stop();
    assert_int_equal(s.closes, 1);
    assert_true(veil_address_equal(&s.ev[1].channel, &s.ev[0].channel));
    assert_string_equal(s.ev[1].peer, veil_entity_identifier(w.alice));
    assert_int_equal(s.ev[1].reason, VEIL_ENOROUTE);
    if (strstr(s.ev[1].detail, "hop1' was lost: the test cut it") == NULL)
        fail_msg("detail: %s", s.ev[1].detail);
    pair_down(&w);
    assert_int_equal(s.closes, 1);
}

/* A refused handshake opened nothing: no callback at all. */
static void test_refused_tells_nothing(void **state)
{
    (void)state;
    world w;
    seen s;
    pair_up(&w, NULL, NULL);
    world_add(&w, WORLD_CAROL);
    listen_with(&w, &s);
    veil_route r = route_of("bob");
    veil_address ch;
    logs_start();
    assert_int_equal(veil_secure_channel_open(w.carol, &r, trust_only(w.node, w.bob), &ch),
                     VEIL_EDENIED);
    settle(w.node);
    logs_stop();
    pair_down(&w);
    assert_int_equal(s.opens, 0);
    assert_int_equal(s.closes, 0);
}

static void test_options_checked(void **state)
{
    (void)state;
    world w;
    pair_up(&w, NULL, NULL);
    veil_secure_channel_listener_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof(size_t);
    assert_error(veil_secure_channel_listener_open_with(w.bob, "bob", trust_only(w.node, w.alice),
                                                        &o),
                 VEIL_EINVAL, "veil_secure_channel_listener_open: options size is too small "
                 "(set it to sizeof(veil_secure_channel_listener_options))");
    /* no options: the plain listener */
    assert_int_equal(veil_secure_channel_listener_open_with(w.bob, "bob",
                                                            trust_only(w.node, w.alice), NULL),
                     0);
    veil_address a;
    assert_int_equal(pair_create(&w, "bob", &a), 0);
    pair_down(&w);
}

/* ---- node-wide close subscribers -------------------------------------- */

/* on_close (above) is a subscriber too: it also checks the node cannot be
 * stopped from inside. */
static void subscriber_once(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    on_close(node, ev, user);
    veil_secure_channel_off_close(node, subscriber_once, user);
}

static void test_subscribers(void **state)
{
    (void)state;
    world w;
    seen s, once;
    memset(&s, 0, sizeof s);
    memset(&once, 0, sizeof once);
    pair_up(&w, NULL, "bob");
    assert_error(veil_secure_channel_on_close(w.node, NULL, &s), VEIL_EINVAL,
                 "veil_secure_channel_on_close: node and fn must not be NULL");
    assert_int_equal(veil_secure_channel_on_close(w.node, on_close, &s), 0);
    assert_int_equal(veil_secure_channel_on_close(w.node, subscriber_once, &once), 0);
    veil_address a, b, a2, b2;
    open_pair(&w, &a, &b);
    assert_int_equal(veil_secure_channel_close(w.node, &a), 0); /* Alice's end */
    /* told inside the close call, before any loop round */
    assert_int_equal(s.closes, 1);
    assert_true(veil_address_equal(&s.ev[0].channel, &a));
    assert_string_equal(s.ev[0].peer, veil_entity_identifier(w.bob));
    assert_string_equal(s.ev[0].ka, "Noise_XX_25519_AESGCM_SHA256");
    assert_int_equal(s.ev[0].reason, 0);
    assert_string_equal(s.ev[0].detail, "closed locally");
    settle(w.node);
    assert_int_equal(s.closes, 2); /* Bob's end when the CLOSE arrived */
    assert_true(veil_address_equal(&s.ev[1].channel, &b));
    assert_string_equal(s.ev[1].peer, veil_entity_identifier(w.alice));
    assert_int_equal(s.ev[1].reason, VEIL_ECLOSED);
    assert_int_equal(once.closes, 1); /* it removed itself inside the first */
    /* an open that fails is told by its completion only */
    world_add(&w, WORLD_CAROL);
    veil_route r = route_of("bob");
    logs_start();
    assert_int_equal(veil_secure_channel_open(w.carol, &r, trust_only(w.node, w.bob), &a2),
                     VEIL_EDENIED);
    settle(w.node);
    logs_stop();
    assert_int_equal(s.closes, 2);
    /* the node's stop closes the rest: both ends told, VEIL_ESTOPPED */
    open_pair(&w, &a2, &b2);
    veil_secure_channel_off_close(w.node, subscriber_once, &once); /* none: nothing happens */
    assert_int_equal(veil_node_stop(w.node), 0);
    assert_int_equal(s.closes, 4);
    assert_int_equal(s.ev[2].reason, VEIL_ESTOPPED);
    assert_int_equal(s.ev[3].reason, VEIL_ESTOPPED);
    assert_int_equal(once.closes, 1);
    assert_int_equal(s.stop_rc, VEIL_ESTATE);
    pair_down(&w);
    assert_int_equal(s.closes, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_then_peer_closes),
        cmocka_unit_test(test_closed_locally_and_node_stop),
        cmocka_unit_test(test_route_lost),
        cmocka_unit_test(test_refused_tells_nothing),
        cmocka_unit_test(test_options_checked),
        cmocka_unit_test(test_subscribers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
