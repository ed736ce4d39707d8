/* Node runtime: workers, contexts, routing semantics, errors, pools. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"
#include "logs.h"
#include "msg.h"

#include <veil/veil.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static veil_node *node;
static veil_context *app;

static int setup(void **state)
{
    (void)state;
    return veil_node_new(&node, &app, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = veil_node_free(node);
    node = NULL;
    app = NULL;
    return rc;
}

/* ---- workers used by the tests --------------------------------------- */

struct wstate {
    int started, stopped, handled;
    int rc;                 /* what handle_message returns */
    int recv_rc;            /* veil_ctx_receive from inside the handler */
    char first[VEIL_ADDRESS_MAX + 1];         /* first onward address seen by the handler */
};

static int w_start(veil_context *ctx, void *st)
{
    (void)ctx;
    ((struct wstate *)st)->started++;
    return 0;
}

static void w_stop(veil_context *ctx, void *st)
{
    (void)ctx;
    ((struct wstate *)st)->stopped++;
}

static int w_count(veil_context *ctx, void *st, veil_message *msg)
{
    struct wstate *s = st;
    veil_address a;
    (void)ctx;
    s->handled++;
    if (veil_route_get(veil_message_onward(msg), 0, &a) == 0)
        snprintf(s->first, sizeof s->first, "%s", a.bytes);
    return s->rc;
}

static int w_echo(veil_context *ctx, void *st, veil_message *msg)
{
    if (st != NULL)
        ((struct wstate *)st)->handled++;
    return veil_ctx_reply_message(ctx, msg, NULL, 0);
}

static int w_hop(veil_context *ctx, void *st, veil_message *msg)
{
    (void)st;
    return veil_ctx_forward_next(ctx, msg);
}

static int w_forward(veil_context *ctx, void *st, veil_message *msg)
{
    (void)st;
    return veil_ctx_forward(ctx, msg);
}

static int w_receive_inside(veil_context *ctx, void *st, veil_message *msg)
{
    struct wstate *s = st;
    veil_message *m = NULL;
    (void)msg;
    (void)ctx;
    /* even on a mailbox context: the loop cannot be re-entered */
    s->recv_rc = veil_ctx_receive(app, &m, 0);
    s->handled++;
    return 0;
}

static const veil_worker_ops count_ops = {
    .size = sizeof(veil_worker_ops), .start = w_start, .handle_message = w_count, .stop = w_stop,
};
static const veil_worker_ops echo_ops = {.size = sizeof(veil_worker_ops), .handle_message = w_echo};
static const veil_worker_ops hop_ops = {.size = sizeof(veil_worker_ops), .handle_message = w_hop};
static const veil_worker_ops fwd_ops = {.size = sizeof(veil_worker_ops), .handle_message = w_forward};

static void run_rounds(int n)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(veil_node_run_once(node, 0), 0);
}


/* ---- tests ------------------------------------------------------------ */

static void test_app_context(void **state)
{
    (void)state;
    assert_string_equal(veil_ctx_address(app)->bytes, "app");
    assert_ptr_equal(veil_ctx_node(app), node);
    assert_non_null(veil_node_config(node));
}

static void test_worker_start_stop_runtime(void **state)
{
    (void)state;
    struct wstate s = {0};
    assert_int_equal(veil_ctx_start_worker(app, "w1", &count_ops, &s), 0);
    assert_int_equal(s.started, 1);
    send_text(app, "w1", "one");
    run_rounds(1);
    assert_int_equal(s.handled, 1);
    /* the handler sees its own address at the front of the onward route */
    assert_string_equal(s.first, "w1");
    /* taken address */
    assert_error(veil_ctx_start_worker(app, "w1", &count_ops, &s), VEIL_EEXIST,
                 "address 'w1' is already in use");
    assert_int_equal(veil_ctx_stop_worker(app, "w1"), 0);
    assert_int_equal(s.stopped, 1);
    veil_route r = route_of("w1");
    assert_int_equal(veil_ctx_send(app, &r, "x", 1), VEIL_ENOROUTE);
    assert_error(veil_ctx_stop_worker(app, "w1"), VEIL_ENOTFOUND, "no worker at address 'w1'");
    /* the app context is a mailbox, not a worker */
    assert_error(veil_ctx_stop_worker(app, "app"), VEIL_EINVAL,
                 "address 'app' belongs to a mailbox context, not a worker");
    /* address free again: a worker can be started there */
    assert_int_equal(veil_ctx_start_worker(app, "w1", &echo_ops, NULL), 0);
}

