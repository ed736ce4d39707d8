/* Secure channel lifetimes (issue #10, item 3): whatever stops a channel's
 * worker while veil_secure_channel_open still waits on it — an
 * authenticated CLOSE delivered before ACCEPT, a local close, a lost
 * route, the handshake timer — makes create fail cleanly (VEIL_ECLOSED or
 * VEIL_ETIMEDOUT with a detail naming what happened) and never frees the
 * channel under the caller.  The reordering is made by a hop worker that
 * holds frames back, as any route may reorder.  Run under ASan (CI): the
 * old code read the freed channel here. */
#include "world.h"

/* A hop that acts on the first frame of type `trigger` passing through it
 * (the frame's last byte), then goes on relaying.  Actions:
 *  CLOSE_SENDER  close the channel that sent the frame (the first address
 *                of its return route: a channel's peer-facing address) and
 *                hold the frame back until the next frame has passed, so
 *                the CLOSE overtakes it;
 *  CLOSE_TARGET  close the channel the frame is going to (the next hop);
 *  LOSE_ROUTE    report the hop itself as a lost route;
 *  HOLD          keep the frame (one) instead of forwarding it;
 *  LOSE_ROUTE_NEXT_ROUND  forward it, and report the hop lost one round
 *                later (after the frame was handled).
 * Every frame is otherwise forwarded with forward_next semantics. */
enum { CLOSE_SENDER = 1, CLOSE_TARGET, LOSE_ROUTE, HOLD, LOSE_ROUTE_NEXT_ROUND };

typedef struct reorder {
    uint8_t trigger;
    int action;
    int fired;
    veil_message *held;
    veil_address closed;              /* the channel the action closed */
    int close_rc;
} reorder;

static veil_message *copy_of(veil_context *ctx, veil_message *msg)
{
    veil_message *c;
    size_t len;
    const uint8_t *p = veil_message_payload(msg, &len);
    assert_int_equal(veil_message_new(veil_ctx_node(ctx), &c), 0);
    veil_route_copy(veil_message_onward(c), veil_message_onward_const(msg));
    veil_route_copy(veil_message_return(c), veil_message_return_const(msg));
    assert_int_equal(veil_message_set_payload(c, p, len), 0);
    return c;
}

static int reorder_handle(veil_context *ctx, void *state, veil_message *msg)
{
    reorder *r = state;
    size_t len;
    const uint8_t *p = veil_message_payload(msg, &len);
    if (len == 4 && memcmp(p, "tick", 4) == 0) { /* LOSE_ROUTE_NEXT_ROUND */
        veil_node_route_lost(veil_ctx_node(ctx), veil_ctx_address(ctx), VEIL_ECLOSED,
                             "the test cut it");
        return 0;
    }
    bool hit = !r->fired && len > 0 && p[len - 1] == r->trigger;
    assert_int_equal(veil_route_pop_front(veil_message_onward(msg), NULL), 0);
    assert_int_equal(veil_route_prepend(veil_message_return(msg), veil_ctx_address(ctx)), 0);
    if (!hit) {
        int rc = veil_ctx_forward(ctx, msg);
        if (r->held != NULL && r->action == CLOSE_SENDER) { /* it was overtaken */
            veil_message *h = r->held;
            r->held = NULL;
            assert_int_equal(veil_ctx_forward(ctx, h), 0);
        }
        return rc;
    }
    r->fired = 1;
    veil_node *node = veil_ctx_node(ctx);
    if (r->action == CLOSE_SENDER) {
        /* return route: [this hop, the sender's peer-facing address] */
        assert_int_equal(veil_route_get(veil_message_return_const(msg), 1, &r->closed), 0);
        r->held = copy_of(ctx, msg);
        r->close_rc = veil_secure_channel_close(node, &r->closed);
        return 0; /* the runtime frees msg; the copy goes later */
    }
    if (r->action == LOSE_ROUTE_NEXT_ROUND) { /* the tick is queued after the frame */
        veil_route self;
        veil_route_init(&self);
        assert_int_equal(veil_route_append(&self, veil_ctx_address(ctx)), 0);
        assert_int_equal(veil_ctx_forward(ctx, msg), 0);
        assert_int_equal(veil_ctx_send(ctx, &self, "tick", 4), 0);
        return 0;
    }
    if (r->action == HOLD) {
        r->held = copy_of(ctx, msg);
        return 0;
    }
    if (r->action == CLOSE_TARGET) {
        assert_int_equal(veil_route_get(veil_message_onward_const(msg), 0, &r->closed), 0);
        r->close_rc = veil_secure_channel_close(node, &r->closed);
        return veil_ctx_forward(ctx, msg);
    }
    veil_node_route_lost(node, veil_ctx_address(ctx), VEIL_ECLOSED, "the test cut it");
    return veil_ctx_forward(ctx, msg);
}

static void reorder_stop(veil_context *ctx, void *state)
{
    (void)ctx;
    reorder *r = state;
    veil_message_free(r->held);
    r->held = NULL;
}

static const veil_worker_ops reorder_ops = {
    .size = sizeof(veil_worker_ops),
    .handle_message = reorder_handle,
    .stop = reorder_stop,
};

/* Alice's channel to bob through the reorder hop r; the detail of a
 * failure is kept in detail (the loop runs on after create). */
static int create_via_reorder(world *w, reorder *r, veil_address *ch, char detail[1024])
{
    assert_int_equal(veil_ctx_start_worker(w->app, "reorder", &reorder_ops, r), 0);
    int rc = pair_create(w, "reorder => bob", ch);
    snprintf(detail, 1024, "%s", veil_last_error());
    settle(w->node);
    return rc;
}

