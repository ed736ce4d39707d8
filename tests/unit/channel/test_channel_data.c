/* Secure channel data path under attack, through a "tap" hop on the route
 * that records, holds and releases frames: tampered, truncated, replayed,
 * reordered (within and beyond the replay window), oversized (refused at
 * send, dropped at receive), forged control frames; rekeying with a small
 * interval, also across reordering at an epoch boundary.  After each
 * attack the channel still carries good messages. */
#include "world.h"
#include "assert_error.h"

typedef struct data_world {
    veil_node *node;
    veil_context *app;
    veil_entity *alice, *bob;
    echo_state echo;
    tap_state *tap;
    veil_address ch;          /* Alice's end */
    veil_address bob_peer;    /* Bob's end, the address frames go to */
    veil_address bob_end;     /* Bob's end, public address */
} data_world;

/* Frames the tap sees while a channel is made: HS1 (to the listener), HS2
 * (to Alice), HS3 (to Bob's end), ACCEPT (to Alice). */
enum { F_HS1, F_HS2, F_HS3, F_ACCEPT, F_FIRST_DATA };

static void data_up(data_world *w, const char *config, const char *config_after_listener)
{
    memset(w, 0, sizeof *w);
    w->tap = calloc(1, sizeof *w->tap);
    assert_non_null(w->tap);
    node_from(config, &w->node, &w->app);
    assert_int_equal(veil_ctx_start_worker(w->app, "echoer", &echo_ops, &w->echo), 0);
    assert_int_equal(veil_ctx_start_worker(w->app, "tap", &tap_ops, w->tap), 0);
    assert_int_equal(veil_entity_open(w->node, NULL, NULL, VEIL_ENTITY_CREATE, &w->alice), 0);
    assert_int_equal(veil_entity_open(w->node, NULL, NULL, VEIL_ENTITY_CREATE, &w->bob), 0);
    assert_int_equal(veil_secure_channel_listener_open(w->bob, "bob",
                                                       trust_only(w->node, w->alice)), 0);
    if (config_after_listener != NULL) {
        /* Settings are read when a listener or channel is made; changing
         * the node's (own) configuration in between gives the two ends
         * different limits, as two separately configured nodes would. */
        veil_config *cfg = (veil_config *)veil_node_config(w->node);
        assert_int_equal(veil_config_set(cfg, "secure_channel", "max_message",
                                         config_after_listener), 0);
    }
    veil_route r = route_of("tap => bob");
    assert_int_equal(veil_secure_channel_open(w->alice, &r, trust_only(w->node, w->bob), &w->ch),
                     0);
    assert_int_equal(w->tap->nframes, 4);
    assert_int_equal(w->tap->frames[F_HS3].bytes[w->tap->frames[F_HS3].len - 1], 0x03);
    w->bob_peer = w->tap->frames[F_HS3].to;
    round_trip(w->app, &w->ch, "first");
    w->bob_end = w->echo.last_info.channel;
}

static void data_down(data_world *w)
{
    veil_entity_close(w->alice);
    veil_entity_close(w->bob);
    assert_int_equal(veil_node_free(w->node), 0);
    free(w->tap);
}

static veil_channel_stats bob_stats(data_world *w)
{
    veil_channel_stats s;
    assert_int_equal(veil_secure_channel_stats(w->node, &w->bob_end, &s), 0);
    return s;
}

/* Send raw bytes straight to Bob's end, as an attacker on the route. */
static void inject(data_world *w, const uint8_t *frame, size_t len)
{
    veil_route r;
    veil_route_init(&r);
    assert_int_equal(veil_route_append(&r, &w->bob_peer), 0);
    assert_int_equal(veil_ctx_send(w->app, &r, frame, len), 0);
    settle(w->node);
}

