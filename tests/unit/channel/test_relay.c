/* Relays for nodes behind NAT (veil/relay.h) over real TCP on loopback:
 * three nodes in this process, their loops pumped in turn.  M relays and
 * keeps the registry; R registers the name "bob" over its own outbound
 * connection; A opens the end-to-end channel [1#M, relay, bob,
 * bob_listener].  The registration protocol's refusals are checked with
 * requests made by hand through channels to the registry (exact codes,
 * nothing registered), and the wire decoder's bounds directly. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <veil/veil.h>

#include "node_text.h"

#include "relay_internal.h"

#include "relay_net.h"
#include "scratch.h"

/* A registration request made by hand from e (on node `on`) through a new
 * channel to the relay; the RESULT's code. */
static int ask(net *n, veil_node *on, veil_entity *e, const uint8_t *req, size_t len, veil_address *ch)
{
    veil_route r;
    char text[200];
    snprintf(text, sizeof text, "1#%s => relay_listener", n->where);
    assert_int_equal(veil_route_parse(&r, text), 0);
    assert_int_equal(open_via(n, e, &r, trusting(on, n->me), ch), 0);
    uint8_t p[VEIL_RELAY_MSG_MAX];
    size_t plen = request(n, on, ch, "relay_registry", req, len, p, sizeof p);
    veil_relay_msg res;
    assert_int_equal(veil__relay_decode(p, plen, &res), 0);
    assert_int_equal(res.type, VEIL_RELAY_RESULT);
    return res.code;
}

static size_t req_of(uint8_t *buf, uint8_t version, uint8_t type, const char *name)
{
    size_t n = strlen(name);
    buf[0] = version, buf[1] = type, buf[2] = 0, buf[3] = (uint8_t)n;
    memcpy(buf + 4, name, n);
    return 4 + n;
}

/* ---- tests ------------------------------------------------------------- */

static void test_wire_bounds(void **state)
{
    (void)state;
    veil_relay_msg m = { .version = 1, .type = VEIL_RELAY_REGISTER, .name = "bob.home-1_x" }, d;
    uint8_t b[VEIL_RELAY_MSG_MAX + 8];
    int n = veil__relay_encode(&m, b, sizeof b);
    assert_int_equal(n, 4 + 12);
    assert_int_equal(veil__relay_decode(b, (size_t)n, &d), 0);
    assert_string_equal(d.name, "bob.home-1_x");
    for (int cut = 0; cut < n; cut++)
        assert_int_equal(veil__relay_decode(b, (size_t)cut, &d), VEIL_ETRUNCATED);
    assert_int_equal(veil__relay_decode(b, (size_t)n + 1u, &d), VEIL_ETRAILING);
    b[0] = 2;
    assert_int_equal(veil__relay_decode(b, (size_t)n, &d), VEIL_EVERSION);
    b[0] = 1, b[1] = 9;
    assert_int_equal(veil__relay_decode(b, (size_t)n, &d), VEIL_EFORMAT);
    b[1] = VEIL_RELAY_REGISTER, b[2] = 1; /* REGISTER's third byte is 0 (found by fuzz_relay) */
    assert_int_equal(veil__relay_decode(b, (size_t)n, &d), VEIL_EFORMAT);
    b[2] = 0, b[5] = ' ';
    assert_int_equal(veil__relay_decode(b, (size_t)n, &d), VEIL_EFORMAT);
    b[3] = 0;
    assert_int_equal(veil__relay_decode(b, 4, &d), VEIL_EFORMAT);
    memset(b + 4, 'a', 65);
    b[3] = 65;
    assert_int_equal(veil__relay_decode(b, 69, &d), VEIL_EFORMAT);
    b[3] = 64;
    assert_int_equal(veil__relay_decode(b, 68, &d), 0);
    memset(m.name, 'a', 64);
    m.name[64] = '\0';
    assert_int_equal(veil__relay_encode(&m, b, sizeof b), 68);
    assert_false(veil_relay_name_valid(""));
    assert_false(veil_relay_name_valid("a/b"));
    assert_true(veil_relay_name_valid("a.b"));
}

