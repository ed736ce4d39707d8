/* veil_secure_channel_open_async (docs/ARCHITECTURE.md, "Asynchronous
 * API"): opened from inside a worker's handler; failures delivered once,
 * later, with the code and detail the blocking call reports; cancel; a node
 * freed with an open pending. */
#include "world.h"
#include "assert_error.h"

/* What a completion saw. */
typedef struct outcome {
    unsigned calls;
    int rc;
    bool had_channel;
    veil_address channel;
    char detail[1024];
    char last_error[1024];
    bool in_call;                 /* set while the open call runs */
    bool during_call;             /* the completion ran inside it */
} outcome;

static void record(veil_node *node, int rc, const veil_address *channel, const char *detail,
                   void *user)
{
    (void)node;
    outcome *o = user;
    o->calls++;
    o->rc = rc;
    o->had_channel = channel != NULL;
    if (channel != NULL)
        o->channel = *channel;
    snprintf(o->detail, sizeof o->detail, "%s", detail);
    snprintf(o->last_error, sizeof o->last_error, "%s", veil_last_error());
    o->during_call |= o->in_call;
}

static void run_until_called(veil_node *node, const outcome *o)
{
    for (int i = 0; i < 2000 && o->calls == 0; i++)
        assert_int_equal(veil_node_run_once(node, 5), 0);
    assert_int_equal(o->calls, 1);
}

static int open_async(veil_entity *e, veil_trust_policy *p, const char *route, outcome *o,
                      veil_address *ch)
{
    veil_route r = route_of(route);
    o->in_call = true;
    int rc = veil_secure_channel_open_async(e, &r, p, record, o, ch);
    o->in_call = false;
    return rc;
}

/* ---- from inside a handler --------------------------------------------- */

typedef struct opener {
    world *w;
    outcome o;
    veil_address ch;
    int blocking_rc;
    int start_rc;
    int send_rc;
} opener;

/* The completion, still inside the loop: sends through the new channel. */
static void opened_then_send(veil_node *node, int rc, const veil_address *channel,
                             const char *detail, void *user)
{
    opener *op = user;
    record(node, rc, channel, detail, &op->o);
    if (rc < 0)
        return;
    veil_route r;
    veil_route_init(&r);
    assert_int_equal(veil_route_append(&r, channel), 0);
    assert_int_equal(veil_route_append_str(&r, "echoer"), 0);
    op->send_rc = veil_ctx_send(op->w->app, &r, "from the completion", 19);
}

static int opener_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)ctx;
    (void)msg;
    opener *op = state;
    veil_route r = route_of("bob");
    veil_address ignored;
    /* the blocking call cannot run the loop here... */
    op->blocking_rc = veil_secure_channel_open(op->w->alice, &r, trust_only(op->w->node, op->w->bob),
                                               &ignored);
    /* ...the async one can be started */
    op->o.in_call = true;
    op->start_rc = veil_secure_channel_open_async(op->w->alice, &r,
                                                  trust_only(op->w->node, op->w->bob),
                                                  opened_then_send, op, &op->ch);
    op->o.in_call = false;
    return 0;
}

static const veil_worker_ops opener_ops = { sizeof(veil_worker_ops), NULL, opener_handle, NULL };

static void test_open_from_handler(void **state)
{
    (void)state;
    world w;
    pair_up(&w, NULL, "bob");
    opener op;
    memset(&op, 0, sizeof op);
    op.w = &w;
    op.send_rc = 1;
    assert_int_equal(veil_ctx_start_worker(w.app, "opener", &opener_ops, &op), 0);
    veil_route r = route_of("opener");
    assert_int_equal(veil_ctx_send(w.app, &r, "go", 2), 0);
    veil_log_level level = veil_log_get_level();
    veil_log_set_level(VEIL_LOG_INFO);
    logs_start();
    run_until_called(w.node, &op.o);
    assert_int_equal(op.blocking_rc, VEIL_ESTATE);
    assert_int_equal(op.start_rc, 0);
    assert_false(op.o.during_call);
    assert_int_equal(op.o.rc, 0);
    assert_true(op.o.had_channel);
    assert_true(veil_address_equal(&op.o.channel, &op.ch));
    assert_string_equal(op.o.detail, "");
    assert_int_equal(op.send_rc, 0);
    /* the message sent from the completion is echoed back to "app" */
    veil_message *reply;
    assert_int_equal(veil_ctx_receive(w.app, &reply, 2000), 0);
    size_t len;
    const uint8_t *p = veil_message_payload(reply, &len);
    assert_int_equal(len, 19);
    assert_memory_equal(p, "from the completion", 19);
    veil_message_free(reply);
    logs_stop();
    veil_log_set_level(level);
    /* the initiator logs the line listeners log */
    char want[512];
    snprintf(want, sizeof want, "initiator: channel %s open with %s", op.ch.bytes,
             veil_entity_identifier(w.bob));
    if (strstr(LOGS.text, want) == NULL)
        fail_msg("no '%s' in the logs:\n%s", want, LOGS.text);
    assert_int_equal(w.echo.count, 1);
    round_trip(w.app, &op.ch, "and from the app");
    settle(w.node);
    assert_int_equal(op.o.calls, 1);
    pair_down(&w);
}

