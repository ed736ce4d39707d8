/* Repeated warnings are rate-limited (issue #16): 10,000 frames from a
 * real TCP client to a worker that does not exist gave 10,000 identical
 * "no worker at that address" lines.  Now: the first line, then one line
 * with the count of the rest, whatever the flood's size; a different
 * address is a different line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "logs.h"
#include "tcp_peer_spawn.h"
#include "tcp_raw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FRAMES 10000u
#define BATCH 250u

static const char dropped[] = "dropped a message for 'echoer': no worker at that address";

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void configure(const char *window)
{
    veil_config *cfg;
    assert_int_equal(veil_config_new(&cfg), 0);
    assert_int_equal(veil_config_set(cfg, "log", "level", "warn"), 0);
    assert_int_equal(veil_config_set(cfg, "log", "repeat_window", window), 0);
    assert_int_equal(veil_log_configure(cfg), 0);
    veil_config_free(cfg);
}

/* Send FRAMES frames for "echoer" (nobody there) on one connection and
 * run the node until it dropped them all. */
static void flood(veil_node *node, int port)
{
    static uint8_t batch[BATCH * 64];
    uint8_t one[64];
    size_t n = raw_echo_frame(one, sizeof one, 8, 0x33), len = 0;
    for (unsigned i = 0; i < BATCH; i++, len += n)
        memcpy(batch + len, one, n);
    int fd = raw_connect(port);
    veil_node_stats st;
    veil_node_get_stats(node, &st);
    uint64_t before = st.dropped_noroute;
    for (unsigned sent = 0; sent < FRAMES; sent += BATCH) {
        raw_send(fd, batch, len);
        for (int spins = 0; spins < 2000; spins++) {
            veil_node_get_stats(node, &st);
            if (st.dropped_noroute - before >= sent + BATCH)
                break;
            assert_true(veil_node_run_once(node, 5) >= 0);
        }
    }
    veil_node_get_stats(node, &st);
    assert_int_equal(st.dropped_noroute - before, FRAMES);
    close(fd);
}

/* A node listening on 127.0.0.1 (no worker at all): its port. */
static int listening_node(veil_node **node)
{
    veil_context *app;
    veil_address bound;
    assert_int_equal(tcp_test_node(node, &app, NULL), 0);
    assert_int_equal(veil_node_transport_listen(*node, "tcp", "127.0.0.1:0", &bound), 0);
    return atoi(strrchr(bound.bytes, ':') + 1);
}

static void test_flood_to_missing_worker(void **state)
{
    (void)state;
    veil_node *node;
    int port = listening_node(&node);
    configure("600"); /* the whole flood in one window, however slow the machine */
    logs_start();
    flood(node, port);
    /* Held back so far: one line for 10,000 frames. */
    assert_int_equal(count(LOGS.text, dropped), 1);
    assert_int_equal(LOGS.warnings, 1);
    veil_log_flush();
    assert_int_equal(LOGS.warnings, 2);
    assert_int_equal(count(LOGS.text, dropped), 2);
    char want[160];
    snprintf(want, sizeof want, "%s (repeated %u more times in ", dropped, FRAMES - 1);
    assert_non_null(strstr(LOGS.last_warning, want));
    assert_string_equal(LOGS.last_warning_component, "node");
    /* A flush reported it: nothing is held twice. */
    veil_log_flush();
    assert_int_equal(LOGS.warnings, 2);
    logs_stop();
    assert_int_equal(veil_node_free(node), 0);
}

/* repeat_window = 0: every line, as before (10,000 lines). */
static void test_window_zero_logs_every_frame(void **state)
{
    (void)state;
    veil_node *node;
    int port = listening_node(&node);
    configure("0");
    logs_start();
    flood(node, port);
    assert_int_equal(LOGS.warnings, FRAMES);
    logs_stop();
    configure("10");
    assert_int_equal(veil_node_free(node), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flood_to_missing_worker),
        cmocka_unit_test(test_window_zero_logs_every_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
