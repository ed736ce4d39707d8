/* The portal stream codec (docs/PROTOCOL.md, "Portal streams"): every
 * frame type round trip, every malformed input refused with its exact
 * code and detail; the open/close calls' argument errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include <stdio.h>
#include <string.h>

#include <veil/error.h>
#include <veil/node.h>
#include <veil/plugin.h>
#include <veil/portal.h>
#include <veil/veil.h>

static void test_header_round_trip(void **state)
{
    (void)state;
    uint8_t b[VEIL_PORTAL_HEADER + 4];
    veil_portal_frame f;
    static const uint8_t types[] = { VEIL_PORTAL_OPEN, VEIL_PORTAL_FIN, VEIL_PORTAL_RESET };
    for (size_t i = 0; i < sizeof types; i++) {
        assert_int_equal(veil_portal_frame_header(b, types[i], 0x01020304u, 0x05060708u, 0), 10);
        assert_memory_equal(b, ((uint8_t[]){ 2, types[i], 1, 2, 3, 4, 5, 6, 7, 8 }), 10);
        assert_int_equal(veil_portal_frame_decode(b, 10, &f), 0);
        assert_int_equal(f.type, types[i]);
        assert_int_equal(f.stream, 0x01020304u);
        assert_int_equal(f.seq, 0x05060708u);
        assert_int_equal(f.body_len, 0);
    }
    assert_int_equal(veil_portal_frame_header(b, VEIL_PORTAL_CREDIT, 7, 3, 65536), 14);
    assert_int_equal(veil_portal_frame_decode(b, 14, &f), 0);
    assert_int_equal(f.type, VEIL_PORTAL_CREDIT);
    assert_int_equal(f.seq, 3);
    assert_int_equal(f.credit, 65536);
}

static void test_data(void **state)
{
    (void)state;
    static uint8_t b[VEIL_PORTAL_HEADER + VEIL_PORTAL_DATA_MAX + 1];
    veil_portal_frame f;
    (void)veil_portal_frame_header(b, VEIL_PORTAL_DATA, 9, 0, 0);
    memset(b + 10, 0xab, VEIL_PORTAL_DATA_MAX + 1);
    assert_int_equal(veil_portal_frame_decode(b, 10 + VEIL_PORTAL_DATA_MAX, &f), 0);
    assert_ptr_equal(f.body, b + 10);
    assert_int_equal(f.body_len, VEIL_PORTAL_DATA_MAX);
    assert_int_equal(veil_portal_frame_decode(b, 11, &f), 0);
    assert_int_equal(f.body_len, 1);
    assert_error(veil_portal_frame_decode(b, 10 + VEIL_PORTAL_DATA_MAX + 1, &f), VEIL_ELIMIT,
                 "portal DATA of 65537 bytes (at most 65536)");
    assert_error(veil_portal_frame_decode(b, 10, &f), VEIL_EFORMAT, "portal DATA frame is empty");
}

static void test_reset_reason(void **state)
{
    (void)state;
    uint8_t b[VEIL_PORTAL_HEADER + VEIL_PORTAL_REASON_MAX + 1];
    veil_portal_frame f;
    (void)veil_portal_frame_header(b, VEIL_PORTAL_RESET, 3, 0, 0);
    memset(b + 10, 'x', sizeof b - 10);
    assert_int_equal(veil_portal_frame_decode(b, 10 + VEIL_PORTAL_REASON_MAX, &f), 0);
    assert_int_equal(f.body_len, VEIL_PORTAL_REASON_MAX);
    assert_error(veil_portal_frame_decode(b, sizeof b, &f), VEIL_ELIMIT,
                 "portal RESET reason of 201 bytes (at most 200)");
}

static void test_malformed(void **state)
{
    (void)state;
    veil_portal_frame f;
    uint8_t b[16] = { 2, VEIL_PORTAL_OPEN, 0, 0, 0, 1, 0, 0, 0, 0 };
    assert_error(veil_portal_frame_decode(b, 9, &f), VEIL_ETRUNCATED,
                 "portal frame of 9 bytes (header is 10)");
    assert_error(veil_portal_frame_decode(b, 0, &f), VEIL_ETRUNCATED,
                 "portal frame of 0 bytes (header is 10)");
    b[0] = 1; /* a node from before the window could grow and frames were numbered */
    assert_error(veil_portal_frame_decode(b, 10, &f), VEIL_EVERSION,
                 "portal frame version 1 (expected 2)");
    b[0] = 2;
    b[5] = 0;
    assert_error(veil_portal_frame_decode(b, 10, &f), VEIL_EFORMAT,
                 "portal frame for stream 0 (ids start at 1)");
    b[5] = 1;
    assert_error(veil_portal_frame_decode(b, 11, &f), VEIL_EFORMAT,
                 "portal frame type 1 carries 1 body bytes (none belong)");
    b[1] = VEIL_PORTAL_FIN;
    assert_error(veil_portal_frame_decode(b, 12, &f), VEIL_EFORMAT,
                 "portal frame type 3 carries 2 body bytes (none belong)");
    b[1] = 0;
    assert_error(veil_portal_frame_decode(b, 10, &f), VEIL_EFORMAT,
                 "portal frame type 0 unknown (1..5)");
    b[1] = 6;
    assert_error(veil_portal_frame_decode(b, 10, &f), VEIL_EFORMAT,
                 "portal frame type 6 unknown (1..5)");
    b[1] = VEIL_PORTAL_CREDIT;
    assert_error(veil_portal_frame_decode(b, 13, &f), VEIL_ETRUNCATED,
                 "portal CREDIT: 3 body bytes, expected 4");
    assert_error(veil_portal_frame_decode(b, 15, &f), VEIL_ETRAILING,
                 "portal CREDIT: 5 body bytes, expected 4");
    assert_error(veil_portal_frame_decode(b, 14, &f), VEIL_EFORMAT, "portal CREDIT of 0 bytes");
    assert_error(veil_portal_frame_decode(NULL, 14, &f), VEIL_EINVAL,
                 "portal frame: NULL argument");
}

