/* The relay tests' three-node network (relay_net.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node_text.h"
#include "relay_net.h"

static int echo_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (*(unsigned *)state)++;
    return veil_ctx_reply_message(ctx, msg, NULL, 0);
}

static const veil_worker_ops echo_ops = { .size = sizeof echo_ops, .handle_message = echo_handle };

veil_node *node_with(const char *text, veil_context **app)
{
    veil_node *node;
    assert_int_equal(node_new_from_text(text != NULL ? text : "", &node, app), 0);
    return node;
}


/* Run the three loops until *flag changes or ms pass. */
void pump_until(net *n, const volatile int *flag, int from, int ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        veil_node *nodes[] = { n->m, n->r, n->a };
        for (int i = 0; i < 3; i++)
            if (nodes[i] != NULL)
                assert_true(veil_node_run_once(nodes[i], 1) >= 0);
        if (flag != NULL && *flag != from)
            return;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > ms)
            return;
    }
}

veil_trust_policy *trusting(veil_node *node, const veil_entity *e)
{
    veil_trust_policy *p;
    const char *id = veil_entity_identifier(e);
    assert_int_equal(veil_trust_policy_new_identifier(node, &id, 1, &p), 0);
    return p;
}

void relay_up(net *n, const veil_relay_registry_options *o)
{
    char text[256];
    snprintf(text, sizeof text, "[node]\nrelay = true\n%s[secure_channel]\nallowed_workers = "
             "relay_registry\n", n->m_node != NULL ? n->m_node : "");
    n->m = node_with(text, &n->mapp);
    assert_int_equal(veil_entity_open(n->m, NULL, NULL, VEIL_ENTITY_CREATE, &n->me), 0);
    veil_trust_policy *all;
    assert_int_equal(veil_trust_policy_new(n->m, "everyone", NULL, &all), 0);
    assert_int_equal(veil_secure_channel_listener_open(n->me, "relay_listener", all), 0);
    assert_int_equal(veil_relay_registry_start(n->m, NULL, o), 0);
    veil_address bound;
    assert_int_equal(veil_node_transport_listen(n->m, "tcp", "127.0.0.1:0", &bound), 0);
    snprintf(n->where, sizeof n->where, "%.*s", (int)bound.len, bound.bytes);
}

static void on_state(veil_node *node, const char *name, int rc, const char *detail, void *arg)
{
    (void)node, (void)name, (void)detail;
    net *n = arg;
    n->last_state = rc;
    n->states++;
}

void net_up(net *n, const veil_relay_registry_options *o)
{
    const char *m_node = n->m_node;
    memset(n, 0, sizeof *n);
    n->m_node = m_node;
    relay_up(n, o);
    n->r = node_with("[secure_channel]\nallowed_workers = echoer\n[transport.tcp]\nauto_connect = true\n",
                     &n->rapp);
    assert_int_equal(veil_entity_open(n->r, NULL, NULL, VEIL_ENTITY_CREATE, &n->re), 0);
    assert_int_equal(veil_node_transport_start(n->r, "tcp"), 0);
    assert_int_equal(veil_ctx_start_worker(n->rapp, "echoer", &echo_ops, &n->echoed), 0);
    n->a = node_with("[transport.tcp]\nauto_connect = true\n", &n->aapp);
    assert_int_equal(veil_entity_open(n->a, NULL, NULL, VEIL_ENTITY_CREATE, &n->ae), 0);
    assert_int_equal(veil_entity_open(n->a, NULL, NULL, VEIL_ENTITY_CREATE, &n->ce), 0);
    assert_int_equal(veil_node_transport_start(n->a, "tcp"), 0);
    assert_int_equal(veil_secure_channel_listener_open(n->re, "bob_listener", trusting(n->r, n->ae)), 0);
}

void net_down(net *n)
{
    veil_entity *es[] = { n->ae, n->ce, n->re, n->me };
    for (int i = 0; i < 4; i++)
        veil_entity_close(es[i]); /* NULL is ignored */
    veil_node *nodes[] = { n->a, n->r, n->m };
    for (int i = 0; i < 3; i++)
        if (nodes[i] != NULL)
            assert_int_equal(veil_node_free(nodes[i]), 0);
}

void register_bob(net *n, unsigned keepalive_ms)
{
    veil_relay_register_options o = { .size = sizeof o, .on_state = on_state, .arg = n,
                                      .keepalive_ms = keepalive_ms, .backoff_min_ms = 50,
                                      .backoff_max_ms = 400, .reply_timeout_ms = 1000 };
    n->last_state = 1;
    assert_int_equal(veil_relay_register_start(n->re, n->where, "relay_listener",
                                               veil_entity_identifier(n->me), "bob", &o), 0);
    pump_until(n, &n->last_state, 1, 5000);
    assert_int_equal(n->last_state, 0);
}

/* ---- an open that completes while all three loops run --------------------- */

typedef struct open_wait {
    int done, rc;
    veil_address ch;
} open_wait;

static void open_done(veil_node *node, int rc, const veil_address *ch, const char *detail, void *user)
{
    (void)node, (void)detail;
    open_wait *w = user;
    w->rc = rc;
    if (ch != NULL)
        w->ch = *ch;
    w->done = 1;
}

int open_via(net *n, veil_entity *e, const veil_route *route, veil_trust_policy *p, veil_address *ch)
{
    open_wait w = { 0 };
    veil_address tmp;
    int rc = veil_secure_channel_open_async(e, route, p, open_done, &w, &tmp);
    if (rc < 0)
        return rc;
    pump_until(n, &w.done, 0, 10000);
    assert_int_equal(w.done, 1);
    *ch = w.ch;
    return w.rc;
}

int open_to_bob(net *n, const char *name, veil_address *ch)
{
    veil_route r;
    char text[200];
    snprintf(text, sizeof text, "1#%s => relay => %s => bob_listener", n->where, name);
    assert_int_equal(veil_route_parse(&r, text), 0);
    return open_via(n, n->ae, &r, trusting(n->a, n->re), ch);
}

size_t request(net *n, veil_node *on, const veil_address *ch, const char *worker,
               const void *req, size_t len, uint8_t *out, size_t cap)
{
    veil_context *box;
    assert_int_equal(veil_ctx_new_detached(on, NULL, &box), 0);
    veil_route r;
    veil_route_init(&r);
    assert_int_equal(veil_route_append(&r, ch), 0);
    assert_int_equal(veil_route_append_str(&r, worker), 0);
    assert_int_equal(veil_ctx_send(box, &r, req, len), 0);
    veil_message *m = NULL;
    for (int i = 0; i < 2000 && m == NULL; i++) {
        pump_until(n, NULL, 0, 1);
        if (veil_ctx_receive(box, &m, 0) < 0)
            m = NULL;
    }
    assert_non_null(m);
    size_t plen;
    const uint8_t *p = veil_message_payload(m, &plen);
    assert_true(plen <= cap);
    memcpy(out, p, plen);
    veil_message_free(m);
    veil_ctx_free(box);
    return plen;
}

void echo_through(net *n, const veil_address *ch, const char *text)
{
    uint8_t back[256];
    size_t len = request(n, n->a, ch, "echoer", text, strlen(text), back, sizeof back);
    assert_int_equal(len, strlen(text));
    assert_memory_equal(back, text, len);
}

void bob_up(net *n)
{
    net_up(n, NULL);
    register_bob(n, 10000);
}
