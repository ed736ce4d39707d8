/* Channels that heal (veil_secure_channel_open_with, resilient): two nodes
 * (three for the identity test) in one process over real loopback TCP,
 * through a proxy the test drives (tests/support/tcp_proxy.h).
 *  - the connection is cut and dials are refused for a while: RECONNECTING
 *    (VEIL_ENOROUTE), sends fail with VEIL_EAGAIN and deliver nothing, then
 *    OPENED once dials work again; messages flow over the same address,
 *    each delivered once;
 *  - the proxy stops forwarding (a silent dead path): the keep-alive sees it
 *    within dead_after_ms (+ one ping interval), the responder frees its end
 *    after the silence it was told, and the channel heals when the path
 *    carries again;
 *  - every dial is taken and closed at once: the delays between attempts
 *    stay in the backoff bounds and after max_attempts the channel closes
 *    with VEIL_ETIMEDOUT;
 *  - the route leads to another identity: refused, closed with VEIL_EAUTH;
 *    the same identity after a key rotation: accepted;
 *  - a channel with keep-alive but no healing closes on a silent path;
 *  - the peer freezes behind a connection that stays up (the proxy stops
 *    forwarding on it but takes new ones): the first hop is dropped when
 *    the path is found dead and the next attempt dials a new connection, so
 *    the channel heals within dead_after_ms + backoff, not at the handshake
 *    timeout; a connection that still carries something is kept, and so is
 *    one that a channel without keep-alive rides on too. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <veil/veil.h>

#include "node_text.h"
#include "tcp_proxy.h"

#define MAX_EV 64

typedef struct hw {
    veil_node *a, *b, *c;
    veil_context *app_a, *app_b, *app_c;
    veil_entity *ea, *eb, *ec;
    uint16_t b_port, c_port;
    tcp_proxy px;
    veil_address ch;
    unsigned echoed;                  /* messages B's (or C's) echoer got */
    struct {
        int kind, reason;
        char detail[320];
        uint64_t at;
    } ev[MAX_EV];
    unsigned nev;
    unsigned b_opens, b_closes;
    int b_reason;
    uint64_t b_closed_at;
} hw;

static int echo(veil_context *ctx, void *state, veil_message *msg)
{
    unsigned *n = state;
    (*n)++;
    return veil_ctx_reply_message(ctx, msg, NULL, 0);
}

static const veil_worker_ops echo_ops = { .size = sizeof(veil_worker_ops),
                                          .handle_message = echo };

static void on_event(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    hw *w = user;
    (void)node;
    assert_true(w->nev < MAX_EV);
    w->ev[w->nev].kind = ev->kind;
    w->ev[w->nev].reason = ev->reason;
    snprintf(w->ev[w->nev].detail, sizeof w->ev[w->nev].detail, "%s", ev->detail);
    w->ev[w->nev].at = tcp_proxy_now_ms();
    w->nev++;
}

static void b_open(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    (void)node;
    (void)ev;
    ((hw *)user)->b_opens++;
}

static void b_close(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    hw *w = user;
    (void)node;
    w->b_closes++;
    w->b_reason = ev->reason;
    w->b_closed_at = tcp_proxy_now_ms();
}

/* A responder node: an entity, "listener" trusting everyone that lets
 * channels reach "echoer", TCP on 127.0.0.1:0. */
static void responder(hw *w, veil_node **n, veil_context **app, veil_entity **e, uint16_t *port)
{
    veil_trust_policy *everyone;
    veil_address bound;
    const char *echoer = "echoer";
    veil_secure_channel_listener_options lo = { sizeof lo, b_open, b_close, w };
    assert_int_equal(node_new_from_text("", n, app), 0);
    assert_int_equal(veil_entity_open(*n, NULL, NULL, VEIL_ENTITY_CREATE, e), 0);
    assert_int_equal(veil_trust_policy_new(*n, "everyone", NULL, &everyone), 0);
    assert_int_equal(veil_secure_channel_listener_open_with(*e, "listener", everyone, &lo), 0);
    assert_int_equal(veil_secure_channel_listener_allow(*n, "listener", &echoer, 1), 0);
    assert_int_equal(veil_ctx_start_worker(*app, "echoer", &echo_ops, &w->echoed), 0);
    assert_int_equal(veil_node_transport_listen(*n, "tcp", "127.0.0.1:0", &bound), 0);
    const char *colon = strrchr(bound.bytes, ':');
    assert_non_null(colon);
    *port = (uint16_t)atoi(colon + 1);
}