static int w_start_fail(veil_context *ctx, void *st)
{
    (void)ctx;
    (void)st;
    return veil_error_set(VEIL_EIO, "disk on fire");
}

static void test_worker_start_errors(void **state)
{
    (void)state;
    veil_worker_ops ops = {.size = sizeof ops, .start = w_start_fail, .handle_message = w_count};
    assert_error_contains(veil_ctx_start_worker(app, "bad", &ops, NULL), VEIL_EIO,
                          "worker 'bad' failed to start");
    assert_last_error("worker 'bad' failed to start: disk on fire");
    /* the address was released */
    veil_route r = route_of("bad");
    assert_int_equal(veil_ctx_send(app, &r, "x", 1), VEIL_ENOROUTE);
    veil_worker_ops nohandler = {.size = sizeof nohandler};
    assert_error_contains(veil_ctx_start_worker(app, "nh", &nohandler, NULL), VEIL_EINVAL,
                          "handle_message");
    veil_worker_ops nosize = {.handle_message = w_count};
    assert_error(veil_ctx_start_worker(app, "ns", &nosize, NULL), VEIL_EINVAL,
                 "worker 'ns': ops.size must be set (got 0) and handle_message must not be NULL");
    assert_error_contains(veil_ctx_start_worker(app, "1#127.0.0.1:1", &echo_ops, NULL), VEIL_EINVAL,
                          "not local");
}

static void test_multi_address_worker(void **state)
{
    (void)state;
    struct wstate s = {0};
    veil_address a[2];
    assert_int_equal(veil_address_parse(&a[0], "m1"), 0);
    assert_int_equal(veil_address_parse(&a[1], "m2"), 0);
    assert_int_equal(veil_ctx_start_worker_addrs(app, a, 2, &count_ops, &s), 0);
    send_text(app, "m2", "to m2");
    run_rounds(1);
    assert_int_equal(s.handled, 1);
    assert_string_equal(s.first, "m2");
    send_text(app, "m1", "to m1");
    run_rounds(1);
    assert_int_equal(s.handled, 2);
    assert_string_equal(s.first, "m1");
    /* stopping by either address removes both */
    assert_int_equal(veil_ctx_stop_worker(app, "m2"), 0);
    assert_int_equal(s.stopped, 1);
    veil_route r = route_of("m1");
    assert_int_equal(veil_ctx_send(app, &r, "x", 1), VEIL_ENOROUTE);
    /* duplicate addresses in one start are refused and nothing stays */
    veil_address dup[2] = {a[0], a[0]};
    assert_int_equal(veil_ctx_start_worker_addrs(app, dup, 2, &count_ops, &s), VEIL_EEXIST);
    assert_int_equal(veil_ctx_send(app, &r, "x", 1), VEIL_ENOROUTE);
}

static void test_failing_handler_counted(void **state)
{
    (void)state;
    struct wstate s = {.rc = VEIL_EFORMAT};
    veil_node_stats st;
    assert_int_equal(veil_ctx_start_worker(app, "grumpy", &count_ops, &s), 0);
    logs_start();
    send_text(app, "grumpy", "a");
    send_text(app, "grumpy", "b");
    run_rounds(1);
    /* The second, identical warning is counted (rate limit), and reported
     * with its count on a flush. */
    assert_int_equal(LOGS.warnings, 1);
    veil_log_flush();
    logs_stop();
    assert_int_equal(s.handled, 2);
    veil_node_get_stats(node, &st);
    assert_int_equal(st.handler_errors, 2);
    assert_int_equal(LOGS.warnings, 2);
    assert_string_equal(LOGS.last_warning_component, "node");
    assert_non_null(strstr(LOGS.last_warning, "grumpy"));
    assert_non_null(strstr(LOGS.last_warning, "(repeated 1 more times in "));
    /* the node keeps working */
    assert_int_equal(veil_ctx_start_worker(app, "echoer", &echo_ops, NULL), 0);
    send_text(app, "echoer", "still alive");
    veil_message *m = receive_ok(app, 1000);
    payload_is(m, "still alive");
    veil_message_free(m);
    assert_int_equal(veil_ctx_stop_worker(app, "grumpy"), 0); /* s is on this stack */
    assert_int_equal(s.stopped, 1);
}

