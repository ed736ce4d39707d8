/* The relay's fast path (veil_node_forward_frame, docs/ARCHITECTURE.md
 * "Frame forwarding") over real TCP on loopback: M relays, R registers
 * "bob", A reaches it (relay_net.h); a raw socket plays an attacker
 * connected to M.
 *
 *  - forwarded frames never become messages on M (its delivered count
 *    stays put while echoes go through), byte-exact both ways;
 *  - a frame shaped for the fast path but malformed (truncated payload,
 *    trailing bytes, a payload over M's max_payload, another codec
 *    version) is refused exactly as before: M closes that connection with
 *    the decoder's code, and nothing reaches R;
 *  - well-formed frames the forwarder must not pass (a transport next hop
 *    nobody registered, an unknown name) are dropped or refused, never
 *    forwarded;
 *  - backpressure: a next hop whose send queue is full makes M hold the
 *    frame and stop reading its sender, whose own sends then get
 *    VEIL_EAGAIN; nothing is dropped, and once the next hop reads again
 *    every frame arrives in order, once; a hold lasts at most M's
 *    frame_timeout (then frames to the full hop are dropped again). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <veil/veil.h>

#include "relay_net.h"
#include "tcp_raw.h"

/* ---- M's view -------------------------------------------------------- */

typedef struct losses {
    int reason;
    unsigned n;
} losses;

static void on_lost(veil_node *node, const veil_address *peer, int reason, const char *detail,
                    void *arg)
{
    (void)node, (void)peer, (void)detail;
    losses *l = arg;
    l->reason = reason;
    l->n++;
}

static void first_route(const char *name, const char *owner, const char *route, void *arg)
{
    (void)name, (void)owner;
    snprintf(arg, 128, "%s", route);
}

static int port_of(const char *where)
{
    const char *colon = strrchr(where, ':');
    assert_non_null(colon);
    return atoi(colon + 1);
}

static veil_transport_stats tcp_stats(veil_node *node)
{
    veil_transport_stats s;
    assert_int_equal(veil_node_transport_stats(node, "tcp", &s), 0);
    return s;
}

static veil_relay_registry_stats relay_stats(net *n)
{
    veil_relay_registry_stats st;
    assert_int_equal(veil_relay_registry_get_stats(n->m, &st), 0);
    return st;
}

/* A message as M's fast path would take it: [relay, <R's connection at M>,
 * bob_listener], return [raw], plen bytes of 0x5a.  Body at out + 4. */
static size_t body_for_r(net *n, uint8_t *out, size_t cap, size_t plen)
{
    char conn[128] = "", text[200];
    assert_int_equal(veil_relay_registry_list(n->m, first_route, conn), 0);
    assert_true(strncmp(conn, "1#", 2) == 0);
    snprintf(text, sizeof text, "relay => %s => bob_listener", conn);
    veil_route on, ret;
    assert_int_equal(veil_route_parse(&on, text), 0);
    assert_int_equal(veil_route_parse(&ret, "raw"), 0);
    static uint8_t payload[8192];
    assert_true(plen <= sizeof payload);
    memset(payload, 0x5a, plen);
    size_t len;
    assert_int_equal(veil_codec_encode(&on, &ret, payload, plen, out + 4, cap - 4, &len), 0);
    return len;
}

static void send_body(int fd, uint8_t *frame, size_t len)
{
    put32(frame, (uint32_t)len);
    raw_send(fd, frame, len + 4);
}

/* ---- tests ------------------------------------------------------------ */

/* Echoes through the relay: M forwards every frame (returned counts them)
 * and hands none to a worker (delivered stays put). */
static void test_forwarded_frames_are_no_messages(void **state)
{
    (void)state;
    net n = { 0 };
    net_up(&n, NULL);
    register_bob(&n, 600000); /* no refresh (a delivery on M) while counting */
    veil_address ch;
    assert_int_equal(open_to_bob(&n, "bob", &ch), 0);
    echo_through(&n, &ch, "warm");
    veil_node_stats s0, s1;
    veil_node_get_stats(n.m, &s0);
    veil_relay_registry_stats r0 = relay_stats(&n);
    for (int i = 0; i < 20; i++)
        echo_through(&n, &ch, "through the fast path");
    veil_node_get_stats(n.m, &s1);
    veil_relay_registry_stats r1 = relay_stats(&n);
    assert_int_equal(n.echoed, 21);
    assert_int_equal(r1.returned - r0.returned, 40); /* each echo: there and back */
    assert_int_equal(s1.delivered - s0.delivered, 0);
    assert_int_equal(s1.handler_errors, s0.handler_errors);
    net_down(&n);
}

