/* The tcp transport's direct send path (tcp_conn_queue): a large frame on
 * a connection with nothing queued goes to the socket in the sender's call,
 * from the sender's buffer, and only what the kernel did not take is
 * copied into the send queue.  Real sockets: a raw peer (tests/support/
 * tcp_raw.c) that the node dials reads every frame back and checks it
 * byte for byte and in order, after the kernel took the first frame whole
 * (nothing queued) and after it took part of a frame (the rest queued and
 * sent by the flush), while small frames still wait for the batched flush,
 * up to 64 KiB queued. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tcp_peer_spawn.h"
#include "tcp_raw.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BIG (64u << 10)   /* a bulk chunk: over the direct threshold (8 KiB) */
#define FRAMES 96         /* 6 MiB: more than loopback takes unread */

static veil_node *node;
static veil_context *app;
static int ls, peer, port;
static veil_route route;
static uint8_t payload[BIG], got[BIG];

static veil_transport_stats stats(void)
{
    veil_transport_stats st;
    assert_int_equal(veil_node_transport_stats(node, "tcp", &st), 0);
    return st;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed * 131u + i * 7u + (i >> 8));
}

/* A node dialing a raw listener; its "hello" frame read off. */
static int setup(void **state)
{
    (void)state;
    static const char *const kv[] = {"send_queue_max=16m", NULL};
    struct sockaddr_in sin;
    assert_int_equal(tcp_test_node(&node, &app, kv), 0);
    ls = raw_listen(SOCK_NONBLOCK, 4, &sin);
    port = ntohs(sin.sin_port);
    peer = raw_dialed_by(node, app, ls, port);
    raw_send(peer, raw_preamble, sizeof raw_preamble);
    char on[128], ret[128];
    assert_int_equal(raw_recv_message(node, peer, on, ret, sizeof on, got, sizeof got), 5);
    assert_memory_equal(got, "hello", 5);
    char text[64];
    snprintf(text, sizeof text, "1#127.0.0.1:%d => echoer", port);
    assert_int_equal(veil_route_parse(&route, text), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close(peer);
    close(ls);
    veil_node_free(node);
    node = NULL;
    return 0;
}

static void expect(unsigned seed, size_t n)
{
    char on[128], ret[128];
    fill(payload, n, seed);
    assert_int_equal(raw_recv_message(node, peer, on, ret, sizeof on, got, sizeof got), n);
    assert_string_equal(on, "echoer");
    assert_memory_equal(got, payload, n);
}

/* With nothing queued, the sender's call writes the whole frame (loopback
 * takes 64 KiB into an empty socket): no flush needed, no send buffer
 * allocated.  A small frame behind it still waits for the flush. */
static void test_large_frame_goes_out_in_the_senders_call(void **state)
{
    (void)state;
    veil_transport_stats st0 = stats();
    fill(payload, BIG, 1);
    assert_int_equal(veil_ctx_send(app, &route, payload, BIG), 0);
    veil_transport_stats st1 = stats();
    assert_int_equal(st1.writes - st0.writes, 1);
    assert_true(st1.bytes_sent - st0.bytes_sent > BIG);
    assert_int_equal(st1.queued_bytes, 0);
    assert_int_equal(st1.buffer_allocs, st0.buffer_allocs);
    assert_int_equal(st1.frames_sent - st0.frames_sent, 1);
    assert_int_equal(veil_ctx_send(app, &route, "small", 5), 0);
    veil_transport_stats st2 = stats();
    assert_int_equal(st2.writes, st1.writes); /* queued for the batched flush */
    assert_true(st2.queued_bytes > 5);
    expect(1, BIG);
    char on[128], ret[128];
    assert_int_equal(raw_recv_message(node, peer, on, ret, sizeof on, got, sizeof got), 5);
    assert_memory_equal(got, "small", 5);
    assert_int_equal(stats().queued_bytes, 0);
}

/* The peer reads nothing while 96 frames of 64 KiB are sent: the kernel
 * takes the first ones whole, then part of one (the rest is queued), then
 * nothing (the following frames queue behind).  Every frame then arrives
 * whole and in order. */
static void test_kernel_takes_part_of_a_frame(void **state)
{
    (void)state;
    veil_transport_stats st0 = stats();
    int direct_whole = 0, first_queued = -1;
    size_t queued_then = 0;
    for (int i = 0; i < FRAMES; i++) {
        fill(payload, BIG, (unsigned)i + 2);
        assert_int_equal(veil_ctx_send(app, &route, payload, BIG), 0);
        veil_transport_stats st = stats();
        if (st.queued_bytes == 0)
            direct_whole++;
        else if (first_queued < 0) {
            first_queued = i;
            queued_then = st.queued_bytes;
        }
    }
    print_message("# %d frames went whole in the sender's call; frame %d was the first with "
                  "bytes queued (%zu of its %u)\n", direct_whole, first_queued, queued_then,
                  BIG + 4 + 1 + 7 + 1 + 7 + 3);
    assert_true(direct_whole >= 1);
    assert_true(first_queued >= 1); /* the kernel's buffers filled up */
    /* once bytes are queued, every later frame queues behind them */
    assert_int_equal(direct_whole, first_queued);
    assert_int_equal(stats().frames_sent - st0.frames_sent, FRAMES);
    for (int i = 0; i < FRAMES; i++)
        expect((unsigned)i + 2, BIG);
    assert_int_equal(stats().queued_bytes, 0);
    assert_int_equal(stats().connections_open, 1);
}

/* Small frames wait for the round's flush, but not past 64 KiB queued: the
 * sender's call that brings the queue there writes it (one sendmsg), so a
 * burst of small frames (a channel encrypting a window's worth, a relay
 * forwarding a read's worth) reaches the next hop while the sender still
 * works, not all at the round's end.  Every frame arrives whole and in
 * order. */
#define SMALL 1024u
#define SMALLS 120 /* about 125 KiB: the threshold is crossed once, into an empty socket */
static void test_small_frames_flushed_at_64k_queued(void **state)
{
    (void)state;
    veil_transport_stats st0 = stats();
    int early = 0;
    size_t peak = 0;
    for (int i = 0; i < SMALLS; i++) {
        fill(payload, SMALL, (unsigned)i + 7);
        veil_transport_stats before = stats();
        assert_int_equal(veil_ctx_send(app, &route, payload, SMALL), 0);
        veil_transport_stats st = stats();
        if (st.writes != before.writes) {
            early++;
            assert_true(before.queued_bytes + SMALL >= (64u << 10)); /* not before */
            assert_int_equal(st.queued_bytes, 0); /* an empty socket took it all */
        }
        if (st.queued_bytes > peak)
            peak = st.queued_bytes;
    }
    print_message("# %d writes in the senders' calls; at most %zu bytes queued\n", early, peak);
    assert_int_equal(early, 1);
    assert_true(peak < (64u << 10));
    assert_int_equal(stats().frames_sent - st0.frames_sent, SMALLS);
    for (int i = 0; i < SMALLS; i++)
        expect((unsigned)i + 7, SMALL);
    assert_int_equal(stats().queued_bytes, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_large_frame_goes_out_in_the_senders_call, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_kernel_takes_part_of_a_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_frames_flushed_at_64k_queued, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