static void test_send_unknown_address(void **state)
{
    (void)state;
    veil_node_stats before, after;
    veil_node_get_stats(node, &before);
    veil_route r = route_of("nobody");
    assert_error(veil_ctx_send(app, &r, "x", 1), VEIL_ENOROUTE, "no worker at address 'nobody'");
    r = route_of("1#127.0.0.1:4000 => echoer");
    assert_error(veil_ctx_send(app, &r, "x", 1), VEIL_ENOROUTE,
                 "no transport registered for address type 1 ('1#127.0.0.1:4000')");
    veil_route empty;
    veil_route_init(&empty);
    assert_error_contains(veil_ctx_send(app, &empty, "x", 1), VEIL_EINVAL, "route is empty");
    /* nothing was queued or delivered, and no message object leaked out */
    run_rounds(2);
    veil_node_get_stats(node, &after);
    assert_int_equal(after.delivered, before.delivered);
    assert_int_equal(after.dropped_noroute, before.dropped_noroute);
}

static void test_drop_when_worker_gone(void **state)
{
    (void)state;
    struct wstate s = {0};
    veil_node_stats st;
    assert_int_equal(veil_ctx_start_worker(app, "leaving", &count_ops, &s), 0);
    send_text(app, "leaving", "late");
    assert_int_equal(veil_ctx_stop_worker(app, "leaving"), 0);
    logs_start();
    run_rounds(1);
    logs_stop();
    assert_int_equal(s.handled, 0);
    veil_node_get_stats(node, &st);
    assert_int_equal(st.dropped_noroute, 1);
    assert_int_equal(LOGS.warnings, 1);
    assert_string_equal(LOGS.last_warning_component, "node");
    assert_non_null(strstr(LOGS.last_warning, "'leaving'"));
}

static void test_receive_timeout(void **state)
{
    (void)state;
    veil_message *m = (veil_message *)&m; /* must not be touched */
    uint64_t t0 = veil_node_now_ms(node);
    assert_int_equal(veil_ctx_receive(app, &m, 30), VEIL_ETIMEDOUT);
    assert_true(veil_node_now_ms(node) - t0 >= 30);
    assert_last_error("no message for 'app' within 30 ms");
}

static void test_receive_inside_handler(void **state)
{
    (void)state;
    struct wstate s = {0};
    veil_worker_ops ops = {.size = sizeof ops, .handle_message = w_receive_inside};
    assert_int_equal(veil_ctx_start_worker(app, "impatient", &ops, &s), 0);
    send_text(app, "impatient", "x");
    run_rounds(1);
    assert_int_equal(s.handled, 1);
    assert_int_equal(s.recv_rc, VEIL_ESTATE);
}

static void test_reply_semantics(void **state)
{
    (void)state;
    assert_int_equal(veil_ctx_start_worker(app, "echoer", &echo_ops, NULL), 0);
    send_text(app, "echoer", "ping");
    veil_message *m = receive_ok(app, 1000);
    /* onward := the old return route ([app]); return := [echoer] */
    route_is(veil_message_onward_const(m), "app");
    route_is(veil_message_return_const(m), "echoer");
    payload_is(m, "ping");
    veil_message_free(m);
}

static int w_reply_new(veil_context *ctx, void *st, veil_message *msg)
{
    (void)st;
    return veil_ctx_reply_message(ctx, msg, "a much longer reply than the request", 36);
}

static void test_reply_with_new_payload(void **state)
{
    (void)state;
    veil_worker_ops ops = {.size = sizeof ops, .handle_message = w_reply_new};
    assert_int_equal(veil_ctx_start_worker(app, "replier", &ops, NULL), 0);
    send_text(app, "replier", "hi");
    veil_message *m = receive_ok(app, 1000);
    payload_is(m, "a much longer reply than the request");
    veil_message_free(m);
}

static void test_forward_next_semantics(void **state)
{
    (void)state;
    assert_int_equal(veil_ctx_start_worker(app, "h1", &hop_ops, NULL), 0);
    assert_int_equal(veil_ctx_start_worker(app, "h2", &hop_ops, NULL), 0);
    send_text(app, "h1 => h2 => app", "through");
    veil_message *m = receive_ok(app, 1000);
    /* each hop removed itself from the front of the onward route and put
     * itself in front of the return route */
    route_is(veil_message_onward_const(m), "app");
    route_is(veil_message_return_const(m), "h2 => h1 => app");
    payload_is(m, "through");
    veil_message_free(m);
    /* hop in front of a missing worker: the forward fails, is counted */
    veil_node_stats st;
    send_text(app, "h1 => ghost", "lost");
    run_rounds(2);
    veil_node_get_stats(node, &st);
    assert_int_equal(st.handler_errors, 1);
}