/* The responder closes right after opening, and the route delivers its
 * CLOSE ahead of its ACCEPT: create fails with VEIL_ECLOSED naming the
 * peer; nothing is delivered; no channel is left on either side.  (Before
 * the fix the CLOSE stopped the initiator's worker, which freed the
 * channel create was still reading: heap-use-after-free under ASan.) */
static void test_close_before_accept(void **state)
{
    (void)state;
    world w;
    pair_up(&w, NULL, "bob");
    reorder r = { .trigger = 0x12 /* ACCEPT */, .action = CLOSE_SENDER };
    veil_address ch;
    char detail[1024];
    logs_start();
    int rc = create_via_reorder(&w, &r, &ch, detail);
    logs_stop();
    assert_int_equal(r.fired, 1);
    assert_int_equal(r.close_rc, 0);
    assert_int_equal(rc, VEIL_ECLOSED);
    char want[256];
    snprintf(want, sizeof want, "peer %s closed the channel before accepting it",
             veil_entity_identifier(w.bob));
    if (strstr(detail, want) == NULL)
        fail_msg("detail: %s", detail);
    assert_int_equal(w.echo.count, 0);
    veil_channel_stats st;
    assert_int_equal(veil_secure_channel_stats(w.node, &r.closed, &st), VEIL_ENOTFOUND);
    pair_down(&w);
}

/* A worker closes the initiator's channel (by its peer-facing address,
 * which a hop sees) while create waits for message 2: create fails with
 * VEIL_ECLOSED, the channel is gone, the late HS2 is dropped. */
static void test_close_during_create(void **state)
{
    (void)state;
    world w;
    pair_up(&w, NULL, "bob");
    reorder r = { .trigger = 0x02 /* HS2 */, .action = CLOSE_TARGET };
    veil_address ch;
    char detail[1024];
    int rc = create_via_reorder(&w, &r, &ch, detail);
    assert_int_equal(r.fired, 1);
    assert_int_equal(r.close_rc, 0);
    assert_int_equal(rc, VEIL_ECLOSED);
    assert_non_null(strstr(detail, ": stopped during the handshake (closed locally or the node "
                                   "is stopping)"));
    veil_channel_stats st;
    assert_int_equal(veil_secure_channel_stats(w.node, &r.closed, &st), VEIL_ENOTFOUND);
    assert_int_equal(w.echo.count, 0);
    pair_down(&w);
}

/* The route's first hop is reported lost while create waits: create fails
 * with VEIL_ECLOSED naming the route and the reason; the responder, whose
 * route starts with the hop too, goes with a warning. */
static void lost_route_case(uint8_t trigger, int action)
{
    world w;
    pair_up(&w, NULL, "bob");
    reorder r = { .trigger = trigger, .action = action };
    veil_address ch;
    char detail[1024];
    logs_start();
    int rc = create_via_reorder(&w, &r, &ch, detail);
    logs_stop();
    assert_int_equal(r.fired, 1);
    assert_int_equal(rc, VEIL_ECLOSED);
    if (strstr(detail, "route through 'reorder' lost during the handshake: the test cut it") ==
        NULL)
        fail_msg("detail: %s", detail);
    assert_non_null(strstr(LOGS.text, "its route through 'reorder' was lost"));
    assert_int_equal(w.echo.count, 0);
    pair_down(&w);
}

/* ... while it waits for ACCEPT (lost when HS3 passes the hop). */
static void test_route_lost_during_create(void **state)
{
    (void)state;
    lost_route_case(0x03 /* HS3 */, LOSE_ROUTE);
}

/* ... after the initiator handled ACCEPT but before create returned (a
 * later handler of the same round): still the lost route, not a local
 * stop. */
static void test_route_lost_after_accept(void **state)
{
    (void)state;
    lost_route_case(0x12 /* ACCEPT */, LOSE_ROUTE_NEXT_ROUND);
}

/* Both handshake timers fire while create waits: the hop holds HS2 (and
 * anything after it) back.  The responder frees its state; the
 * initiator's own timer fails create with VEIL_ETIMEDOUT naming the route;
 * the held frame, released afterwards, reaches nobody. */
static void test_timeouts_while_waiting(void **state)
{
    (void)state;
    world w;
    pair_up(&w, "[secure_channel]\nhandshake_timeout_ms = 60\n", "bob");
    reorder r = { .trigger = 0x02 /* HS2 */, .action = HOLD };
    veil_address ch;
    char detail[1024];
    logs_start();
    int rc = create_via_reorder(&w, &r, &ch, detail);
    assert_int_equal(rc, VEIL_ETIMEDOUT);
    assert_non_null(strstr(detail, "handshake with 'reorder => bob' not done within "
                                   "handshake_timeout_ms = 60"));
    assert_int_equal(veil_node_run(w.node, 120), 0);
    veil_message *h = r.held;
    r.held = NULL;
    assert_non_null(h);
    assert_int_equal(veil_ctx_forward(w.app, h), VEIL_ENOROUTE);
    settle(w.node);
    logs_stop();
    /* the responder logged its own timeout */
    assert_non_null(strstr(LOGS.text, "listener 'bob': channel sc_"));
    assert_non_null(strstr(LOGS.text, "not done within handshake_timeout_ms = 60"));
    assert_int_equal(w.echo.count, 0);
    pair_down(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_close_before_accept),
        cmocka_unit_test(test_close_during_create),
        cmocka_unit_test(test_route_lost_during_create),
        cmocka_unit_test(test_route_lost_after_accept),
        cmocka_unit_test(test_timeouts_while_waiting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