static void test_needs_relay_role(void **state)
{
    (void)state;
    veil_context *app;
    veil_node *node = node_with(NULL, &app);
    assert_error_contains(veil_relay_registry_start(node, NULL, NULL), VEIL_EDENIED, "relay = false");
    assert_int_equal(veil_node_free(node), 0);
}

/* R registers "bob"; A reaches R's listener through the relay; M forwards
 * and counts; an echo comes back byte-exact. */
static void test_reach_registered_name(void **state)
{
    (void)state;
    net n = { 0 };
    net_up(&n, NULL);
    register_bob(&n, 10000);
    veil_address ch;
    assert_int_equal(open_to_bob(&n, "bob", &ch), 0);
    echo_through(&n, &ch, "through the relay");
    assert_int_equal(n.echoed, 1);
    veil_relay_registry_stats st;
    assert_int_equal(veil_relay_registry_get_stats(n.m, &st), 0);
    assert_int_equal(st.names, 1);
    assert_int_equal(st.forwarded, 1); /* HS1; then the route HS2 taught A */
    assert_true(st.returned >= 4);     /* HS2, HS3, data, the echo */
    assert_int_equal(st.unknown, 0);
    net_down(&n);
}

/* A name nobody registered: the initiator's open fails at once with the
 * relay's refusal, and R's listener saw nothing. */
static void test_unknown_name_refused(void **state)
{
    (void)state;
    net n = { 0 };
    net_up(&n, NULL);
    register_bob(&n, 10000);
    veil_address ch;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_error_contains(open_to_bob(&n, "nosuch", &ch), VEIL_EHANDSHAKE, "no such name at the relay");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 3);
    veil_relay_registry_stats st;
    assert_int_equal(veil_relay_registry_get_stats(n.m, &st), 0);
    assert_int_equal(st.unknown, 1);
    assert_int_equal(st.forwarded, 0);
    veil_listener_stats ls;
    assert_int_equal(veil_secure_channel_listener_stats(n.r, "bob_listener", &ls), 0);
    assert_int_equal(ls.first_messages, 0);
    net_down(&n);
}

/* Only the identity holding a name moves it: R moves "bob" to a second
 * channel; Carol is refused with TAKEN and holds nothing. */
static void test_move_by_owner_only(void **state)
{
    (void)state;
    net n = { 0 };
    net_up(&n, NULL);
    register_bob(&n, 10000);
    uint8_t b[80];
    veil_address ch;
    assert_int_equal(ask(&n, n.r, n.re, b, req_of(b, 1, VEIL_RELAY_REGISTER, "bob"), &ch), VEIL_RELAY_OK);
    assert_int_equal(ask(&n, n.a, n.ce, b, req_of(b, 1, VEIL_RELAY_REGISTER, "bob"), &ch),
                     VEIL_RELAY_TAKEN);
    veil_relay_registry_stats st;
    assert_int_equal(veil_relay_registry_get_stats(n.m, &st), 0);
    assert_int_equal(st.names, 1);
    assert_int_equal(st.refused, 1);
    veil_address e2e;
    assert_int_equal(open_to_bob(&n, "bob", &e2e), 0); /* still R's */
    echo_through(&n, &e2e, "still bob");
    net_down(&n);
}

