/* Portal streams in one process (issue #14): two nodes over real loopback
 * TCP (portal_pair.h), an inlet on A, an outlet on B, a real TCP target.
 * Bytes are carried exactly both ways; a half-close and resets are
 * carried; a target that is down, an inlet or outlet at its max_streams,
 * and an outlet whose `allow` refuses the peer each give the client a
 * reset with nothing delivered and the exact reason logged (the target
 * never dialled where it must not be); a client that does not read stops
 * the target's bytes at the credit window.  A channel that dies takes its
 * streams with it at once (the channel layer's close event, not a poll).
 * Inlet and outlet work on IPv6 loopback too. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "logs.h"
#include "portal_pair.h"

#define BIG (1024u * 1024u)

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *b = malloc(n);
    assert_non_null(b);
    uint32_t x = 2166136261u ^ seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 16);
    }
    return b;
}

static void linger0_close(int fd)
{
    struct linger l = { 1, 0 };
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l), 0);
    close(fd);
}

/* Run until the stream carried what both sides sent (both ways at once). */
static void exchange(pair *p, int c, int t, const uint8_t *up, const uint8_t *down, size_t n,
                     sock_in *at_t, sock_in *at_c)
{
    size_t uo = 0, dn = 0;
    uint64_t until = now_ms() + 20000;
    while ((at_t->len < n || at_c->len < n) && now_ms() < until) {
        assert_true(sock_give(c, up, n, &uo));
        assert_true(sock_give(t, down, n, &dn));
        sock_take(t, at_t);
        sock_take(c, at_c);
        assert_int_equal(at_t->end, 0);
        assert_int_equal(at_c->end, 0);
        pair_round(p);
    }
    assert_int_equal(at_t->len, n);
    assert_int_equal(at_c->len, n);
}

/* Run until in ended (asserted within 5 s). */
static void wait_end(pair *p, int fd, sock_in *in)
{
    uint64_t until = now_ms() + 5000;
    for (sock_take(fd, in); in->end == 0 && now_ms() < until; sock_take(fd, in))
        pair_round(p);
    assert_int_not_equal(in->end, 0);
}

static void test_byte_exact_and_half_close(void **state)
{
    (void)state;
    pair p;
    pair_opts o = { 0 };
    pair_up(&p, &o);
    uint8_t *up = pattern(BIG, 1), *down = pattern(BIG, 2);
    sock_in at_t = { calloc(1, BIG + 16), BIG + 16, 0, 0 };
    sock_in at_c = { calloc(1, BIG + 16), BIG + 16, 0, 0 };
    int c = pair_client(&p), t = pair_accept(&p);
    exchange(&p, c, t, up, down, BIG, &at_t, &at_c);
    assert_memory_equal(at_t.buf, up, BIG);
    assert_memory_equal(at_c.buf, down, BIG);
    /* the client half-closes: the target reads EOF, and can still answer */
    assert_int_equal(shutdown(c, SHUT_WR), 0);
    wait_end(&p, t, &at_t);
    assert_int_equal(at_t.end, 1);
    assert_int_equal(at_t.len, BIG);
    size_t off = 0;
    assert_true(sock_give(t, (const uint8_t *)"after the FIN", 13, &off));
    assert_int_equal(off, 13);
    close(t); /* the target's FIN: the client reads the answer, then EOF */
    wait_end(&p, c, &at_c);
    assert_int_equal(at_c.end, 1);
    assert_int_equal(at_c.len, BIG + 13);
    assert_memory_equal(at_c.buf + BIG, "after the FIN", 13);
    for (int i = 0; i < 20 && pair_inlet_stats(&p).streams + pair_outlet_stats(&p).streams > 0; i++)
        pair_round(&p);
    veil_portal_stats in = pair_inlet_stats(&p), out = pair_outlet_stats(&p);
    assert_int_equal(in.streams, 0);
    assert_int_equal(out.streams, 0);
    assert_int_equal(in.resets + out.resets, 0);
    assert_int_equal(in.bytes_out, BIG);
    assert_int_equal(in.bytes_in, BIG + 13);
    assert_int_equal(out.bytes_out, BIG + 13);
    assert_int_equal(out.bytes_in, BIG);
    close(c);
    free(up);
    free(down);
    free(at_t.buf);
    free(at_c.buf);
    pair_down(&p);
}