static void test_forward_keeps_routes(void **state)
{
    (void)state;
    veil_context *box;
    assert_int_equal(veil_ctx_start_worker(app, "relay", &fwd_ops, NULL), 0);
    /* relay forwards as-is: the message comes back to relay ... so route
     * it to a mailbox address in front instead */
    assert_int_equal(veil_ctx_new_detached(node, "box", &box), 0);
    veil_message *m;
    assert_int_equal(veil_message_new(node, &m), 0);
    assert_int_equal(veil_route_append_str(veil_message_onward(m), "box"), 0);
    assert_int_equal(veil_route_append_str(veil_message_onward(m), "further"), 0);
    assert_int_equal(veil_route_append_str(veil_message_return(m), "somewhere"), 0);
    assert_int_equal(veil_message_set_payload(m, "as is", 5), 0);
    assert_int_equal(veil_ctx_forward(app, m), 0);
    veil_message *got = receive_ok(box, 1000);
    route_is(veil_message_onward_const(got), "box => further");
    route_is(veil_message_return_const(got), "somewhere");
    payload_is(got, "as is");
    veil_message_free(got);
    veil_ctx_free(box);
}

static void test_send_from(void **state)
{
    (void)state;
    veil_context *box;
    veil_address other;
    assert_int_equal(veil_ctx_start_worker(app, "echoer", &echo_ops, NULL), 0);
    assert_int_equal(veil_ctx_new_detached(node, "inbox", &box), 0);
    assert_int_equal(veil_address_parse(&other, "not_mine"), 0);
    veil_route r = route_of("echoer");
    assert_error(veil_ctx_send_from(box, &other, &r, "x", 1), VEIL_EINVAL,
                 "context 'inbox' does not own address 'not_mine'");
    assert_int_equal(veil_ctx_send_from(box, veil_ctx_address(box), &r, "from box", 8), 0);
    /* the reply goes to the detached context's mailbox, not the app's */
    veil_message *m = receive_ok(box, 1000);
    route_is(veil_message_onward_const(m), "inbox");
    payload_is(m, "from box");
    veil_message_free(m);
    assert_int_equal(veil_ctx_receive(app, &m, 0), VEIL_ETIMEDOUT);
    veil_ctx_free(box);
    /* freed: its address is gone */
    r = route_of("inbox");
    assert_int_equal(veil_ctx_send(app, &r, "x", 1), VEIL_ENOROUTE);
    /* a random detached address */
    assert_int_equal(veil_ctx_new_detached(node, NULL, &box), 0);
    assert_memory_equal(veil_ctx_address(box)->bytes, "app_", 4);
    veil_ctx_free(box);
}

struct tstate {
    int calls;
    veil_message *held;
};

static int fake_transport(void *arg, veil_message *msg)
{
    struct tstate *t = arg;
    t->calls++;
    veil_message_free(t->held);
    t->held = msg;
    return 0;
}

static void test_transport_routing(void **state)
{
    (void)state;
    struct tstate t = {0};
    assert_int_equal(veil_node_register_transport(node, 1, fake_transport, &t), 0);
    assert_int_equal(veil_node_register_transport(node, 1, fake_transport, &t), VEIL_EEXIST);
    assert_int_equal(veil_node_register_transport(node, 0, fake_transport, &t), VEIL_EINVAL);
    send_text(app, "1#127.0.0.1:4000 => echoer", "over the wire");
    run_rounds(1);
    assert_int_equal(t.calls, 1);
    route_is(veil_message_onward_const(t.held), "1#127.0.0.1:4000 => echoer");
    route_is(veil_message_return_const(t.held), "app");
    payload_is(t.held, "over the wire");
    /* inject it back as if it came from a socket, for the app: the
     * transport puts the connection first on the return route; app sent
     * over that connection, so the reply passes flow control */
    veil_message *m = t.held;
    t.held = NULL;
    veil_address conn;
    assert_int_equal(veil_address_parse(&conn, "1#127.0.0.1:4000"), 0);
    assert_int_equal(veil_route_pop_front(veil_message_onward(m), NULL), 0);
    veil_route_init(veil_message_onward(m));
    assert_int_equal(veil_route_append_str(veil_message_onward(m), "app"), 0);
    assert_int_equal(veil_route_prepend(veil_message_return(m), &conn), 0);
    assert_int_equal(veil_node_deliver(node, m), 0);
    veil_message *got = receive_ok(app, 1000);
    payload_is(got, "over the wire");
    assert_true(veil_address_equal(&veil_message_local_info(got)->connection, &conn));
    veil_message_free(got);
    veil_node_unregister_transport(node, 1);
    veil_route r = route_of("1#127.0.0.1:4000");
    assert_int_equal(veil_ctx_send(app, &r, "x", 1), VEIL_ENOROUTE);
}