static void send_to_echoer(data_world *w, const void *data, size_t len)
{
    veil_route r;
    veil_route_init(&r);
    assert_int_equal(veil_route_append(&r, &w->ch), 0);
    assert_int_equal(veil_route_append_str(&r, "echoer"), 0);
    assert_int_equal(veil_ctx_send(w->app, &r, data, len), 0);
}

static void expect_replies(data_world *w, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        veil_message *m;
        assert_int_equal(veil_ctx_receive(w->app, &m, 2000), 0);
        veil_message_free(m);
    }
}

/* Hold the next Alice→Bob data frame in the tap; returns a copy. */
static size_t hold_one(data_world *w, uint8_t *copy, size_t cap)
{
    w->tap->hold = 1;
    send_to_echoer(w, "held", 4);
    settle(w->node);
    assert_int_equal(w->tap->nheld, 1);
    size_t len;
    const uint8_t *p = veil_message_payload(w->tap->held[0], &len);
    assert_true(len <= cap);
    assert_int_equal(p[len - 1], 0x10); /* frames end with their type */
    memcpy(copy, p, len);
    return len;
}

static void test_tampered_truncated_replayed(void **state)
{
    (void)state;
    data_world w;
    data_up(&w, NULL, NULL);
    uint8_t orig[512], f[512];
    size_t len = hold_one(&w, orig, sizeof orig);
    unsigned echoed = w.echo.count;
    veil_channel_stats s0 = bob_stats(&w);
    /* One flipped bit anywhere.  Layout: ciphertext, tag (16), nonce (8,
     * big-endian), type (1). */
    size_t where[] = { 0, len / 2, len - 25, len - 10, len - 9, len - 2, len - 1 };
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        memcpy(f, orig, len);
        /* 0x10 → 0x11 turns the type into CLOSE; 0x80 in the nonce makes
         * an unused nonce (or one epochs ahead), never a replayed one. */
        f[where[i]] ^= where[i] == len - 1 ? 0x01 : 0x80;
        inject(&w, f, len);
    }
    /* Truncated: shorter than a header and tag; one byte short; header only. */
    inject(&w, orig, 5);
    inject(&w, orig, len - 1);
    inject(&w, orig, 9 + 16);
    veil_channel_stats s1 = bob_stats(&w);
    /* The CLOSE look-alike is refused too: the AD covers the type. */
    assert_int_equal(s1.dropped_auth, s0.dropped_auth + 10);
    assert_int_equal(s1.received, s0.received);
    assert_int_equal(w.echo.count, echoed);
    /* The genuine frame still authenticates: nothing advanced the state. */
    tap_release(w.app, w.tap, 0);
    expect_replies(&w, 1);
    assert_int_equal(w.echo.count, echoed + 1);
    /* Replayed: dropped and counted, not delivered. */
    inject(&w, orig, len);
    inject(&w, orig, len);
    veil_channel_stats s2 = bob_stats(&w);
    assert_int_equal(s2.dropped_replay, s1.dropped_replay + 2);
    assert_int_equal(w.echo.count, echoed + 1);
    round_trip(w.app, &w.ch, "still working");
    data_down(&w);
}

static void test_forged_control(void **state)
{
    (void)state;
    data_world w;
    data_up(&w, NULL, NULL);
    uint8_t f[9 + 16];
    memset(f, 0xA5, sizeof f);
    f[sizeof f - 1] = 0x11; /* CLOSE with a made-up tag */
    inject(&w, f, sizeof f);
    f[sizeof f - 1] = 0x03; /* a handshake message on an open channel */
    inject(&w, f, sizeof f);
    f[sizeof f - 1] = 0x7F; /* unknown type */
    inject(&w, f, sizeof f);
    veil_channel_stats s = bob_stats(&w);
    assert_int_equal(s.dropped_auth, 3);
    round_trip(w.app, &w.ch, "not closed");
    data_down(&w);
}