/* Refusals with their exact codes; nothing registered by any of them. */
static void test_refusals(void **state)
{
    (void)state;
    net n = { 0 };
    veil_relay_registry_options o = { .size = sizeof o, .max_names = 3, .max_per_identity = 2 };
    net_up(&n, &o);
    uint8_t b[80];
    veil_address ch;
    assert_int_equal(ask(&n, n.a, n.ae, b, req_of(b, 1, VEIL_RELAY_REGISTER, "a1"), &ch), VEIL_RELAY_OK);
    assert_int_equal(ask(&n, n.a, n.ae, b, req_of(b, 1, VEIL_RELAY_REGISTER, "a2"), &ch), VEIL_RELAY_OK);
    assert_int_equal(ask(&n, n.a, n.ae, b, req_of(b, 1, VEIL_RELAY_REGISTER, "a3"), &ch),
                     VEIL_RELAY_IDENTITY_LIMIT);
    assert_int_equal(ask(&n, n.a, n.ce, b, req_of(b, 1, VEIL_RELAY_REGISTER, "c1"), &ch), VEIL_RELAY_OK);
    assert_int_equal(ask(&n, n.r, n.re, b, req_of(b, 1, VEIL_RELAY_REGISTER, "r1"), &ch), VEIL_RELAY_FULL);
    assert_int_equal(ask(&n, n.r, n.re, b, req_of(b, 1, VEIL_RELAY_REGISTER, "r 1"), &ch),
                     VEIL_RELAY_BAD_NAME);
    assert_int_equal(ask(&n, n.r, n.re, b, req_of(b, 2, VEIL_RELAY_REGISTER, "r1"), &ch),
                     VEIL_RELAY_BAD_VERSION);
    assert_int_equal(ask(&n, n.r, n.re, b, req_of(b, 1, VEIL_RELAY_RESULT, "r1"), &ch),
                     VEIL_RELAY_MALFORMED);
    size_t len = req_of(b, 1, VEIL_RELAY_REGISTER, "r1");
    b[2] = 7; /* REGISTER's reserved byte */
    assert_int_equal(ask(&n, n.r, n.re, b, len, &ch), VEIL_RELAY_MALFORMED);
    assert_int_equal(ask(&n, n.r, n.re, b, 3, &ch), VEIL_RELAY_MALFORMED); /* truncated */
    veil_relay_registry_stats st;
    assert_int_equal(veil_relay_registry_get_stats(n.m, &st), 0);
    assert_int_equal(st.names, 3);
    assert_int_equal(st.registered, 3);
    assert_int_equal(st.refused, 7);
    net_down(&n);
}

/* Registrants: only listed identities register at all. */
static void test_registrants_only(void **state)
{
    (void)state;
    net n = { 0 };
    /* the list names another identifier: R is DENIED */
    const char *only[] = { "P0000000000000000000000000000000000000000000000000000000000000000" };
    veil_relay_registry_options o = { .size = sizeof o, .registrants = only, .n_registrants = 1 };
    net_up(&n, &o);
    uint8_t b[80];
    veil_address ch;
    assert_int_equal(ask(&n, n.r, n.re, b, req_of(b, 1, VEIL_RELAY_REGISTER, "bob"), &ch),
                     VEIL_RELAY_DENIED);
    veil_relay_registry_stats st;
    assert_int_equal(veil_relay_registry_get_stats(n.m, &st), 0);
    assert_int_equal(st.names, 0);
    net_down(&n);
}

/* A reserved name: only its identity registers it, even while nobody
 * holds it; a malformed reservation fails the start. */