static void round_once(hw *w)
{
    assert_int_equal(veil_node_run_once(w->a, 1), 0);
    assert_int_equal(veil_node_run_once(w->b, 1), 0);
    if (w->c != NULL)
        assert_int_equal(veil_node_run_once(w->c, 1), 0);
    tcp_proxy_pump(&w->px);
}

static void run_for(hw *w, unsigned ms)
{
    for (uint64_t until = tcp_proxy_now_ms() + ms; tcp_proxy_now_ms() < until;)
        round_once(w);
}

/* Run until event number i came (asserted within ms); its time. */
static uint64_t wait_event(hw *w, unsigned i, unsigned ms)
{
    for (uint64_t until = tcp_proxy_now_ms() + ms; w->nev <= i && tcp_proxy_now_ms() < until;)
        round_once(w);
    if (w->nev <= i)
        fail_msg("event %u did not come within %u ms (%u so far)", i, ms, w->nev);
    return w->ev[i].at;
}

/* Send text through [channel, "echoer"]; expect the echo back once. */
static void round_trip(hw *w, const char *text)
{
    veil_route r;
    veil_message *m = NULL;
    unsigned before = w->echoed;
    veil_route_init(&r);
    assert_int_equal(veil_route_append(&r, &w->ch), 0);
    assert_int_equal(veil_route_append_str(&r, "echoer"), 0);
    assert_int_equal(veil_ctx_send(w->app_a, &r, text, strlen(text)), 0);
    for (uint64_t until = tcp_proxy_now_ms() + 3000; m == NULL && tcp_proxy_now_ms() < until;) {
        round_once(w);
        if (veil_ctx_receive(w->app_a, &m, 0) != 0)
            m = NULL;
    }
    assert_non_null(m);
    size_t n;
    const uint8_t *p = veil_message_payload(m, &n);
    assert_int_equal(n, strlen(text));
    assert_memory_equal(p, text, n);
    veil_message_free(m);
    assert_int_equal(w->echoed, before + 1);
    run_for(w, 50); /* nothing comes twice */
    assert_int_equal(veil_ctx_receive(w->app_a, &m, 0), VEIL_ETIMEDOUT);
    assert_int_equal(w->echoed, before + 1);
}

static void opened(veil_node *node, int rc, const veil_address *channel, const char *detail,
                   void *user)
{
    (void)node;
    (void)channel;
    (void)detail;
    *(int *)user = rc;
}

/* A, B, the proxy in front of B, and A's channel to B's listener through
 * it, opened with o (plus the event callback) and checked by a round trip. */
static void up(hw *w, const veil_secure_channel_options *o, const char *a_config)
{
    veil_trust_policy *trust_b;
    veil_route r;
    char text[96];
    memset(w, 0, sizeof *w);
    responder(w, &w->b, &w->app_b, &w->eb, &w->b_port);
    tcp_proxy_start(&w->px, w->b_port);
    assert_int_equal(node_new_from_text(a_config, &w->a, &w->app_a), 0);
    assert_int_equal(veil_entity_open(w->a, NULL, NULL, VEIL_ENTITY_CREATE, &w->ea), 0);
    const char *id = veil_entity_identifier(w->eb);
    assert_int_equal(veil_trust_policy_new_identifier(w->a, &id, 1, &trust_b), 0);
    snprintf(text, sizeof text, "127.0.0.1:%u", w->px.port);
    assert_int_equal(veil_node_transport_connect(w->a, "tcp", text, NULL), 0);
    snprintf(text, sizeof text, "1#127.0.0.1:%u => listener", w->px.port);
    assert_int_equal(veil_route_parse(&r, text), 0);
    veil_secure_channel_options opts = *o;
    opts.on_event = on_event;
    opts.user = w;
    int rc = 1;
    assert_int_equal(veil_secure_channel_open_async_with(w->ea, &r, trust_b, &opts, opened, &rc,
                                                         &w->ch),
                     0);
    for (uint64_t until = tcp_proxy_now_ms() + 5000; rc == 1 && tcp_proxy_now_ms() < until;)
        round_once(w);
    assert_int_equal(rc, 0);
    assert_int_equal(veil_secure_channel_reconnecting(w->a, &w->ch), 0);
    round_trip(w, "first");
    assert_int_equal(w->nev, 0); /* the first open is the completion's */
}