static void test_reordered_within_window(void **state)
{
    (void)state;
    data_world w;
    data_up(&w, NULL, NULL);
    w.tap->hold = 40;
    for (int i = 0; i < 40; i++)
        send_to_echoer(&w, "r", 1);
    settle(w.node);
    assert_int_equal(w.tap->nheld, 40);
    unsigned echoed = w.echo.count;
    tap_release(w.app, w.tap, 1); /* newest first */
    expect_replies(&w, 40);
    assert_int_equal(w.echo.count, echoed + 40);
    assert_int_equal(bob_stats(&w).dropped_replay, 0);
    data_down(&w);
}

static void test_reordered_beyond_window(void **state)
{
    (void)state;
    data_world w;
    data_up(&w, NULL, NULL);
    uint8_t orig[512];
    (void)hold_one(&w, orig, sizeof orig);
    /* 1024 later frames pass: the held one falls out of the window. */
    for (int i = 0; i < 1030; i++) {
        send_to_echoer(&w, "x", 1);
        expect_replies(&w, 1);
    }
    unsigned echoed = w.echo.count;
    veil_channel_stats s0 = bob_stats(&w);
    tap_release(w.app, w.tap, 0);
    settle(w.node);
    veil_channel_stats s1 = bob_stats(&w);
    assert_int_equal(s1.dropped_replay, s0.dropped_replay + 1);
    assert_int_equal(w.echo.count, echoed);
    round_trip(w.app, &w.ch, "after");
    data_down(&w);
}

/* Bob's end allows 64 bytes, Alice's 4096. */
static void test_oversized(void **state)
{
    (void)state;
    data_world w;
    data_up(&w, "[secure_channel]\nmax_message = 64\n", "4096");
    uint8_t big[5000];
    memset(big, 'b', sizeof big);
    unsigned echoed = w.echo.count;
    veil_channel_stats a0, b0 = bob_stats(&w);
    assert_int_equal(veil_secure_channel_stats(w.node, &w.ch, &a0), 0);
    /* Over Bob's limit, within Alice's: dropped at receipt, counted. */
    send_to_echoer(&w, big, 100);
    settle(w.node);
    assert_int_equal(bob_stats(&w).dropped_oversize, 1);
    assert_int_equal(bob_stats(&w).bytes_received, b0.bytes_received); /* not delivered */
    assert_int_equal(w.echo.count, echoed);
    /* Over Alice's limit: refused at send (the handler's VEIL_ELIMIT is
     * logged and counted), nothing sent. */
    veil_node_stats n0, n1;
    veil_node_get_stats(w.node, &n0);
    logs_start();
    send_to_echoer(&w, big, sizeof big);
    settle(w.node);
    logs_stop();
    veil_node_get_stats(w.node, &n1);
    veil_channel_stats a;
    assert_int_equal(veil_secure_channel_stats(w.node, &w.ch, &a), 0);
    assert_int_equal(a.dropped_oversize, 1);
    assert_int_equal(n1.handler_errors, n0.handler_errors + 1);
    assert_non_null(strstr(LOGS.text, "5000 bytes refused (max_message = 4096)"));
    assert_int_equal(bob_stats(&w).dropped_oversize, 1);
    /* Exactly at Bob's limit: delivered. */
    send_to_echoer(&w, big, 64);
    expect_replies(&w, 1);
    assert_int_equal(w.echo.count, echoed + 1);
    /* Payload bytes: Alice sent 100 (dropped by Bob) + 64, the 5000 were
     * refused before counting; Bob got and echoed 64. */
    assert_int_equal(veil_secure_channel_stats(w.node, &w.ch, &a), 0);
    assert_int_equal(a.bytes_sent, a0.bytes_sent + 164);
    assert_int_equal(a.bytes_received, a0.bytes_received + 64);
    assert_int_equal(bob_stats(&w).bytes_received, b0.bytes_received + 64);
    assert_int_equal(bob_stats(&w).bytes_sent, b0.bytes_sent + 64);
    data_down(&w);
}