static void test_pool_zero_misses_after_warmup(void **state)
{
    (void)state;
    veil_node_stats a, b;
    assert_int_equal(veil_ctx_start_worker(app, "h1", &hop_ops, NULL), 0);
    assert_int_equal(veil_ctx_start_worker(app, "echoer", &echo_ops, NULL), 0);
    uint8_t payload[64];
    memset(payload, 0xab, sizeof payload);
    veil_route r = route_of("h1 => echoer");
    for (int round = 0; round < 2; round++) {
        veil_node_get_stats(node, &a);
        for (int i = 0; i < 200; i++) {
            veil_message *m;
            assert_int_equal(veil_ctx_send(app, &r, payload, sizeof payload), 0);
            m = receive_ok(app, 1000);
            veil_message_free(m);
        }
        veil_node_get_stats(node, &b);
        assert_int_equal(b.delivered - a.delivered, 200 * 4);
    }
    /* second round: every message object and buffer came from the pool */
    assert_int_equal(b.message_allocs, a.message_allocs);
    assert_int_equal(b.buffer_allocs, a.buffer_allocs);
    assert_true(b.message_allocs >= 1 && b.message_allocs <= 4);
}

static void test_message_payload_ops(void **state)
{
    (void)state;
    veil_message *m;
    uint8_t *p;
    size_t len;
    assert_int_equal(veil_message_new(node, &m), 0);
    veil_message_payload(m, &len);
    assert_int_equal(len, 0);
    assert_int_equal(veil_message_set_payload(m, "abcdef", 6), 0);
    assert_int_equal(veil_message_resize_payload(m, 3000, &p), 0);
    assert_memory_equal(p, "abcdef", 6);
    assert_int_equal(veil_message_resize_payload(m, 2, &p), 0);
    payload_is(m, "ab");
    /* payload from its own buffer (overlapping copy) */
    assert_int_equal(veil_message_set_payload(m, "0123456789", 10), 0);
    p = veil_message_payload_mut(m, &len);
    assert_int_equal(veil_message_set_payload(m, p + 2, 5), 0);
    payload_is(m, "23456");
    assert_int_equal(veil_message_set_payload(m, NULL, 0), 0);
    payload_is(m, "");
    assert_error_contains(veil_message_resize_payload(m, VEIL_PAYLOAD_MAX + 1, &p), VEIL_ELIMIT,
                          "exceeds the limit");
    veil_local_info info = {.via_channel = true};
    snprintf(info.peer_identifier, sizeof info.peer_identifier, "P1234");
    veil_message_set_local_info(m, &info);
    assert_true(veil_message_local_info(m)->via_channel);
    assert_string_equal(veil_message_local_info(m)->peer_identifier, "P1234");
    veil_message_free(m);
    veil_message_free(NULL);
}

static void test_many_workers_table_growth(void **state)
{
    (void)state;
    char name[32];
    struct wstate s = {0};
    veil_node_stats a, b;
    /* three rounds of 300 start/stop: growth past the initial table and
     * tombstone reuse; every address routes to its own worker */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 300; i++) {
            snprintf(name, sizeof name, "w%d_%d", round, i);
            assert_int_equal(veil_ctx_start_worker(app, name, &count_ops, &s), 0);
        }
        veil_node_get_stats(node, &a);
        for (int i = 0; i < 300; i += 7) {
            snprintf(name, sizeof name, "w%d_%d", round, i);
            send_text(app, name, "x");
            run_rounds(1);
            assert_string_equal(s.first, name);
        }
        veil_node_get_stats(node, &b);
        assert_int_equal(b.delivered - a.delivered, 43);
        for (int i = 0; i < 300; i++) {
            snprintf(name, sizeof name, "w%d_%d", round, i);
            assert_int_equal(veil_ctx_stop_worker(app, name), 0);
        }
    }
    assert_int_equal(s.started, 900);
    assert_int_equal(s.stopped, 900);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_app_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_start_stop_runtime, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_start_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_address_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_handler_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_unknown_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_when_worker_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receive_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receive_inside_handler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_semantics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_with_new_payload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_next_semantics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_keeps_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_from, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transport_routing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_zero_misses_after_warmup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_payload_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_workers_table_growth, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