/* ---- failures: the blocking call's code and detail, once --------------- */

/* Open along route with the blocking call, then with the async one: the
 * same code and detail, delivered once, later, with no channel; nothing
 * reached the echoer. */
static void same_failure(world *w, veil_entity *who, const veil_entity *trusted,
                         const char *route, int want)
{
    veil_route r = route_of(route);
    veil_address ch;
    logs_start();
    int rc = veil_secure_channel_open(who, &r, trust_only(w->node, trusted), &ch);
    char blocking[1024];
    snprintf(blocking, sizeof blocking, "%s", veil_last_error());
    assert_int_equal(rc, want);
    outcome o;
    memset(&o, 0, sizeof o);
    assert_int_equal(open_async(who, trust_only(w->node, trusted), route, &o, &ch), 0);
    assert_int_equal(o.calls, 0);
    run_until_called(w->node, &o);
    settle(w->node);
    logs_stop();
    assert_int_equal(o.calls, 1);
    assert_false(o.during_call);
    assert_int_equal(o.rc, want);
    assert_false(o.had_channel);
    assert_string_equal(o.detail, blocking);
    assert_string_equal(o.last_error, blocking);
    assert_int_equal(w->echo.count, 0);
    /* the channel is gone */
    veil_channel_stats st;
    assert_int_equal(veil_secure_channel_stats(w->node, &ch, &st), VEIL_ENOTFOUND);
    assert_int_equal(veil_secure_channel_open_cancel(w->node, &ch), VEIL_ENOTFOUND);
}

static void test_failures_match_blocking(void **state)
{
    (void)state;
    world w;
    unsigned swallowed = 0;
    pair_up(&w, NULL, "bob");
    world_add(&w, WORLD_CAROL);
    same_failure(&w, w.carol, w.bob, "bob", VEIL_EDENIED);          /* Bob trusts only Alice */
    same_failure(&w, w.alice, w.carol, "bob", VEIL_EDENIED);        /* Alice trusts only Carol */
    same_failure(&w, w.alice, w.bob, "nobody", VEIL_ENOROUTE);
    pair_down(&w);
    pair_up(&w, "[secure_channel]\nhandshake_timeout_ms = 60\n", NULL);
    assert_int_equal(veil_ctx_start_worker(w.app, "blackhole", &swallow_ops, &swallowed), 0);
    same_failure(&w, w.alice, w.bob, "blackhole", VEIL_ETIMEDOUT);
    assert_int_equal(swallowed, 2);
    pair_down(&w);
}

/* Argument errors come back from the call; the completion never runs. */
static void test_immediate_errors(void **state)
{
    (void)state;
    world w;
    pair_up(&w, NULL, "bob");
    veil_route r = route_of("bob");
    veil_address ch;
    outcome o;
    memset(&o, 0, sizeof o);
    assert_error(veil_secure_channel_open_async(w.alice, &r, NULL, record, &o, &ch), VEIL_EINVAL,
                 "veil_secure_channel_open_async: policy is NULL (a channel must have a trust "
                 "policy)");
    assert_error(veil_secure_channel_open_async(w.alice, &r, trust_only(w.node, w.bob), NULL, &o,
                                                &ch),
                 VEIL_EINVAL, "veil_secure_channel_open_async: done is NULL");
    settle(w.node);
    assert_int_equal(o.calls, 0);
    /* a stopped node starts nothing (and frees the policy it was given) */
    veil_trust_policy *p = trust_only(w.node, w.bob);
    assert_int_equal(veil_node_stop(w.node), 0);
    assert_int_equal(veil_secure_channel_open_async(w.alice, &r, p, record, &o, &ch),
                     VEIL_ESTOPPED);
    assert_int_equal(o.calls, 0);
    pair_down(&w);
    assert_int_equal(o.calls, 0);
}