/* The largest max_message: VEIL_PAYLOAD_MAX less the frame's trailer and
 * tag (25) and what the inner message's two routes and length can take
 * (2 x 1032 + 4; channel_internal.h derives it).  Configurable exactly up
 * to it, and a message that size goes there and back. */
#define LARGEST_MESSAGE (VEIL_PAYLOAD_MAX - 25u - 2068u)

static void test_largest_message(void **state)
{
    (void)state;
    char conf[96];
    snprintf(conf, sizeof conf, "[secure_channel]\nmax_message = %u\n", LARGEST_MESSAGE + 1u);
    /* One byte over: refused when the node is made (issue #16). */
    assert_int_equal(node_new_rc(conf), VEIL_ECONFIG);
    char want[48];
    snprintf(want, sizeof want, "%u", LARGEST_MESSAGE);
    assert_last_error_contains(want);

    data_world w;
    snprintf(conf, sizeof conf, "[secure_channel]\nmax_message = %u\n", LARGEST_MESSAGE);
    data_up(&w, conf, NULL);
    uint8_t *big = malloc(LARGEST_MESSAGE);
    assert_non_null(big);
    memset(big, 0x5c, LARGEST_MESSAGE);
    unsigned echoed = w.echo.count;
    send_to_echoer(&w, big, LARGEST_MESSAGE);
    veil_message *m;
    assert_int_equal(veil_ctx_receive(w.app, &m, 5000), 0);
    size_t len;
    const uint8_t *p = veil_message_payload(m, &len);
    assert_int_equal(len, LARGEST_MESSAGE);
    assert_memory_equal(p, big, len);
    veil_message_free(m);
    assert_int_equal(w.echo.count, echoed + 1);
    assert_int_equal(bob_stats(&w).dropped_oversize, 0);
    free(big);
    data_down(&w);
}

/* rekey_interval = 4: both ends derive the same epoch keys.  Alice sends
 * nonces 0..49 (1 "first" + 49 here), Bob sends ACCEPT and 50 replies
 * (nonces 0..50): each side rekeys floor(49/4) + floor(50/4) = 24 times. */
static void test_rekey(void **state)
{
    (void)state;
    data_world w;
    data_up(&w, "[secure_channel]\nrekey_interval = 4\n", NULL);
    for (int i = 0; i < 49; i++)
        round_trip(w.app, &w.ch, "rekey me");
    veil_channel_stats a, b = bob_stats(&w);
    assert_int_equal(veil_secure_channel_stats(w.node, &w.ch, &a), 0);
    assert_int_equal(a.rekeys, 12 + 12);
    assert_int_equal(b.rekeys, 12 + 12);
    assert_int_equal(a.sent, 50);
    assert_int_equal(b.received, 50);
    /* Reordering across an epoch boundary: nonces 50, 51 (epoch 12) and
     * 52 (epoch 13) arrive newest first; the previous epoch's key is kept
     * for the late ones. */
    w.tap->hold = 3;
    for (int i = 0; i < 3; i++)
        send_to_echoer(&w, "e", 1);
    settle(w.node);
    unsigned echoed = w.echo.count;
    tap_release(w.app, w.tap, 1);
    expect_replies(&w, 3);
    assert_int_equal(w.echo.count, echoed + 3);
    b = bob_stats(&w);
    assert_int_equal(b.dropped_auth + b.dropped_replay, 0);
    /* Frames lost over several epochs (held, never released): the next
     * frame is 3 epochs ahead and still opens. */
    w.tap->hold = 12;
    for (int i = 0; i < 12; i++)
        send_to_echoer(&w, "lost", 4);
    settle(w.node);
    round_trip(w.app, &w.ch, "after a gap");
    data_down(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tampered_truncated_replayed),
        cmocka_unit_test(test_forged_control),
        cmocka_unit_test(test_reordered_within_window),
        cmocka_unit_test(test_reordered_beyond_window),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_rekey),
        cmocka_unit_test(test_largest_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