static void test_reserved_name(void **state)
{
    (void)state;
    net n = { 0 };
    char keep[200];
    memset(&n, 0, sizeof n);
    /* identities first (the reservation names R), then the relay */
    n.r = node_with("[transport.tcp]\nauto_connect = true\n", &n.rapp);
    assert_int_equal(veil_entity_open(n.r, NULL, NULL, VEIL_ENTITY_CREATE, &n.re), 0);
    n.a = node_with("[transport.tcp]\nauto_connect = true\n", &n.aapp);
    assert_int_equal(veil_entity_open(n.a, NULL, NULL, VEIL_ENTITY_CREATE, &n.ae), 0);
    snprintf(keep, sizeof keep, "bob=%s", veil_entity_identifier(n.re));
    const char *reserved[] = { keep }, *bad[] = { "bob" };
    veil_relay_registry_options o = { .size = sizeof o, .reserved = bad, .n_reserved = 1 };
    veil_context *app;
    veil_node *tmp = node_with("[node]\nrelay = true\n", &app);
    assert_error_contains(veil_relay_registry_start(tmp, NULL, &o), VEIL_EINVAL, "not NAME=IDENTIFIER");
    assert_int_equal(veil_node_free(tmp), 0);
    o.reserved = reserved;
    relay_up(&n, &o);
    uint8_t b[80];
    veil_address ch;
    assert_int_equal(ask(&n, n.a, n.ae, b, req_of(b, 1, VEIL_RELAY_REGISTER, "bob"), &ch),
                     VEIL_RELAY_TAKEN);
    assert_int_equal(ask(&n, n.a, n.ae, b, req_of(b, 1, VEIL_RELAY_REGISTER, "bobby"), &ch),
                     VEIL_RELAY_OK);
    assert_int_equal(ask(&n, n.r, n.re, b, req_of(b, 1, VEIL_RELAY_REGISTER, "bob"), &ch), VEIL_RELAY_OK);
    veil_relay_registry_stats st;
    assert_int_equal(veil_relay_registry_get_stats(n.m, &st), 0);
    assert_int_equal(st.names, 2);
    net_down(&n);
}

/* The registration's channel closes (the registrant stops): the name
 * expires and an initiator gets the refusal; registering again (a new
 * channel) makes it reachable again. */
static void test_expiry_and_reregistration(void **state)
{
    (void)state;
    net n = { 0 };
    net_up(&n, NULL);
    register_bob(&n, 10000);
    assert_int_equal(veil_relay_register_stop(n.r, "bob"), 0);
    pump_until(&n, NULL, 0, 200);
    veil_address ch;
    assert_error_contains(open_to_bob(&n, "bob", &ch), VEIL_EHANDSHAKE, "no such name at the relay");
    veil_relay_registry_stats st;
    assert_int_equal(veil_relay_registry_get_stats(n.m, &st), 0);
    assert_int_equal(st.expired, 1);
    assert_int_equal(st.names, 0);
    register_bob(&n, 10000);
    assert_int_equal(open_to_bob(&n, "bob", &ch), 0);
    echo_through(&n, &ch, "again");
    net_down(&n);
}

#ifdef TEST_STORE_SQLITE
static char relay_state_dir[128];

static void relay_restart(net *n, const veil_relay_registry_options *o)
{
    veil_entity_close(n->me);
    assert_int_equal(veil_node_free(n->m), 0);
    relay_up(n, o); /* a new port and identity, the same state directory */
}

/* Names kept across a relay restart ([node] state_dir): the name stays
 * bound to R's identity, so Carol is refused with TAKEN (and holds
 * nothing) while R has not registered again, and an initiator gets the
 * "no such name" refusal (no route is known); R's REGISTER re-teaches the
 * route and the name is reached again.  A kept name whose owner does not
 * come back within restart_hold_ms is free again; one that expired by its
 * connection before the restart is not kept at all. */