/* A reset at one end arrives as a reset at the other. */
static void reset_case(bool from_client)
{
    pair p;
    pair_opts o = { 0 };
    pair_up(&p, &o);
    uint8_t buf[16];
    sock_in at_t = { buf, sizeof buf, 0, 0 }, at_c = { buf, sizeof buf, 0, 0 };
    int c = pair_client(&p), t = pair_accept(&p);
    exchange(&p, c, t, (const uint8_t *)"ping", (const uint8_t *)"pong", 4, &at_t, &at_c);
    sock_in other = { NULL, 0, 0, 0 };
    linger0_close(from_client ? c : t);
    wait_end(&p, from_client ? t : c, &other);
    assert_int_equal(other.end, -ECONNRESET);
    assert_int_equal(other.len, 0);
    close(from_client ? t : c);
    assert_int_equal(pair_inlet_stats(&p).resets, 1);
    assert_int_equal(pair_outlet_stats(&p).resets, 1);
    pair_down(&p);
}

static void test_reset_from_client(void **state)
{
    (void)state;
    reset_case(true);
}

static void test_reset_from_target(void **state)
{
    (void)state;
    reset_case(false);
}

/* The outlet refused one OPEN and never dialled its target: nothing opened,
 * no byte carried. */
static void refused_undialled(pair *p)
{
    assert_int_equal(pair_accept_now(p), -1);
    assert_int_equal(errno, EAGAIN);
    veil_portal_stats out = pair_outlet_stats(p);
    assert_int_equal(out.refused, 1);
    assert_int_equal(out.opened, 0);
    assert_int_equal(out.bytes_in + out.bytes_out, 0);
}

/* A client whose stream is refused: it reads a reset and no byte. */
static void expect_refused(pair *p, int c)
{
    sock_in in = { NULL, 0, 0, 0 };
    size_t off = 0;
    assert_true(sock_give(c, (const uint8_t *)"hello", 5, &off));
    wait_end(p, c, &in);
    assert_int_equal(in.end, -ECONNRESET);
    assert_int_equal(in.len, 0);
    close(c);
}

static void test_target_down(void **state)
{
    (void)state;
    pair p;
    pair_opts o = { .target_down = true };
    pair_up(&p, &o);
    char line[160];
    logs_start();
    expect_refused(&p, pair_client(&p));
    logs_stop();
    snprintf(line, sizeof line, "outlet outlet: stream 1: connect %s: Connection refused",
             p.target);
    assert_non_null(strstr(LOGS.text, line));
    snprintf(line, sizeof line, "inlet inlet: stream 1 reset by the peer: connect %s: "
             "Connection refused", p.target);
    assert_non_null(strstr(LOGS.text, line));
    veil_portal_stats out = pair_outlet_stats(&p);
    assert_int_equal(out.refused, 1);
    assert_int_equal(out.bytes_in + out.bytes_out, 0);
    assert_int_equal(pair_inlet_stats(&p).bytes_in, 0);
    pair_down(&p);
}

static void test_inlet_max_streams(void **state)
{
    (void)state;
    pair p;
    pair_opts o = { .inlet_max = 2 };
    pair_up(&p, &o);
    int c1 = pair_client(&p), t1 = pair_accept(&p);
    int c2 = pair_client(&p), t2 = pair_accept(&p);
    logs_start();
    expect_refused(&p, pair_client(&p));
    logs_stop();
    assert_non_null(strstr(LOGS.text, "inlet inlet: connection refused: portal inlet: 2 streams "
                                      "open (the limit)"));
    assert_int_equal(pair_accept_now(&p), -1); /* the target never saw a third */
    assert_int_equal(errno, EAGAIN);
    veil_portal_stats in = pair_inlet_stats(&p);
    assert_int_equal(in.refused, 1);
    assert_int_equal(in.streams, 2);
    assert_int_equal(pair_outlet_stats(&p).opened, 2);
    close(c1);
    close(c2);
    close(t1);
    close(t2);
    pair_down(&p);
}

