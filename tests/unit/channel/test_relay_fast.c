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
 *    forwarded. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forwarded_frames_are_no_messages),
        cmocka_unit_test(test_malformed_frames_refused),
        cmocka_unit_test(test_not_forwarded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