static void down(hw *w)
{
    veil_entity_close(w->ea);
    veil_entity_close(w->eb);
    veil_entity_close(w->ec);
    assert_int_equal(veil_node_free(w->a), 0);
    assert_int_equal(veil_node_free(w->b), 0);
    if (w->c != NULL)
        assert_int_equal(veil_node_free(w->c), 0);
    tcp_proxy_stop(&w->px);
}

static void to_echoer(const hw *w, veil_route *r)
{
    veil_route_init(r);
    assert_int_equal(veil_route_append(r, &w->ch), 0);
    assert_int_equal(veil_route_append_str(r, "echoer"), 0);
}

static void test_cut_then_heal(void **state)
{
    (void)state;
    hw w;
    veil_route r;
    veil_secure_channel_options o = { .size = sizeof o, .resilient = true,
                                      .ping_interval_ms = 200, .dead_after_ms = 1000,
                                      .backoff_min_ms = 50, .backoff_max_ms = 200 };
    up(&w, &o, "");
    tcp_proxy_refuse(&w.px); /* dials fail until it listens again */
    tcp_proxy_cut(&w.px);
    wait_event(&w, 0, 2000);
    assert_int_equal(w.ev[0].kind, VEIL_SECURE_CHANNEL_RECONNECTING);
    assert_int_equal(w.ev[0].reason, VEIL_ENOROUTE);
    assert_non_null(strstr(w.ev[0].detail, "was lost"));
    assert_int_equal(veil_secure_channel_reconnecting(w.a, &w.ch), 1);
    /* sends during the gap fail at once and nothing is delivered for them */
    unsigned before = w.echoed;
    to_echoer(&w, &r);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(veil_ctx_send(w.app_a, &r, "gap", 3), VEIL_EAGAIN);
        run_for(&w, 150);
    }
    assert_int_equal(w.echoed, before);
    assert_int_equal(w.nev, 1); /* failed attempts tell nothing */
    uint64_t back = tcp_proxy_now_ms();
    tcp_proxy_listen(&w.px);
    uint64_t at = wait_event(&w, 1, 3000);
    assert_int_equal(w.ev[1].kind, VEIL_SECURE_CHANNEL_OPENED);
    assert_int_equal(w.ev[1].reason, 0);
    assert_true(at - back <= 200 + 800); /* one backoff_max_ms and a handshake */
    assert_int_equal(veil_secure_channel_reconnecting(w.a, &w.ch), 0);
    round_trip(&w, "second"); /* the same address */
    round_trip(&w, "third");
    assert_int_equal(w.echoed, before + 2);
    assert_int_equal(w.b_opens, 2);
    assert_int_equal(w.b_closes, 1); /* the old responder, its connection gone */
    assert_int_equal(w.b_reason, VEIL_ENOROUTE);
    assert_int_equal(veil_secure_channel_close(w.a, &w.ch), 0);
    run_for(&w, 100);
    assert_int_equal(w.nev, 3);
    assert_int_equal(w.ev[2].kind, VEIL_SECURE_CHANNEL_CLOSED);
    assert_int_equal(w.ev[2].reason, 0);
    assert_int_equal(w.b_closes, 2);
    assert_int_equal(w.b_reason, VEIL_ECLOSED);
    down(&w);
}