static void test_outlet_max_streams(void **state)
{
    (void)state;
    pair p;
    pair_opts o = { .outlet_max = 1 };
    pair_up(&p, &o);
    int c1 = pair_client(&p), t1 = pair_accept(&p);
    logs_start();
    expect_refused(&p, pair_client(&p));
    logs_stop();
    assert_non_null(strstr(LOGS.text, "inlet inlet: stream 2 reset by the peer: outlet busy "
                                      "(1 streams at most)"));
    assert_int_equal(pair_accept_now(&p), -1);
    assert_int_equal(errno, EAGAIN);
    veil_portal_stats out = pair_outlet_stats(&p);
    assert_int_equal(out.refused, 1);
    assert_int_equal(out.opened, 1);
    assert_int_equal(out.streams, 1);
    close(c1);
    close(t1);
    pair_down(&p);
}

static void test_allow_refuses(void **state)
{
    (void)state;
    pair p;
    pair_opts o = { .allow_stranger = true };
    pair_up(&p, &o);
    logs_start();
    expect_refused(&p, pair_client(&p));
    logs_stop();
    assert_non_null(strstr(LOGS.text, "inlet inlet: stream 1 reset by the peer: refused by the "
                                      "outlet's policy"));
    char line[200];
    snprintf(line, sizeof line, "outlet outlet: stream 1 from %s refused: not allowed by",
             veil_entity_identifier(p.ea));
    assert_non_null(strstr(LOGS.text, line));
    refused_undialled(&p);
    pair_down(&p);
}

/* A full read becomes one DATA frame whose whole veil-tcp frame (with the
 * channel's and routing headers) stays within 64 KiB: one full-sized TCP
 * segment, not a segment and a ~100-byte tail (a 64 KiB payload made a
 * 65,635-byte frame).  Seen on the wire by the proxy between the nodes. */
static void test_frames_fit_64k(void **state)
{
    (void)state;
    pair p;
    pair_opts o = { .proxied = true };
    pair_up(&p, &o);
    size_t n = 4u * BIG;
    uint8_t *up = pattern(n, 6), *down = pattern(n, 7);
    sock_in at_t = { calloc(1, n), n, 0, 0 }, at_c = { calloc(1, n), n, 0, 0 };
    int c = pair_client(&p), t = pair_accept(&p);
    exchange(&p, c, t, up, down, n, &at_t, &at_c);
    assert_memory_equal(at_t.buf, up, n);
    print_message("largest frame to the outlet's node: %u bytes\n", p.px.max_frame);
    assert_true(4u + p.px.max_frame <= 65536u);
    assert_true(p.px.max_frame > 60000u); /* full reads did make large frames */
    close(c);
    close(t);
    free(up);
    free(down);
    free(at_t.buf);
    free(at_c.buf);
    pair_down(&p);
}

static void channel_done(veil_node *node, int rc, const veil_address *channel,
                         const char *detail, void *user)
{
    (void)node;
    (void)channel;
    (void)detail;
    *(int *)user = rc;
}

/* An OPEN is a stream's frame 0: one numbered otherwise (its stream's
 * first frames were lost) is refused with a RESET that says so, and the
 * target is never dialled.  Sent by hand through A's own channel to B. */
