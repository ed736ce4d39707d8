/* A portal inlet whose channel heals (veil_portal_inlet_options.resilient,
 * issue #15): two nodes in one process over real loopback TCP, A reaching
 * B through a proxy the test cuts (portal_pair.h, tcp_proxy.h).  When the
 * connection under the channel breaks, the streams on it are reset at both
 * ends (their bytes in flight are gone with the old session: a stream
 * cannot resume where it was), the inlet's close subscriber hears
 * RECONNECTING, and the inlet keeps accepting: the next connection goes
 * through the healed channel (a new responder channel at B) byte-exact. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "portal_pair.h"

/* Run until the stream carried what both sides sent (both ways). */
static void exchange(pair *p, int c, int t, const char *up, const char *down)
{
    uint8_t b1[16], b2[16];
    sock_in at_t = { b1, sizeof b1, 0, 0 }, at_c = { b2, sizeof b2, 0, 0 };
    size_t uo = 0, dn = 0, nu = strlen(up), nd = strlen(down);
    uint64_t until = now_ms() + 10000;
    while ((at_t.len < nu || at_c.len < nd) && now_ms() < until) {
        assert_true(sock_give(c, (const uint8_t *)up, nu, &uo));
        assert_true(sock_give(t, (const uint8_t *)down, nd, &dn));
        sock_take(t, &at_t);
        sock_take(c, &at_c);
        assert_int_equal(at_t.end, 0);
        assert_int_equal(at_c.end, 0);
        pair_round(p);
    }
    assert_int_equal(at_t.len, nu);
    assert_int_equal(at_c.len, nd);
    assert_memory_equal(b1, up, nu);
    assert_memory_equal(b2, down, nd);
}

static void test_inlet_heals(void **state)
{
    (void)state;
    pair p;
    pair_opts o = { 0 };
    o.resilient = true;
    o.proxied = true;
    pair_up(&p, &o);
    enum { N = 2 };
    int fds[2 * N], ends[2 * N] = { 0 };
    for (int i = 0; i < N; i++) {
        fds[i] = pair_client(&p);
        fds[N + i] = pair_accept(&p);
        exchange(&p, fds[i], fds[N + i], "up", "dn");
    }
    assert_int_equal(p.nopened, 1);
    tcp_proxy_cut(&p.px); /* the connection under the channel breaks */
    uint64_t took = pair_wait_ends(&p, fds, ends, 2 * N, 2000);
    print_message("streams reset %llu ms after the cut\n", (unsigned long long)took);
    assert_true(took <= 2000);
    for (int i = 0; i < 2 * N; i++) {
        assert_int_equal(ends[i], -ECONNRESET);
        close(fds[i]);
    }
    assert_int_equal(p.a_closes, 1);
    assert_int_equal(p.a_kind, VEIL_SECURE_CHANNEL_RECONNECTING);
    assert_int_equal(p.a_reason, VEIL_ENOROUTE);
    assert_int_equal(pair_inlet_stats(&p).streams, 0);
    /* a connection made now waits for the heal, then goes through */
    int c = pair_client(&p), t = pair_accept(&p);
    exchange(&p, c, t, "again", "yes");
    assert_int_equal(p.nopened, 2);  /* a new responder channel at B */
    assert_int_equal(p.a_closes, 1); /* A's channel did not close: it healed */
    int c2 = pair_client(&p), t2 = pair_accept(&p);
    exchange(&p, c2, t2, "more", "ok");
    assert_int_equal(p.nopened, 2);  /* the same healed channel */
    close(c);
    close(t);
    close(c2);
    close(t2);
    pair_down(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inlet_heals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