static void test_silent_path_detected(void **state)
{
    (void)state;
    hw w;
    veil_secure_channel_options o = { .size = sizeof o, .resilient = true,
                                      .ping_interval_ms = 100, .dead_after_ms = 500,
                                      .backoff_min_ms = 50, .backoff_max_ms = 100 };
    up(&w, &o, "[secure_channel]\nhandshake_timeout_ms = 400\n");
    run_for(&w, 300); /* pings go and come back: nothing happens */
    assert_int_equal(w.nev, 0);
    uint64_t frozen = tcp_proxy_now_ms();
    w.px.frozen = true; /* connections stay up, nothing passes */
    uint64_t at = wait_event(&w, 0, 3000);
    assert_int_equal(w.ev[0].kind, VEIL_SECURE_CHANNEL_RECONNECTING);
    assert_int_equal(w.ev[0].reason, VEIL_ETIMEDOUT);
    assert_non_null(strstr(w.ev[0].detail, "the path is dead"));
    print_message("dead path detected after %llu ms (dead_after_ms 500, ping 100)\n",
                  (unsigned long long)(at - frozen));
    /* the last frame may precede the freeze by a ping interval and a
     * loaded machine's scheduling delay */
    assert_true(at - frozen >= 500 - 200);
    assert_true(at - frozen <= 500 + 100 + 150);
    /* the responder heard dead_after_ms in the pings: it frees its end
     * after that much silence, at least 1 s, checked every half of it */
    for (uint64_t until = tcp_proxy_now_ms() + 2000; w.b_closes == 0 &&
         tcp_proxy_now_ms() < until;)
        round_once(&w);
    assert_int_equal(w.b_closes, 1);
    assert_int_equal(w.b_reason, VEIL_ETIMEDOUT);
    print_message("responder freed its end after %llu ms of silence\n",
                  (unsigned long long)(w.b_closed_at - frozen));
    assert_true(w.b_closed_at - frozen >= 1000);
    assert_true(w.b_closed_at - frozen <= 1000 + 500 + 150);
    /* the path carries again: the next attempt opens */
    w.px.frozen = false;
    wait_event(&w, 1, 3000);
    assert_int_equal(w.ev[1].kind, VEIL_SECURE_CHANNEL_OPENED);
    round_trip(&w, "after");
    down(&w);
}

static void hop_address(const hw *w, uint16_t port, veil_address *hop)
{
    char text[32];
    snprintf(text, sizeof text, "127.0.0.1:%u", port);
    (void)w;
    assert_int_equal(veil_address_set(hop, VEIL_ADDRESS_TYPE_TCP, text, strlen(text)), 0);
}

static void test_frozen_peer_redials(void **state)
{
    (void)state;
    hw w;
    veil_address hop, other, local;
    veil_secure_channel_options o = { .size = sizeof o, .resilient = true,
                                      .ping_interval_ms = 100, .dead_after_ms = 500,
                                      .backoff_min_ms = 50, .backoff_max_ms = 100 };
    up(&w, &o, "[secure_channel]\nhandshake_timeout_ms = 5000\n");
    run_for(&w, 300);
    /* pongs come in on it: kept; no such connection; not a transport */
    hop_address(&w, w.px.port, &hop);
    assert_int_equal(veil_node_transport_drop(w.a, &hop, 60000, "test"), 0);
    hop_address(&w, w.b_port, &other);
    assert_int_equal(veil_node_transport_drop(w.a, &other, 0, "test"), VEIL_ENOTFOUND);
    assert_int_equal(veil_address_set(&local, VEIL_ADDRESS_TYPE_LOCAL, "echoer", 6), 0);
    assert_int_equal(veil_node_transport_drop(w.a, &local, 0, "test"), VEIL_EINVAL);
    round_trip(&w, "kept");
    assert_int_equal(w.nev, 0);
    unsigned accepted = w.px.accepted;
    uint64_t frozen = tcp_proxy_now_ms();
    tcp_proxy_freeze_open(&w.px); /* the connection stays up, nothing passes */
    uint64_t lost = wait_event(&w, 0, 3000);
    assert_int_equal(w.ev[0].kind, VEIL_SECURE_CHANNEL_RECONNECTING);
    assert_int_equal(w.ev[0].reason, VEIL_ETIMEDOUT);
    uint64_t at = wait_event(&w, 1, 3000);
    assert_int_equal(w.ev[1].kind, VEIL_SECURE_CHANNEL_OPENED);
    print_message("frozen peer: dead after %llu ms, open again after %llu ms (dead_after_ms "
                  "500, backoff 50..100, handshake_timeout_ms 5000)\n",
                  (unsigned long long)(lost - frozen), (unsigned long long)(at - frozen));
    assert_true(at - frozen <= 500 + 100 + 100 + 500);
    assert_int_equal(w.px.accepted, accepted + 1); /* one new connection, */
    round_trip(&w, "after");
    down(&w);
}