/* Each malformed variant of a frame the fast path would take closes the
 * raw connection with the decoder's code; R receives nothing.  The
 * well-formed frame itself reaches R (the control). */
static void test_malformed_frames_refused(void **state)
{
    (void)state;
    net n = { .m_node = "max_payload = 4096\n" };
    bob_up(&n);
    losses l = { 0, 0 };
    assert_int_equal(veil_node_on_route_lost(n.m, on_lost, &l), 0);
    int port = port_of(n.where);
    static uint8_t f[12000];
    enum { TRUNCATED, TRAILING, OVERSIZE, VERSION, CASES };
    static const int codes[CASES] = { VEIL_ETRUNCATED, VEIL_ETRAILING, VEIL_ELIMIT, VEIL_EVERSION };
    for (int c = 0; c < CASES; c++) {
        uint64_t r_frames = tcp_stats(n.r).frames_received;
        uint64_t returned = relay_stats(&n).returned;
        size_t len = body_for_r(&n, f, sizeof f, c == OVERSIZE ? 4097 : 100);
        if (c == TRUNCATED)
            f[4 + len - 100 - 1] = 101; /* the payload length: one more than sent */
        if (c == TRAILING)
            len += 3;
        if (c == VERSION)
            f[4] = 2;
        unsigned lost = l.n;
        int fd = raw_connect(port);
        send_body(fd, f, len);
        assert_true(raw_wait_closed(n.m, fd, 3000));
        close(fd);
        pump_until(&n, NULL, 0, 50);
        assert_int_equal(l.n, lost + 1);
        assert_int_equal(l.reason, codes[c]);
        assert_int_equal(tcp_stats(n.r).frames_received, r_frames);
        assert_int_equal(relay_stats(&n).returned, returned);
    }
    /* The control: the same frame well-formed goes through to R. */
    uint64_t r_frames = tcp_stats(n.r).frames_received;
    int fd = raw_connect(port);
    send_body(fd, f, body_for_r(&n, f, sizeof f, 100));
    pump_until(&n, NULL, 0, 200);
    assert_int_equal(tcp_stats(n.r).frames_received, r_frames + 1);
    close(fd);
    veil_node_off_route_lost(n.m, on_lost, &l);
    net_down(&n);
}

/* Well-formed frames the forwarder may not pass: a transport next hop no
 * registered name uses (the relay is no open relay) is dropped and
 * counted; an unknown name gets the refusal back; neither is forwarded. */
static void test_not_forwarded(void **state)
{
    (void)state;
    net n = { 0 };
    bob_up(&n);
    int fd = raw_connect(port_of(n.where));
    veil_relay_registry_stats r0 = relay_stats(&n);
    veil_transport_stats t0 = tcp_stats(n.m);
    raw_send_message(fd, "relay => 1#127.0.0.1:9 => x", "raw", "data", 4);
    pump_until(&n, NULL, 0, 100);
    veil_relay_registry_stats r1 = relay_stats(&n);
    assert_int_equal(r1.dropped_return, r0.dropped_return + 1);
    assert_int_equal(r1.returned, r0.returned);
    assert_int_equal(tcp_stats(n.m).connections_dialed, t0.connections_dialed);
    raw_send_message(fd, "relay => nosuch => bob_listener", "raw", "hs1", 3);
    char on[256], ret[256];
    uint8_t p[256];
    assert_true(raw_recv_message(n.m, fd, on, ret, sizeof on, p, sizeof p) > 0);
    assert_string_equal(on, "raw");
    r1 = relay_stats(&n);
    assert_int_equal(r1.unknown, r0.unknown + 1);
    assert_int_equal(r1.forwarded, r0.forwarded);
    close(fd);
    net_down(&n);
}

/* ---- backpressure: a registrant that stops reading -------------------- */

#define BP_PAYLOAD (16u << 10)
#define BP_QUEUE_MAX (4u << 20) /* [transport.tcp] send_queue_max's default */

typedef struct collector {
    uint32_t got;      /* frames received, in order */
    unsigned bad;      /* out of order, repeated or damaged */
} collector;

static int collect_start(veil_context *ctx, void *state)
{
    (void)state;
    return veil_ctx_set_network_facing(ctx, NULL);
}