/* ---- cancel, close, node freed ------------------------------------------ */

static void test_cancel_and_close(void **state)
{
    (void)state;
    world w;
    unsigned swallowed = 0;
    pair_up(&w, NULL, "bob");
    assert_int_equal(veil_ctx_start_worker(w.app, "blackhole", &swallow_ops, &swallowed), 0);
    outcome o;
    memset(&o, 0, sizeof o);
    veil_address ch;
    /* cancelled: the completion never runs, the channel is gone */
    assert_int_equal(open_async(w.alice, trust_only(w.node, w.bob), "blackhole", &o, &ch), 0);
    settle(w.node);
    assert_int_equal(veil_secure_channel_open_cancel(w.node, &ch), 0);
    assert_error_contains(veil_secure_channel_open_cancel(w.node, &ch), VEIL_ENOTFOUND,
                          "no pending secure channel open at '");
    settle(w.node);
    assert_int_equal(o.calls, 0);
    veil_channel_stats st;
    assert_int_equal(veil_secure_channel_stats(w.node, &ch, &st), VEIL_ENOTFOUND);
    /* after the completion ran there is nothing to cancel */
    assert_int_equal(open_async(w.alice, trust_only(w.node, w.bob), "bob", &o, &ch), 0);
    run_until_called(w.node, &o);
    assert_int_equal(o.rc, 0);
    assert_error_contains(veil_secure_channel_open_cancel(w.node, &ch), VEIL_ENOTFOUND,
                          "no pending secure channel open");
    round_trip(w.app, &ch, "still open");
    assert_int_equal(veil_secure_channel_close(w.node, &ch), 0);
    /* closed locally while pending: VEIL_ECLOSED through the completion */
    memset(&o, 0, sizeof o);
    assert_int_equal(open_async(w.alice, trust_only(w.node, w.bob), "blackhole", &o, &ch), 0);
    assert_int_equal(veil_secure_channel_close(w.node, &ch), 0);
    assert_int_equal(o.calls, 0);
    run_until_called(w.node, &o);
    assert_int_equal(o.rc, VEIL_ECLOSED);
    assert_true(strstr(o.detail, "stopped during the handshake") != NULL);
    settle(w.node);
    assert_int_equal(o.calls, 1);
    pair_down(&w);
}

/* The node is freed with an open pending: the completion runs during the
 * free, once, with VEIL_ESTOPPED; nothing leaks (ASan/valgrind runs). */
typedef struct stop_probe {
    outcome o;
    veil_node *node;
    int free_rc;
} stop_probe;

static void at_stop(veil_node *node, int rc, const veil_address *channel, const char *detail,
                    void *user)
{
    stop_probe *s = user;
    record(node, rc, channel, detail, &s->o);
    s->free_rc = veil_node_free(node); /* refused: the node is being freed */
}

static void test_node_freed_while_pending(void **state)
{
    (void)state;
    world w;
    unsigned swallowed = 0;
    pair_up(&w, NULL, "bob");
    assert_int_equal(veil_ctx_start_worker(w.app, "blackhole", &swallow_ops, &swallowed), 0);
    stop_probe *s = calloc(1, sizeof *s);
    assert_non_null(s);
    veil_route r = route_of("blackhole");
    veil_address ch;
    assert_int_equal(veil_secure_channel_open_async(w.alice, &r, trust_only(w.node, w.bob),
                                                    at_stop, s, &ch), 0);
    settle(w.node);
    assert_int_equal(s->o.calls, 0);
    world_down(&w); /* frees the node */
    assert_int_equal(s->o.calls, 1);
    assert_int_equal(s->o.rc, VEIL_ESTOPPED);
    assert_false(s->o.had_channel);
    char want[512];
    snprintf(want, sizeof want, "secure channel %s: the node stopped during the handshake",
             ch.bytes);
    assert_string_equal(s->o.detail, want);
    assert_int_equal(s->free_rc, VEIL_ESTATE);
    free(s);
}