/* A second, plain channel (no keep-alive) over the same connection: its
 * silence proves nothing, so the frozen connection is kept (and the plain
 * channel lives on) while the resilient one reconnects over it. */
static void test_frozen_hop_kept_for_plain_channel(void **state)
{
    (void)state;
    hw w;
    veil_route r;
    veil_address plain;
    veil_trust_policy *trust_b;
    char text[96];
    veil_secure_channel_options o = { .size = sizeof o, .resilient = true,
                                      .ping_interval_ms = 100, .dead_after_ms = 500,
                                      .backoff_min_ms = 50, .backoff_max_ms = 100 };
    veil_secure_channel_options po = { .size = sizeof po };
    up(&w, &o, "[secure_channel]\nhandshake_timeout_ms = 5000\n");
    const char *id = veil_entity_identifier(w.eb);
    assert_int_equal(veil_trust_policy_new_identifier(w.a, &id, 1, &trust_b), 0);
    snprintf(text, sizeof text, "1#127.0.0.1:%u => listener", w.px.port);
    assert_int_equal(veil_route_parse(&r, text), 0);
    int rc = 1;
    assert_int_equal(veil_secure_channel_open_async_with(w.ea, &r, trust_b, &po, opened, &rc,
                                                         &plain),
                     0);
    for (uint64_t until = tcp_proxy_now_ms() + 5000; rc == 1 && tcp_proxy_now_ms() < until;)
        round_once(&w);
    assert_int_equal(rc, 0);
    unsigned accepted = w.px.accepted;
    tcp_proxy_freeze_open(&w.px);
    wait_event(&w, 0, 3000);
    assert_int_equal(w.ev[0].kind, VEIL_SECURE_CHANNEL_RECONNECTING);
    assert_int_equal(w.ev[0].reason, VEIL_ETIMEDOUT);
    run_for(&w, 400); /* past the first backoff: the attempt reuses the connection */
    assert_int_equal(w.px.accepted, accepted);
    assert_int_equal(w.nev, 1);
    assert_int_equal(veil_secure_channel_reconnecting(w.a, &plain), 0); /* still there */
    down(&w);
}

