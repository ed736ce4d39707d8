/* A node driven by a libevent loop only (docs/ARCHITECTURE.md,
 * "Embedding"): libevent polls veil_node_fd for reading and arms a timer
 * for veil_node_next_timeout; either calls veil_node_run_once(node, 0),
 * then the timer is re-armed.  veil_node_run is never called: a secure
 * channel opens (veil_secure_channel_open_async) and carries a round trip,
 * and a handshake timeout fires from the timer alone. */
#include "world.h"

#include <event2/event.h>

typedef struct embed {
    veil_node *node;
    struct event_base *base;
    struct event *io, *timer, *watchdog;
    unsigned rounds;
    int run_rc;
    bool timed_out;               /* the watchdog fired */
    /* what the test saw */
    unsigned opened_calls;
    int open_rc;
    char open_detail[512];
    veil_address channel;
    veil_context *collector;
    int send_rc;
    unsigned replies;
    char reply[64];
    bool reply_via_channel;
} embed;

/* The node needs a round (its fd is readable, or its timeout passed):
 * run one without waiting, then ask again when it next needs one. */
static void rearm(embed *e)
{
    int t = veil_node_next_timeout(e->node);
    if (t < 0) {
        evtimer_del(e->timer);
        return;
    }
    struct timeval tv = { t / 1000, (t % 1000) * 1000 };
    evtimer_add(e->timer, &tv);
}

static void on_node(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    embed *e = arg;
    e->rounds++;
    int rc = veil_node_run_once(e->node, 0);
    if (rc < 0) {
        e->run_rc = rc;
        event_base_loopbreak(e->base);
        return;
    }
    rearm(e);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    embed *e = arg;
    e->timed_out = true;
    event_base_loopbreak(e->base);
}

static void embed_up(embed *e, veil_node *node)
{
    memset(e, 0, sizeof *e);
    e->node = node;
    e->send_rc = 1;
    e->base = event_base_new();
    assert_non_null(e->base);
    assert_true(veil_node_fd(node) >= 0);
    e->io = event_new(e->base, veil_node_fd(node), EV_READ | EV_PERSIST, on_node, e);
    e->timer = evtimer_new(e->base, on_node, e);
    e->watchdog = evtimer_new(e->base, on_watchdog, e);
    assert_non_null(e->io);
    assert_non_null(e->timer);
    assert_non_null(e->watchdog);
    assert_int_equal(event_add(e->io, NULL), 0);
    struct timeval five = { 5, 0 };
    assert_int_equal(evtimer_add(e->watchdog, &five), 0);
}

static void embed_down(embed *e)
{
    event_free(e->io);
    event_free(e->timer);
    event_free(e->watchdog);
    event_base_free(e->base);
}

/* ---- a round trip through a channel -------------------------------------- */

static int collector_start(veil_context *ctx, void *state)
{
    ((embed *)state)->collector = ctx;
    return 0;
}

static int collector_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)ctx;
    embed *e = state;
    size_t len;
    const uint8_t *p = veil_message_payload(msg, &len);
    e->replies++;
    snprintf(e->reply, sizeof e->reply, "%.*s", (int)len, (const char *)p);
    const veil_local_info *li = veil_message_local_info(msg);
    e->reply_via_channel = li->via_channel && veil_address_equal(&li->channel, &e->channel);
    event_base_loopbreak(e->base);
    return 0;
}

static const veil_worker_ops collector_ops = {
    sizeof(veil_worker_ops), collector_start, collector_handle, NULL,
};

static void opened(veil_node *node, int rc, const veil_address *channel, const char *detail,
                   void *user)
{
    (void)node;
    embed *e = user;
    e->opened_calls++;
    e->open_rc = rc;
    snprintf(e->open_detail, sizeof e->open_detail, "%s", detail);
    if (rc < 0) {
        event_base_loopbreak(e->base);
        return;
    }
    e->channel = *channel;
    veil_route r;
    veil_route_init(&r);
    assert_int_equal(veil_route_append(&r, channel), 0);
    assert_int_equal(veil_route_append_str(&r, "echoer"), 0);
    e->send_rc = veil_ctx_send(e->collector, &r, "through libevent", 16);
}

static void test_channel_round_trip(void **state)
{
    (void)state;
    world w;
    pair_up(&w, NULL, "bob");
    embed e;
    embed_up(&e, w.node);
    assert_int_equal(veil_ctx_start_worker(w.app, "collector", &collector_ops, &e), 0);
    veil_route r = route_of("bob");
    veil_address pending;
    assert_int_equal(veil_secure_channel_open_async(w.alice, &r, trust_only(w.node, w.bob),
                                                    opened, &e, &pending), 0);
    rearm(&e); /* we called into the node: it has work now */
    assert_int_equal(veil_node_next_timeout(w.node), 0);
    assert_int_equal(event_base_dispatch(e.base), 0);
    assert_false(e.timed_out);
    assert_int_equal(e.run_rc, 0);
    assert_int_equal(e.opened_calls, 1);
    assert_int_equal(e.open_rc, 0);
    assert_true(veil_address_equal(&e.channel, &pending));
    assert_int_equal(e.send_rc, 0);
    assert_int_equal(e.replies, 1);
    assert_string_equal(e.reply, "through libevent");
    assert_true(e.reply_via_channel);
    assert_int_equal(w.echo.count, 1);
    assert_true(e.rounds > 0);
    embed_down(&e);
    pair_down(&w);
}

/* ---- timers alone: a handshake timeout ------------------------------------ */

static void test_timeout_from_the_timer(void **state)
{
    (void)state;
    world w;
    unsigned swallowed = 0;
    pair_up(&w, "[secure_channel]\nhandshake_timeout_ms = 80\n", NULL);
    assert_int_equal(veil_ctx_start_worker(w.app, "blackhole", &swallow_ops, &swallowed), 0);
    embed e;
    embed_up(&e, w.node);
    assert_int_equal(veil_node_next_timeout(w.node), -1); /* nothing to do, no timer */
    veil_route r = route_of("blackhole");
    veil_address pending;
    assert_int_equal(veil_secure_channel_open_async(w.alice, &r, trust_only(w.node, w.bob),
                                                    opened, &e, &pending), 0);
    rearm(&e);
    assert_int_equal(event_base_dispatch(e.base), 0);
    assert_false(e.timed_out);
    assert_int_equal(e.opened_calls, 1);
    assert_int_equal(e.open_rc, VEIL_ETIMEDOUT);
    assert_string_equal(e.open_detail, "secure channel: handshake with 'blackhole' not done "
                                       "within handshake_timeout_ms = 80; all its state is "
                                       "freed");
    assert_int_equal(swallowed, 1);
    embed_down(&e);
    pair_down(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channel_round_trip),
        cmocka_unit_test(test_timeout_from_the_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
