/* veil_node_post from several threads: every message arrives exactly once
 * with the content its thread wrote. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include <veil/veil.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define PER_THREAD 5000

struct sink {
    uint8_t seen[THREADS][PER_THREAD];
    int total;
    int bad;
    int dups;
    char last_return[VEIL_ADDRESS_MAX + 1];
};

/* Payload "t<thread>:<seq>:" followed by (seq % 50) filler bytes 'a'+thread. */
static size_t make_payload(int t, int seq, char *out, size_t cap)
{
    int n = snprintf(out, cap, "t%d:%d:", t, seq);
    int fill = seq % 50;
    memset(out + n, 'a' + t, (size_t)fill);
    return (size_t)(n + fill);
}

static int sink_handle(veil_context *ctx, void *st, veil_message *msg)
{
    struct sink *s = st;
    size_t len;
    const uint8_t *p = veil_message_payload(msg, &len);
    char buf[128], expect[128];
    int t, seq;
    (void)ctx;
    if (len >= sizeof buf) {
        s->bad++;
        return 0;
    }
    memcpy(buf, p, len);
    buf[len] = '\0';
    if (sscanf(buf, "t%d:%d:", &t, &seq) != 2 || t < 0 || t >= THREADS || seq < 0 ||
        seq >= PER_THREAD) {
        s->bad++;
        return 0;
    }
    size_t elen = make_payload(t, seq, expect, sizeof expect);
    if (elen != len || memcmp(expect, buf, len) != 0) {
        s->bad++;
        return 0;
    }
    if (s->seen[t][seq]++)
        s->dups++;
    s->total++;
    veil_address a;
    if (veil_route_get(veil_message_return(msg), 0, &a) == 0)
        snprintf(s->last_return, sizeof s->last_return, "%s", a.bytes);
    return 0;
}

static const veil_worker_ops sink_ops = {.size = sizeof(veil_worker_ops),
                                         .handle_message = sink_handle};

struct poster {
    veil_node *node;
    int id;
    int failures;
};

static void *post_thread(void *arg)
{
    struct poster *p = arg;
    veil_route r;
    veil_address from;
    char buf[128];
    veil_route_init(&r);
    if (veil_route_append_str(&r, "sink") != 0 || veil_address_parse(&from, "poster") != 0) {
        p->failures++;
        return NULL;
    }
    for (int seq = 0; seq < PER_THREAD; seq++) {
        size_t len = make_payload(p->id, seq, buf, sizeof buf);
        if (veil_node_post(p->node, &from, &r, buf, len) != 0)
            p->failures++;
    }
    return NULL;
}

static void test_concurrent_posts(void **state)
{
    (void)state;
    veil_node *node;
    veil_context *app;
    struct sink *s = calloc(1, sizeof *s);
    assert_non_null(s);
    assert_int_equal(veil_node_new(&node, &app, NULL), 0);
    assert_int_equal(veil_ctx_start_worker(app, "sink", &sink_ops, s), 0);
    pthread_t th[THREADS];
    struct poster ps[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ps[i] = (struct poster){node, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, post_thread, &ps[i]), 0);
    }
    /* the loop runs while the threads post */
    uint64_t end = veil_node_now_ms(node) + 20000;
    while (s->total + s->bad < THREADS * PER_THREAD && veil_node_now_ms(node) < end)
        assert_int_equal(veil_node_run_once(node, 100), 0);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ps[i].failures, 0);
    }
    /* anything still in flight after the joins */
    assert_int_equal(veil_node_run(node, 20), 0);
    assert_int_equal(s->bad, 0);
    assert_int_equal(s->dups, 0);
    assert_int_equal(s->total, THREADS * PER_THREAD);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER_THREAD; i++)
            assert_int_equal(s->seen[t][i], 1);
    /* posted with `from`: the return route is [from] */
    assert_string_equal(s->last_return, "poster");
    veil_node_stats st;
    veil_node_get_stats(node, &st);
    assert_int_equal(st.delivered, THREADS * PER_THREAD);
    assert_int_equal(st.dropped_noroute, 0);
    assert_int_equal(veil_node_free(node), 0);
    free(s);
}

static void test_post_errors(void **state)
{
    (void)state;
    veil_node *node;
    veil_context *app;
    veil_route r;
    veil_message *m;
    assert_int_equal(veil_node_new(&node, &app, NULL), 0);
    veil_route_init(&r);
    assert_error(veil_node_post(node, NULL, &r, "x", 1), VEIL_EINVAL,
                 "veil_node_post: route is empty");
    assert_int_equal(veil_route_append_str(&r, "app"), 0);
    assert_int_equal(veil_node_post(node, NULL, &r, NULL, 5), VEIL_EINVAL);
    static uint8_t big[VEIL_PAYLOAD_MAX + 1];
    assert_int_equal(veil_node_post(node, NULL, &r, big, sizeof big), VEIL_ELIMIT);
    /* from NULL: empty return route; the app receives it */
    assert_int_equal(veil_node_post(node, NULL, &r, "posted", 6), 0);
    assert_int_equal(veil_ctx_receive(app, &m, 1000), 0);
    assert_int_equal(veil_route_count(veil_message_return(m)), 0);
    size_t len;
    const uint8_t *p = veil_message_payload(m, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(p, "posted", 6);
    veil_message_free(m);
    /* posted but never drained: freed at stop */
    assert_int_equal(veil_node_post(node, NULL, &r, "left", 4), 0);
    assert_int_equal(veil_node_free(node), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_posts),
        cmocka_unit_test(test_post_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