static void test_backoff_and_give_up(void **state)
{
    (void)state;
    hw w;
    enum { MIN = 40, MAX = 200, N = 6 };
    veil_secure_channel_options o = { .size = sizeof o, .resilient = true,
                                      .backoff_min_ms = MIN, .backoff_max_ms = MAX,
                                      .max_attempts = N };
    up(&w, &o, "");
    w.px.slam = true; /* every dial is taken and closed at once */
    unsigned seen = w.px.accepted;
    tcp_proxy_cut(&w.px);
    wait_event(&w, 0, 2000);
    uint64_t lost = w.ev[0].at;
    wait_event(&w, 1, 5000);
    assert_int_equal(w.ev[1].kind, VEIL_SECURE_CHANNEL_CLOSED);
    assert_int_equal(w.ev[1].reason, VEIL_ETIMEDOUT);
    assert_non_null(strstr(w.ev[1].detail, "gave up after 6 reconnect attempt(s)"));
    assert_int_equal(w.px.accepted - seen, N); /* one dial per attempt */
    /* attempt k waits in [max(MIN, b/2), b], b = min(MAX, MIN * 2^k) */
    uint64_t prev = lost;
    for (unsigned k = 0; k < N; k++) {
        uint64_t b = (uint64_t)MIN << k > MAX ? MAX : (uint64_t)MIN << k;
        uint64_t lo = b / 2 > MIN ? b / 2 : MIN;
        uint64_t gap = w.px.accepted_ms[seen + k] - prev;
        print_message("attempt %u after %llu ms (bounds %llu..%llu)\n", k + 1,
                      (unsigned long long)gap, (unsigned long long)lo, (unsigned long long)b);
        assert_true(gap + 2 >= lo);   /* clocks of two reads: 2 ms */
        /* plus the dial and the failure of the one before, and the
         * scheduling of a loaded machine (295 ms against b + 60 was seen
         * in a full suite next to other builds); an uncapped backoff
         * (640 and 1280 ms at attempts 5 and 6) still fails this */
        assert_true(gap <= b + 250);
        prev = w.px.accepted_ms[seen + k];
    }
    veil_route r;
    to_echoer(&w, &r);
    assert_int_equal(veil_ctx_send(w.app_a, &r, "late", 4), VEIL_ENOROUTE); /* it is gone */
    down(&w);
}

/* Keep-alive without healing: a silent path closes the channel
 * (VEIL_ETIMEDOUT, told to the close subscribers); sends then find no
 * channel. */
static void test_silent_path_closes_plain_channel(void **state)
{
    (void)state;
    hw w;
    veil_route r;
    veil_secure_channel_options o = { .size = sizeof o, .resilient = false,
                                      .ping_interval_ms = 100, .dead_after_ms = 400 };
    up(&w, &o, "");
    assert_int_equal(veil_secure_channel_on_close(w.a, on_event, &w), 0);
    uint64_t frozen = tcp_proxy_now_ms();
    w.px.frozen = true;
    uint64_t at = wait_event(&w, 0, 3000);
    assert_int_equal(w.ev[0].kind, VEIL_SECURE_CHANNEL_CLOSED);
    assert_int_equal(w.ev[0].reason, VEIL_ETIMEDOUT);
    assert_non_null(strstr(w.ev[0].detail, "the path is dead"));
    assert_true(at - frozen <= 400 + 100 + 150);
    to_echoer(&w, &r);
    assert_int_equal(veil_ctx_send(w.app_a, &r, "gone", 4), VEIL_ENOROUTE);
    run_for(&w, 100);
    assert_int_equal(w.nev, 1); /* no reconnecting, nothing else */
    veil_secure_channel_off_close(w.a, on_event, &w);
    down(&w);
}

/* B rotates its key while the path is down: the heal finds the same
 * identity (its identifier) proving a longer history, and opens. */
static void test_rotated_peer_accepted(void **state)
{
    (void)state;
    hw w;
    veil_secure_channel_options o = { .size = sizeof o, .resilient = true,
                                      .backoff_min_ms = 20, .backoff_max_ms = 50 };
    up(&w, &o, "");
    char before[VEIL_IDENTIFIER_LEN + 1];
    snprintf(before, sizeof before, "%s", veil_entity_identifier(w.eb));
    tcp_proxy_refuse(&w.px);
    tcp_proxy_cut(&w.px);
    wait_event(&w, 0, 2000);
    assert_int_equal(veil_entity_rotate(w.eb), 0);
    assert_string_equal(veil_entity_identifier(w.eb), before);
    tcp_proxy_listen(&w.px);
    wait_event(&w, 1, 3000);
    assert_int_equal(w.ev[1].kind, VEIL_SECURE_CHANNEL_OPENED);
    round_trip(&w, "rotated");
    down(&w);
}