static void test_open_not_frame_0(void **state)
{
    (void)state;
    pair p;
    pair_opts o = { 0 };
    pair_up(&p, &o);
    veil_trust_policy *pol;
    veil_address ch;
    int done = 1;
    const char *id = veil_entity_identifier(p.eb);
    veil_address first;
    char where[VEIL_ADDRESS_TEXT_MAX + 1];
    assert_int_equal(veil_route_get(&p.to_b, 0, &first), 0);
    veil_address_format(&first, where, sizeof where);
    assert_int_equal(veil_node_transport_connect(p.a, "tcp", strchr(where, '#') + 1, NULL), 0);
    assert_int_equal(veil_trust_policy_new_identifier(p.a, &id, 1, &pol), 0);
    assert_int_equal(veil_secure_channel_open_async(p.ea, &p.to_b, pol, channel_done, &done, &ch),
                     0);
    for (uint64_t until = now_ms() + 5000; done == 1 && now_ms() < until;)
        pair_round(&p);
    assert_int_equal(done, 0);
    uint8_t f[VEIL_PORTAL_HEADER];
    veil_route r;
    veil_address outlet;
    veil_route_init(&r);
    assert_int_equal(veil_address_parse(&outlet, "outlet"), 0);
    assert_int_equal(veil_route_append(&r, &ch), 0);
    assert_int_equal(veil_route_append(&r, &outlet), 0);
    assert_int_equal(veil_portal_frame_header(f, VEIL_PORTAL_OPEN, 7, 5, 0), sizeof f);
    logs_start();
    assert_int_equal(veil_ctx_send(p.app_a, &r, f, sizeof f), 0);
    veil_message *m = NULL;
    for (uint64_t until = now_ms() + 5000; m == NULL && now_ms() < until;) {
        pair_round(&p);
        if (veil_ctx_receive(p.app_a, &m, 0) != 0)
            m = NULL;
    }
    logs_stop();
    assert_non_null(m);
    size_t len;
    const uint8_t *pl = veil_message_payload(m, &len);
    veil_portal_frame got;
    assert_int_equal(veil_portal_frame_decode(pl, len, &got), 0);
    assert_int_equal(got.type, VEIL_PORTAL_RESET);
    assert_int_equal(got.stream, 7);
    assert_int_equal(got.seq, 0);
    static const char why[] = "OPEN as frame 5 (an OPEN is frame 0)";
    assert_int_equal(got.body_len, strlen(why));
    assert_memory_equal(got.body, why, strlen(why));
    veil_message_free(m);
    assert_non_null(strstr(LOGS.text, "outlet outlet: stream 7 from "));
    assert_non_null(strstr(LOGS.text, why));
    refused_undialled(&p);
    pair_down(&p);
}

/* A hop that drops a frame (a relay whose queue to the next hop is full,
 * or one that deletes frames on purpose: the channel's encryption cannot
 * stop a deletion, its replay window accepts the gap) cannot make a stream
 * lose bytes silently: the next frame's number is not the one expected,
 * so the outlet resets the stream at the gap.  What the target got is a
 * prefix of what the client sent, nothing after the gap; both ends see the
 * reset; the reason is logged. */
static void test_lost_frame(void **state)
{
    (void)state;
    pair p;
    pair_opts o = { .proxied = true };
    pair_up(&p, &o);
    p.px.drop_big = 3;
    size_t n = 2u * BIG, off = 0;
    uint8_t *up = pattern(n, 8);
    sock_in at_t = { calloc(1, n), n, 0, 0 }, at_c = { calloc(1, 16), 16, 0, 0 };
    int c = pair_client(&p), t = pair_accept(&p);
    logs_start();
    uint64_t until = now_ms() + 20000;
    while (at_t.end == 0 && now_ms() < until) {
        assert_true(sock_give(c, up, n, &off));
        sock_take(t, &at_t);
        pair_round(&p);
    }
    for (int i = 0; i < 50 && at_c.end == 0; i++) {
        sock_take(c, &at_c);
        pair_round(&p);
    }
    assert_int_equal(p.px.dropped, 1);
    assert_int_equal(at_t.end, -ECONNRESET);      /* the target: reset at the gap */
    assert_int_equal(at_c.end, -ECONNRESET);      /* the client too */
    assert_true(at_t.len > 0 && at_t.len < n);
    assert_memory_equal(at_t.buf, up, at_t.len); /* a prefix: no byte after the gap */
    logs_stop();
    assert_non_null(strstr(LOGS.text, "outlet outlet: stream 1: frames lost on the way (frame "));
    assert_int_equal(pair_outlet_stats(&p).resets, 1);
    close(c);
    close(t);
    free(up);
    free(at_t.buf);
    free(at_c.buf);
    pair_down(&p);
}

/* The targets of k streams send, their clients read nothing, until no
 * byte moved for 0.5 s: then the outlets' targets are stopped and what the
 * portal holds (in flight, or in the inlet because the clients' sockets
 * are full) is returned: what the windows let the outlet send. */
static uint64_t stall(pair *p, const int *t, size_t k, const uint8_t *down, size_t n,
                      size_t *off)
{
    uint64_t last = 0, still_since = now_ms();
    while (now_ms() - still_since < 500) {
        for (size_t i = 0; i < k; i++)
            assert_true(sock_give(t[i], down, n, &off[i]));
        pair_round(p);
        uint64_t b = pair_outlet_stats(p).bytes_out;
        if (b != last)
            still_since = now_ms();
        last = b;
    }
    veil_portal_stats in = pair_inlet_stats(p), out = pair_outlet_stats(p);
    for (size_t i = 0; i < k; i++)
        assert_true(off[i] < n); /* the target was stopped */
    assert_true(out.bytes_out > 0);
    return out.bytes_out - in.bytes_in;
}