static int no_policy(veil_node *node, void *user, veil_trust_policy **out)
{
    (void)node;
    (void)user;
    (void)out;
    return VEIL_EDENIED;
}

static void test_open_close_errors(void **state)
{
    (void)state;
    veil_node *node = NULL;
    veil_context *app = NULL;
    veil_portal_stats st;
    assert_int_equal(veil_node_new(&node, &app, NULL), 0);
    veil_portal_outlet_options o = { sizeof o, "web", "127.0.0.1:1", NULL, 0, 0, NULL, 0, 0 };
    assert_error(veil_portal_outlet_open(node, &o), VEIL_EINVAL,
                 "portal outlet: missing option (address, to, policy)");
    veil_portal_inlet_options in = { sizeof in, "web", "127.0.0.1:0", NULL, "web", NULL, NULL,
                                     NULL, 0, NULL, false, 0, 0 };
    assert_error(veil_portal_inlet_open(node, &in), VEIL_EINVAL,
                 "portal inlet: missing option (address, from, route, outlet, entity, policy)");
    /* addresses: IPv6 in brackets, numeric for an inlet */
    veil_trust_policy *pol;
    veil_entity *e;
    veil_route r;
    assert_int_equal(veil_route_parse(&r, "1#127.0.0.1:1 => listener"), 0);
    assert_int_equal(veil_entity_open(node, NULL, NULL, VEIL_ENTITY_CREATE, &e), 0);
    static const struct { const char *to, *detail; } bad_to[] = {
        { "::1:80", "outlet to '::1:80': an IPv6 address goes in brackets ([::1]:PORT)" },
        { "[::1:80", "outlet to '[::1:80': expected HOST:PORT or [IPv6]:PORT" },
        { "[::1]80", "outlet to '[::1]80': expected HOST:PORT or [IPv6]:PORT" },
        { "[]:80", "outlet to '[]:80': expected HOST:PORT or [IPv6]:PORT" },
        { "localhost", "outlet to 'localhost': expected HOST:PORT or [IPv6]:PORT" },
        { "1.2.3.4:65536", "outlet to '1.2.3.4:65536': the port is not 0..65535" },
        { "1.2.3.4:-1", "outlet to '1.2.3.4:-1': the port is not 0..65535" },
    };
    for (size_t i = 0; i < sizeof bad_to / sizeof bad_to[0]; i++) {
        assert_int_equal(veil_trust_policy_new(node, "everyone", NULL, &pol), 0);
        veil_portal_outlet_options b = { sizeof b, "web", bad_to[i].to, pol, 0, 0, NULL, 0, 0 };
        assert_error(veil_portal_outlet_open(node, &b), VEIL_EINVAL, bad_to[i].detail);
    }
    static const struct { const char *from, *detail; } bad_from[] = {
        { "::1:0", "from '::1:0': an IPv6 address goes in brackets ([::1]:PORT)" },
        { "[127.0.0.1]:0", "from '[127.0.0.1]:0': expected IPv4:PORT or [IPv6]:PORT (e.g. "
                           "127.0.0.1:7000, [::1]:7000)" },
        { "localhost:0", "from 'localhost:0': expected IPv4:PORT or [IPv6]:PORT (e.g. "
                         "127.0.0.1:7000, [::1]:7000)" },
    };
    for (size_t i = 0; i < sizeof bad_from / sizeof bad_from[0]; i++) {
        veil_portal_inlet_options b = { sizeof b, "web", bad_from[i].from, &r, "web", e,
                                        no_policy, NULL, 0, NULL, false, 0, 0 };
        assert_error(veil_portal_inlet_open(node, &b), VEIL_EINVAL, bad_from[i].detail);
    }
    /* flow control options: max_window in range; an options struct from
     * before them (its size ends at transport) gets the defaults */
    static const uint32_t bad_window[] = { 1000u, VEIL_PORTAL_WINDOW - 1u,
                                           VEIL_PORTAL_WINDOW_MAX + 1u };
    for (size_t i = 0; i < sizeof bad_window / sizeof bad_window[0]; i++) {
        char detail[96];
        snprintf(detail, sizeof detail, "portal web: max_window %u out of range (262144..4194304)",
                 bad_window[i]);
        assert_int_equal(veil_trust_policy_new(node, "everyone", NULL, &pol), 0);
        veil_portal_outlet_options b = { sizeof b, "web", "127.0.0.1:1", pol, 0, 0, NULL,
                                         bad_window[i], 0 };
        assert_error(veil_portal_outlet_open(node, &b), VEIL_EINVAL, detail);
        veil_portal_inlet_options bi = { sizeof bi, "web", "127.0.0.1:0", &r, "web", e,
                                         no_policy, NULL, 0, NULL, false, bad_window[i], 0 };
        assert_error(veil_portal_inlet_open(node, &bi), VEIL_EINVAL, detail);
    }
    assert_int_equal(veil_trust_policy_new(node, "everyone", NULL, &pol), 0);
    veil_portal_outlet_options old = { VEIL_ABI_SIZE(veil_portal_outlet_options, transport),
                                       "web", "127.0.0.1:1", pol, 0, 0, NULL,
                                       1000u /* past its size: not read */, 0 };
    assert_int_equal(veil_portal_outlet_open(node, &old), 0);
    assert_int_equal(veil_portal_outlet_close(node, "web"), 0);
    veil_entity_close(e);
    assert_error(veil_portal_inlet_close(node, "web"), VEIL_ENOTFOUND,
                 "no portal inlet at 'web'");
    assert_error(veil_portal_outlet_close(node, "web"), VEIL_ENOTFOUND,
                 "no portal outlet at 'web'");
    assert_error(veil_portal_outlet_stats(node, "web", &st), VEIL_ENOTFOUND,
                 "no portal outlet at 'web'");
    /* The app context is no outlet even though a worker owns "app". */
    assert_error(veil_portal_inlet_stats(node, "app", &st), VEIL_ENOTFOUND,
                 "no portal inlet at 'app'");
    assert_int_equal(veil_node_free(node), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_round_trip),
        cmocka_unit_test(test_data),
        cmocka_unit_test(test_reset_reason),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_open_close_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