static int collect(veil_context *ctx, void *state, veil_message *msg)
{
    (void)ctx;
    collector *k = state;
    size_t len;
    const uint8_t *p = veil_message_payload(msg, &len);
    uint32_t seq = len == BP_PAYLOAD ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                                           (uint32_t)p[2] << 8 | p[3] : UINT32_MAX;
    if (seq != k->got || p[len - 1] != (uint8_t)seq)
        k->bad++;
    k->got++;
    veil_message_free(msg);
    return 0;
}

static const veil_worker_ops collect_ops = { .size = sizeof collect_ops, .start = collect_start,
                                             .handle_message = collect };

static int send_seq(net *n, const veil_route *r, uint32_t seq)
{
    static uint8_t p[BP_PAYLOAD];
    memset(p, 0x33, sizeof p);
    put32(p, seq);
    p[sizeof p - 1] = (uint8_t)seq;
    return veil_ctx_send(n->aapp, r, p, sizeof p);
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* R runs a collector, network-facing; *r: A's route to it through M. */
static void collector_up(net *n, collector *k, veil_route *r)
{
    bob_up(n);
    assert_int_equal(veil_ctx_start_worker(n->rapp, "collector", &collect_ops, k), 0);
    char conn[128] = "", text[300];
    assert_int_equal(veil_relay_registry_list(n->m, first_route, conn), 0);
    snprintf(text, sizeof text, "1#%s => relay => %s => collector", n->where, conn);
    assert_int_equal(veil_route_parse(r, text), 0);
}

/* Only A and M run (R reads nothing): A sends numbered frames whenever it
 * may, for ms, or (quiet > 0) until it has been refused (VEIL_EAGAIN, the
 * only refusal allowed) for quiet ms.  Returns when A was last refused. */
static void a_sends(net *n, const veil_route *r, uint32_t *sent, long quiet, long ms)
{
    struct timespec start, last_ok;
    clock_gettime(CLOCK_MONOTONIC, &start);
    last_ok = start;
    while (quiet > 0 ? ms_since(&last_ok) < quiet : ms_since(&start) < ms) {
        assert_true(ms_since(&start) < 20000);
        int rc;
        while ((rc = send_seq(n, r, *sent)) == 0) {
            (*sent)++;
            clock_gettime(CLOCK_MONOTONIC, &last_ok);
        }
        assert_int_equal(rc, VEIL_EAGAIN);
        assert_true(veil_node_run_once(n->a, 1) >= 0);
        assert_true(veil_node_run_once(n->m, 1) >= 0);
    }
}

/* A sends to a worker behind R through M's fast path while R's loop does
 * not run (R reads nothing): M holds what R's full queue cannot take and
 * stops reading A, A's own queue fills and its sends get VEIL_EAGAIN; M
 * drops nothing and never queues more than send_queue_max for R.  Then R
 * runs again and every frame arrives, in order, exactly once. */
static void test_full_next_hop_pushes_back(void **state)
{
    (void)state;
    net n = { 0 };
    collector k = { 0, 0 };
    veil_route r;
    collector_up(&n, &k, &r);
    veil_node_stats m0, m1;
    veil_node_get_stats(n.m, &m0);
    veil_transport_stats t0 = tcp_stats(n.m);
    uint32_t sent = 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    a_sends(&n, &r, &sent, 300, 0);
    veil_node_get_stats(n.m, &m1);
    veil_transport_stats t1 = tcp_stats(n.m);
    /* More than M's queue to R could take: M held frames (its queue was
     * full), and nothing was dropped or queued past the limit. */
    assert_true((uint64_t)sent * BP_PAYLOAD > 2u * BP_QUEUE_MAX);
    assert_true(t1.queue_full > t0.queue_full);
    assert_int_equal(m1.handler_errors, m0.handler_errors);
    assert_int_equal(t1.timeouts, t0.timeouts);
    assert_true(t1.queued_bytes_peak <= BP_QUEUE_MAX);
    assert_true(k.got < sent);
    print_message("# %u frames of %u bytes sent before A was pushed back (%ld ms)\n", sent,
                  BP_PAYLOAD, ms_since(&start));
    /* Held, M's loop sleeps: its 10 ms retry timer wakes it, nothing else
     * (a READ watch left on the held connection would wake it at once,
     * every time: a busy loop). */
    unsigned wakeups = 0;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (ms_since(&start) < 300) {
        assert_true(veil_node_run_once(n.m, 100) >= 0);
        wakeups++;
    }
    print_message("# M woke %u times in 300 ms while holding\n", wakeups);
    assert_true(wakeups < 100);
    /* Other connections keep flowing: a new one gets M's answer (the
     * refusal of an unknown name) while A's is held. */
    int fd = raw_connect(port_of(n.where));
    raw_send_message(fd, "relay => nosuch => bob_listener", "raw", "hs1", 3);
    char on[256], ret[256];
    uint8_t p[256];
    assert_true(raw_recv_message(n.m, fd, on, ret, sizeof on, p, sizeof p) > 0);
    assert_string_equal(on, "raw");
    close(fd);
    /* R reads again: everything arrives, in order, once. */
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (k.got < sent && ms_since(&start) < 20000)
        pump_until(&n, NULL, 0, 1);
    print_message("# all received %ld ms after R ran again\n", ms_since(&start));
    pump_until(&n, NULL, 0, 50); /* nothing more comes */
    assert_int_equal(k.bad, 0);
    assert_int_equal(k.got, sent);
    veil_node_get_stats(n.m, &m1);
    assert_int_equal(m1.handler_errors, m0.handler_errors);
    assert_int_equal(tcp_stats(n.m).timeouts, t0.timeouts);
    net_down(&n);
}

/* The bound: a frame held for M's frame_timeout is dropped, and for as
 * long again frames to the full next hop are (logged, counted in M's tcp
 * timeouts): A's connection is neither closed nor stalled for ever. */
static void test_hold_bounded_by_frame_timeout(void **state)
{
    (void)state;
    net n = { .m_node = "[transport.tcp]\nframe_timeout = 1000\n" };
    collector k = { 0, 0 };
    veil_route r;
    collector_up(&n, &k, &r);
    veil_transport_stats t0 = tcp_stats(n.m);
    uint32_t sent = 0;
    a_sends(&n, &r, &sent, 300, 0);
    uint32_t refused_at = sent;
    veil_transport_stats t1 = tcp_stats(n.m);
    assert_int_equal(t1.timeouts, t0.timeouts); /* held, not yet dropped */
    a_sends(&n, &r, &sent, 0, 2000);
    veil_transport_stats t2 = tcp_stats(n.m);
    assert_true(t2.timeouts > t1.timeouts);
    assert_true(sent > refused_at);
    assert_int_equal(t2.connections_closed, t0.connections_closed);
    assert_true(t2.queued_bytes_peak <= BP_QUEUE_MAX);
    net_down(&n);
}

/* A raw peer fills M's queue to R (whose loop does not run) until M holds
 * its frame and stops reading it, then resets: M closes that connection
 * (VEIL_ECLOSED) at once and its loop does not spin on the reset. */
static void test_reset_while_held(void **state)
{
    (void)state;
    net n = { 0 };
    bob_up(&n);
    losses l = { 0, 0 };
    assert_int_equal(veil_node_on_route_lost(n.m, on_lost, &l), 0);
    static uint8_t f[12000];
    size_t len = body_for_r(&n, f, sizeof f, 8192) + 4;
    put32(f, (uint32_t)(len - 4));
    int fd = raw_connect(port_of(n.where));
    assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
    veil_transport_stats t0 = tcp_stats(n.m);
    struct timespec start, last_ok;
    clock_gettime(CLOCK_MONOTONIC, &start);
    last_ok = start;
    size_t at = 0;
    while (ms_since(&last_ok) < 300) { /* until M has not read for 300 ms */
        assert_true(ms_since(&start) < 20000);
        ssize_t w = send(fd, f + at, len - at, MSG_NOSIGNAL);
        if (w > 0) {
            at = (at + (size_t)w) % len;
            clock_gettime(CLOCK_MONOTONIC, &last_ok);
        } else {
            assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
        }
        assert_true(veil_node_run_once(n.m, w > 0 ? 0 : 1) >= 0);
    }
    assert_true(tcp_stats(n.m).queue_full > t0.queue_full);
    assert_int_equal(l.n, 0);
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(fd); /* a reset */
    unsigned wakeups = 0;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (ms_since(&start) < 200) {
        assert_true(veil_node_run_once(n.m, 100) >= 0);
        wakeups++;
    }
    assert_int_equal(l.n, 1);
    assert_int_equal(l.reason, VEIL_ECLOSED);
    assert_true(wakeups < 100);
    veil_node_off_route_lost(n.m, on_lost, &l);
    net_down(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forwarded_frames_are_no_messages),
        cmocka_unit_test(test_malformed_frames_refused),
        cmocka_unit_test(test_not_forwarded),
        cmocka_unit_test(test_full_next_hop_pushes_back),
        cmocka_unit_test(test_hold_bounded_by_frame_timeout),
        cmocka_unit_test(test_reset_while_held),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