/* The client reads nothing: once the client's socket buffers are full the
 * inlet holds what its socket does not take, and the outlet stops reading
 * the target when that is a window's worth (the target's sends block):
 * more than lo, at most hi.  Then the client reads and gets every byte,
 * in order. */
static void one_stream(uint32_t max_window, uint64_t lo, uint64_t hi)
{
    pair p;
    pair_opts o = { .max_window = max_window };
    pair_up(&p, &o);
    int c = pair_client(&p), t = pair_accept(&p);
    size_t n = 32u * BIG, off = 0;
    uint8_t *down = pattern(n, 3);
    uint64_t held = stall(&p, &t, 1, down, n, &off);
    assert_true(held <= hi);
    assert_true(held > lo);
    /* now the client reads: everything arrives, exactly */
    sock_in at_c = { malloc(n), n, 0, 0 };
    uint64_t until = now_ms() + 30000;
    while (at_c.len < n && now_ms() < until) {
        assert_true(sock_give(t, down, n, &off));
        sock_take(c, &at_c);
        pair_round(&p);
    }
    veil_portal_stats in = pair_inlet_stats(&p), out = pair_outlet_stats(&p);
    if (at_c.len != n)
        print_message("stalled: client %zu, target sent %zu, outlet out %llu, inlet in %llu, "
                      "streams %u/%u\n", at_c.len, off, (unsigned long long)out.bytes_out,
                      (unsigned long long)in.bytes_in, in.streams, out.streams);
    assert_int_equal(at_c.len, n);
    assert_memory_equal(at_c.buf, down, n);
    close(c);
    close(t);
    free(down);
    free(at_c.buf);
    pair_down(&p);
}

/* The window grew while the client's socket took every byte, never past
 * VEIL_PORTAL_WINDOW_MAX. */
static void test_credit_window(void **state)
{
    (void)state;
    one_stream(0, VEIL_PORTAL_WINDOW, VEIL_PORTAL_WINDOW_MAX);
}

/* max_window = VEIL_PORTAL_WINDOW: the window never grows, so the portal
 * holds at most that, and uses it. */
static void test_window_fixed(void **state)
{
    (void)state;
    one_stream(VEIL_PORTAL_WINDOW, VEIL_PORTAL_WINDOW / 2, VEIL_PORTAL_WINDOW);
}

/* K streams whose clients read nothing hold at most K initial windows
 * plus the side's window_budget; with the default budget the same streams
 * hold more (their windows grew past it), so the bound is the budget's. */
static uint64_t held_by_streams(uint32_t budget)
{
    enum { K = 6 };
    pair p;
    pair_opts o = { .window_budget = budget };
    pair_up(&p, &o);
    int c[K], t[K];
    size_t n = 32u * BIG, off[K] = { 0 };
    uint8_t *down = pattern(n, 5);
    for (int i = 0; i < K; i++) {
        c[i] = pair_client(&p);
        t[i] = pair_accept(&p);
    }
    uint64_t held = stall(&p, t, K, down, n, off);
    for (int i = 0; i < K; i++) {
        close(c[i]);
        close(t[i]);
    }
    free(down);
    pair_down(&p);
    print_message("%d streams, window_budget %u: %llu bytes held\n", K, budget,
                  (unsigned long long)held);
    return held;
}

static void test_window_budget(void **state)
{
    (void)state;
    const uint32_t budget = 512u * 1024u;
    assert_true(held_by_streams(budget) <= 6u * VEIL_PORTAL_WINDOW + budget);
    assert_true(held_by_streams(0) > 6u * VEIL_PORTAL_WINDOW + budget);
}

/* Closing the channel resets every stream on both sides at once: the
 * outlet's inside the close call itself, the inlet's as soon as the CLOSE
 * arrives (well under the 1 s a poll took); a new connection opens a new
 * channel. */
