/* Undeliverable notices (issue #16; docs/PROTOCOL.md, "Undeliverable
 * notices"): a message that comes over TCP for a local address with no
 * worker is answered along its return route with a 20-byte notice
 * (code -VEIL_ENOROUTE, "veil.undeliverable", 0x0f) — never for a message
 * smaller than the notice, never for a notice, at most 5 per source and
 * then one per 200 ms, and not at all with [node] answer_undeliverable =
 * false.  Before, such messages were dropped and logged only. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tcp_peer_spawn.h"
#include "tcp_raw.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const uint8_t notice[20] = "\x03veil.undeliverable\x0f";

static veil_node *node;
static int fd;

static void up(const char *answer)
{
    veil_context *app;
    veil_address bound;
    veil_config *cfg;
    assert_int_equal(veil_config_new(&cfg), 0);
    assert_int_equal(veil_config_set(cfg, "transport.tcp", "plugin", "tcp"), 0);
    if (answer != NULL)
        assert_int_equal(veil_config_set(cfg, "node", "answer_undeliverable", answer), 0);
    veil_node_options o = {.size = sizeof o, .config = cfg};
    assert_int_equal(veil_node_new(&node, &app, &o), 0);
    veil_config_free(cfg);
    assert_int_equal(veil_node_transport_listen(node, "tcp", "127.0.0.1:0", &bound), 0);
    fd = raw_connect(atoi(strrchr(bound.bytes, ':') + 1));
    raw_take_preamble(node, fd);
}

static void down(void)
{
    close(fd);
    veil_node_free(node);
}

static void expect_notice(void)
{
    char on[128], ret[128];
    uint8_t p[64];
    size_t n = raw_recv_message(node, fd, on, ret, sizeof on, p, sizeof p);
    assert_string_equal(on, "client");
    assert_string_equal(ret, "nobody");
    assert_int_equal(n, sizeof notice);
    assert_memory_equal(p, notice, sizeof notice);
}

static void test_answered_and_bounded(void **state)
{
    (void)state;
    uint8_t big[40] = {0};
    up(NULL);
    raw_send_message(fd, "nobody", "client", big, sizeof big);
    expect_notice();
    /* Smaller than the notice: no answer (never an amplification). */
    raw_send_message(fd, "nobody", "client", big, sizeof notice - 1);
    assert_int_equal(raw_available(node, fd, 100), 0);
    /* A notice is never answered. */
    raw_send_message(fd, "nobody", "client", notice, sizeof notice);
    assert_int_equal(raw_available(node, fd, 100), 0);
    down();
}

/* 20 at once: the rest of the burst (4 left after the first) and then
 * one per 200 ms. */
static void test_rate_limited_per_source(void **state)
{
    (void)state;
    uint8_t big[40] = {0};
    up(NULL);
    for (int i = 0; i < 20; i++)
        raw_send_message(fd, "nobody", "client", big, sizeof big);
    for (int i = 0; i < 5; i++)
        expect_notice();
    assert_int_equal(raw_available(node, fd, 50), 0);
    usleep(250000);
    raw_send_message(fd, "nobody", "client", big, sizeof big);
    expect_notice();
    down();
}

static void test_off(void **state)
{
    (void)state;
    uint8_t big[40] = {0};
    up("false");
    raw_send_message(fd, "nobody", "client", big, sizeof big);
    assert_int_equal(raw_available(node, fd, 200), 0);
    down();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answered_and_bounded),
        cmocka_unit_test(test_rate_limited_per_source),
        cmocka_unit_test(test_off),
    };
    return cmocka_run_group_tests_name("tcp_notice", tests, NULL, NULL);
}