static void test_names_kept_across_restart(void **state)
{
    (void)state;
    char cmd[256];
    assert_int_equal(scratch_template(relay_state_dir, sizeof relay_state_dir, "relay-keep"), 0);
    assert_non_null(mkdtemp(relay_state_dir));
    veil_relay_registry_options o = { .size = sizeof o, .restart_hold_ms = 60000 };
    veil_relay_registry_options brief = { .size = sizeof o, .restart_hold_ms = 200 };
    char node_line[160];
    snprintf(node_line, sizeof node_line, "state_dir = %s\n", relay_state_dir);
    net n = { .m_node = node_line };
    net_up(&n, &o);
    uint8_t req[80];
    size_t len = req_of(req, 1, VEIL_RELAY_REGISTER, "bob");
    veil_address ch, rch, cch;
    assert_int_equal(ask(&n, n.r, n.re, req, len, &rch), VEIL_RELAY_OK);
    relay_restart(&n, &o);
    assert_int_equal(ask(&n, n.a, n.ce, req, len, &cch), VEIL_RELAY_TAKEN);
    assert_error_contains(open_to_bob(&n, "bob", &ch), VEIL_EHANDSHAKE, "no such name at the relay");
    veil_relay_registry_stats st;
    assert_int_equal(veil_relay_registry_get_stats(n.m, &st), 0);
    assert_int_equal(st.names, 1);
    assert_int_equal(st.registered, 0);
    assert_int_equal(ask(&n, n.r, n.re, req, len, &rch), VEIL_RELAY_OK);
    assert_int_equal(open_to_bob(&n, "bob", &ch), 0);
    echo_through(&n, &ch, "after the relay's restart");
    assert_int_equal(n.echoed, 1);

    /* the owner does not come back: free after restart_hold_ms */
    relay_restart(&n, &brief);
    pump_until(&n, NULL, 0, 500);
    assert_int_equal(veil_relay_registry_get_stats(n.m, &st), 0);
    assert_int_equal(st.names, 0);
    assert_int_equal(st.expired, 1);
    assert_int_equal(ask(&n, n.a, n.ce, req, len, &cch), VEIL_RELAY_OK);

    /* Carol's channel closes before the restart: her name expires then
     * (on use), so it is not kept, and R takes it after the restart */
    assert_int_equal(veil_secure_channel_close(n.a, &cch), 0);
    pump_until(&n, NULL, 0, 200);
    assert_int_equal(ask(&n, n.r, n.re, req, len, &rch), VEIL_RELAY_OK); /* drops carol's */
    relay_restart(&n, &o);
    assert_int_equal(ask(&n, n.a, n.ce, req, len, &cch), VEIL_RELAY_TAKEN); /* R's, kept */

    /* more kept names than max_names after a restart: the surplus is
     * dropped and its record deleted (not back at the next start) */
    uint8_t req2[80];
    size_t len2 = req_of(req2, 1, VEIL_RELAY_REGISTER, "bob2");
    assert_int_equal(ask(&n, n.r, n.re, req, len, &rch), VEIL_RELAY_OK);
    assert_int_equal(ask(&n, n.r, n.re, req2, len2, &rch), VEIL_RELAY_OK);
    veil_relay_registry_options one = o;
    one.max_names = 1;
    relay_restart(&n, &one);
    assert_int_equal(veil_relay_registry_get_stats(n.m, &st), 0);
    assert_int_equal(st.names, 1);
    relay_restart(&n, &o);
    assert_int_equal(veil_relay_registry_get_stats(n.m, &st), 0);
    assert_int_equal(st.names, 1);
    net_down(&n);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", relay_state_dir);
    assert_int_equal(system(cmd), 0);
    relay_state_dir[0] = '\0';
}
#endif

/* Keep-alive: with a short period the relay sees the refreshes, and the
 * registrant stays registered (one registration, not one per refresh). */
static void test_keepalive(void **state)
{
    (void)state;
    net n = { 0 };
    net_up(&n, NULL);
    register_bob(&n, 100);
    pump_until(&n, NULL, 0, 600);
    veil_relay_registry_stats st;
    assert_int_equal(veil_relay_registry_get_stats(n.m, &st), 0);
    assert_true(st.registered >= 4);
    unsigned reg;
    bool up;
    assert_int_equal(veil_relay_register_status(n.r, "bob", &up, &reg), 0);
    assert_true(up);
    assert_int_equal(reg, 1);
    net_down(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_bounds),
        cmocka_unit_test(test_needs_relay_role),
        cmocka_unit_test(test_reach_registered_name),
        cmocka_unit_test(test_unknown_name_refused),
        cmocka_unit_test(test_move_by_owner_only),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_registrants_only),
        cmocka_unit_test(test_reserved_name),
        cmocka_unit_test(test_expiry_and_reregistration),
        cmocka_unit_test(test_keepalive),
#ifdef TEST_STORE_SQLITE
        cmocka_unit_test(test_names_kept_across_restart),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