/* C: another identity behind the same port. */
static void test_other_identity_refused(void **state)
{
    (void)state;
    hw w;
    veil_secure_channel_options o = { .size = sizeof o, .resilient = true,
                                      .backoff_min_ms = 20, .backoff_max_ms = 50 };
    up(&w, &o, "");
    responder(&w, &w.c, &w.app_c, &w.ec, &w.c_port);
    unsigned echoed = w.echoed;
    w.px.backend = w.c_port;
    tcp_proxy_cut(&w.px);
    wait_event(&w, 0, 2000);
    assert_int_equal(w.ev[0].kind, VEIL_SECURE_CHANNEL_RECONNECTING);
    wait_event(&w, 1, 3000);
    assert_int_equal(w.ev[1].kind, VEIL_SECURE_CHANNEL_CLOSED);
    assert_int_equal(w.ev[1].reason, VEIL_EAUTH);
    assert_non_null(strstr(w.ev[1].detail, veil_entity_identifier(w.ec)));
    assert_non_null(strstr(w.ev[1].detail, veil_entity_identifier(w.eb)));
    assert_int_equal(w.echoed, echoed);
    run_for(&w, 100);
    assert_int_equal(w.nev, 2);
    down(&w);
}

static void test_options_checked(void **state)
{
    (void)state;
    veil_node *n;
    veil_context *app;
    veil_entity *e;
    veil_trust_policy *p;
    veil_route r;
    veil_address ch;
    assert_int_equal(node_new_from_text("", &n, &app), 0);
    assert_int_equal(veil_entity_open(n, NULL, NULL, VEIL_ENTITY_CREATE, &e), 0);
    assert_int_equal(veil_route_parse(&r, "listener"), 0);
    veil_secure_channel_options o = { .size = sizeof o, .resilient = true,
                                      .backoff_min_ms = 500, .backoff_max_ms = 100 };
    assert_int_equal(veil_trust_policy_new(n, "everyone", NULL, &p), 0);
    assert_int_equal(veil_secure_channel_open_with(e, &r, p, &o, &ch), VEIL_EINVAL);
    o.backoff_min_ms = 0;
    o.ping_interval_ms = 300;
    o.dead_after_ms = 300;
    assert_int_equal(veil_trust_policy_new(n, "everyone", NULL, &p), 0);
    assert_int_equal(veil_secure_channel_open_with(e, &r, p, &o, &ch), VEIL_EINVAL);
    o.size = 8;
    assert_int_equal(veil_trust_policy_new(n, "everyone", NULL, &p), 0);
    assert_int_equal(veil_secure_channel_open_with(e, &r, p, &o, &ch), VEIL_EINVAL);
    assert_int_equal(node_from_text("[secure_channel]\nreconnect_min_ms = 900\n"
                                    "reconnect_max_ms = 100\n", "<t>"), VEIL_ECONFIG);
    assert_int_equal(node_from_text("[secure_channel]\nping_interval_ms = 1000\n"
                                    "dead_after_ms = 500\n", "<t>"), VEIL_ECONFIG);
    assert_int_equal(node_from_text("[secure_channel]\nresilient = maybe\n", "<t>"),
                     VEIL_ECONFIG);
    assert_int_equal(node_from_text("[secure_channel]\nresilient = true\nping_interval_ms = 200\n"
                                    "reconnect_attempts = 3\n", "<t>"), 0);
    veil_entity_close(e);
    assert_int_equal(veil_node_free(n), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_then_heal),
        cmocka_unit_test(test_silent_path_detected),
        cmocka_unit_test(test_frozen_peer_redials),
        cmocka_unit_test(test_frozen_hop_kept_for_plain_channel),
        cmocka_unit_test(test_backoff_and_give_up),
        cmocka_unit_test(test_silent_path_closes_plain_channel),
        cmocka_unit_test(test_other_identity_refused),
        cmocka_unit_test(test_rotated_peer_accepted),
        cmocka_unit_test(test_options_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