static void test_channel_death(void **state)
{
    (void)state;
    pair p;
    pair_opts o = { 0 };
    pair_up(&p, &o);
    enum { N = 3 };
    int fds[2 * N], ends[2 * N] = { 0 };
    for (int i = 0; i < N; i++) {
        uint8_t b1[8], b2[8];
        sock_in at_t = { b1, sizeof b1, 0, 0 }, at_c = { b2, sizeof b2, 0, 0 };
        fds[i] = pair_client(&p);
        fds[N + i] = pair_accept(&p);
        exchange(&p, fds[i], fds[N + i], (const uint8_t *)"up", (const uint8_t *)"dn", 2, &at_t,
                 &at_c);
    }
    assert_int_equal(p.nopened, 1); /* one channel carries them all */
    assert_int_equal(pair_outlet_stats(&p).streams, N);
    assert_int_equal(veil_secure_channel_close(p.b, &p.opened[0]), 0);
    /* B's side: no loop round has run since */
    assert_int_equal(pair_outlet_stats(&p).streams, 0);
    assert_int_equal(p.b_closes, 1);
    assert_int_equal(p.b_reason, 0);
    for (int i = N; i < 2 * N; i++) {
        sock_in in = { NULL, 0, 0, 0 };
        sock_take(fds[i], &in);
        assert_int_equal(in.end, -ECONNRESET);
    }
    /* A's side: within a few rounds */
    uint64_t took = pair_wait_ends(&p, fds, ends, N, 200);
    print_message("inlet streams reset %llu ms after the close\n", (unsigned long long)took);
    assert_true(took <= 200);
    for (int i = 0; i < N; i++)
        assert_int_equal(ends[i], -ECONNRESET);
    assert_int_equal(pair_inlet_stats(&p).streams, 0);
    assert_int_equal(p.a_closes, 1);
    assert_int_equal(p.a_reason, VEIL_ECLOSED);
    for (int i = 0; i < 2 * N; i++)
        close(fds[i]);
    /* the inlet opens a new channel for the next connection */
    uint8_t b1[8], b2[8];
    sock_in at_t = { b1, sizeof b1, 0, 0 }, at_c = { b2, sizeof b2, 0, 0 };
    int c = pair_client(&p), t = pair_accept(&p);
    exchange(&p, c, t, (const uint8_t *)"again", (const uint8_t *)"yes", 3, &at_t, &at_c);
    assert_int_equal(p.nopened, 2);
    close(c);
    close(t);
    pair_down(&p);
}

/* Both ends on IPv6 loopback: the inlet listens on [::1], the outlet
 * dials a target on [::1]. */
static void test_ipv6(void **state)
{
    (void)state;
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    bool have = probe >= 0 && bind(probe, (struct sockaddr *)&s6, sizeof s6) == 0;
    if (probe >= 0)
        close(probe);
    if (!have) {
        print_message("skipped: ::1 is not available here (no IPv6 loopback)\n");
        skip();
    }
    pair p;
    pair_opts o = { .ipv6 = true };
    pair_up(&p, &o);
    assert_true(strncmp(p.target, "[::1]:", 6) == 0);
    uint8_t b1[16], b2[16];
    sock_in at_t = { b1, sizeof b1, 0, 0 }, at_c = { b2, sizeof b2, 0, 0 };
    int c = pair_client(&p), t = pair_accept(&p);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    assert_int_equal(getpeername(t, (struct sockaddr *)&ss, &sl), 0);
    assert_int_equal(ss.ss_family, AF_INET6); /* the outlet dialled over IPv6 */
    exchange(&p, c, t, (const uint8_t *)"over v6", (const uint8_t *)"back v6", 7, &at_t, &at_c);
    assert_memory_equal(b1, "over v6", 7);
    assert_memory_equal(b2, "back v6", 7);
    close(c);
    close(t);
    pair_down(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_byte_exact_and_half_close),
        cmocka_unit_test(test_reset_from_client),
        cmocka_unit_test(test_reset_from_target),
        cmocka_unit_test(test_target_down),
        cmocka_unit_test(test_inlet_max_streams),
        cmocka_unit_test(test_outlet_max_streams),
        cmocka_unit_test(test_allow_refuses),
        cmocka_unit_test(test_frames_fit_64k),
        cmocka_unit_test(test_lost_frame),
        cmocka_unit_test(test_open_not_frame_0),
        cmocka_unit_test(test_credit_window),
        cmocka_unit_test(test_window_fixed),
        cmocka_unit_test(test_window_budget),
        cmocka_unit_test(test_channel_death),
        cmocka_unit_test(test_ipv6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