/* Pacing (max_opening_handshakes, channel_pace.c; issue #15): with room
 * for 2 handshakes in flight, a third open waits (its HS1 is not sent) until
 * one of the two settles; a queued open can be cancelled (no completion)
 * or closed (VEIL_ECLOSED), and at the node's stop a queued one completes
 * with VEIL_ESTOPPED like the others. */
static void test_pacing(void **state)
{
    (void)state;
    world w;
    unsigned swallowed = 0;
    pair_up(&w, "[secure_channel]\nmax_opening_handshakes = 2\n", "bob");
    assert_int_equal(veil_ctx_start_worker(w.app, "blackhole", &swallow_ops, &swallowed), 0);
    outcome a, b, c, d, e, f;
    veil_address ca, cb, cc, cd, ce, cf;
    memset(&a, 0, sizeof a);
    b = c = d = e = f = a;
    assert_int_equal(open_async(w.alice, trust_only(w.node, w.bob), "blackhole", &a, &ca), 0);
    assert_int_equal(open_async(w.alice, trust_only(w.node, w.bob), "blackhole", &b, &cb), 0);
    assert_int_equal(open_async(w.alice, trust_only(w.node, w.bob), "bob", &c, &cc), 0);
    assert_int_equal(open_async(w.alice, trust_only(w.node, w.bob), "bob", &d, &cd), 0);
    assert_int_equal(open_async(w.alice, trust_only(w.node, w.bob), "bob", &e, &ce), 0);
    settle(w.node);
    veil_listener_stats ls;
    assert_int_equal(veil_secure_channel_listener_stats(w.node, "bob", &ls), 0);
    assert_int_equal(swallowed, 2);
    assert_int_equal(ls.first_messages, 0); /* c, d, e wait */
    assert_int_equal(c.calls + d.calls + e.calls, 0);
    /* a queued open cancelled: never completes, not pending any more */
    assert_int_equal(veil_secure_channel_open_cancel(w.node, &cd), 0);
    assert_error_contains(veil_secure_channel_open_cancel(w.node, &cd), VEIL_ENOTFOUND,
                          "no pending secure channel open at '");
    /* a queued open closed: VEIL_ECLOSED */
    assert_int_equal(veil_secure_channel_close(w.node, &ce), 0);
    run_until_called(w.node, &e);
    assert_int_equal(e.rc, VEIL_ECLOSED);
    /* a's room given back: c (the oldest waiting) starts and opens */
    assert_int_equal(veil_secure_channel_open_cancel(w.node, &ca), 0);
    run_until_called(w.node, &c);
    assert_int_equal(c.rc, 0);
    round_trip(w.app, &cc, "paced");
    assert_int_equal(veil_secure_channel_listener_stats(w.node, "bob", &ls), 0);
    assert_int_equal(ls.first_messages, 1);
    assert_int_equal(ls.opened, 1);
    /* b still holds one room, c's is free: f starts at once */
    assert_int_equal(open_async(w.alice, trust_only(w.node, w.bob), "blackhole", &f, &cf), 0);
    settle(w.node);
    assert_int_equal(swallowed, 3);
    /* and the next one waits again, until the node stops */
    outcome g = a;
    memset(&g, 0, sizeof g);
    veil_address cg;
    assert_int_equal(open_async(w.alice, trust_only(w.node, w.bob), "bob", &g, &cg), 0);
    settle(w.node);
    assert_int_equal(g.calls, 0);
    pair_down(&w);
    assert_int_equal(a.calls + d.calls, 0);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.rc, VEIL_ESTOPPED);
    assert_int_equal(f.calls, 1);
    assert_int_equal(f.rc, VEIL_ESTOPPED);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.rc, VEIL_ESTOPPED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_from_handler),
        cmocka_unit_test(test_failures_match_blocking),
        cmocka_unit_test(test_immediate_errors),
        cmocka_unit_test(test_cancel_and_close),
        cmocka_unit_test(test_node_freed_while_pending),
        cmocka_unit_test(test_pacing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
