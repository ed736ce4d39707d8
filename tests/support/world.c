/* The shared world of the secure-channel tests (world.h). */
#include "world.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int echo_handle(veil_context *ctx, void *state, veil_message *msg)
{
    echo_state *s = state;
    size_t len;
    const uint8_t *p = veil_message_payload(msg, &len);
    s->count++;
    s->last_info = *veil_message_local_info(msg);
    snprintf(s->last_payload, sizeof s->last_payload, "%.*s", (int)(len < 63 ? len : 63),
             (const char *)p);
    return veil_ctx_reply_message(ctx, msg, NULL, 0);
}

const veil_worker_ops echo_ops = {
    .size = sizeof(veil_worker_ops),
    .handle_message = echo_handle,
};

static int hop_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (*(unsigned *)state)++;
    return veil_ctx_forward_next(ctx, msg);
}

const veil_worker_ops hop_ops = {
    .size = sizeof(veil_worker_ops),
    .handle_message = hop_handle,
};

static int swallow(veil_context *ctx, void *state, veil_message *msg)
{
    (void)ctx;
    (void)msg;
    (*(unsigned *)state)++;
    return 0;
}

const veil_worker_ops swallow_ops = {
    .size = sizeof(veil_worker_ops),
    .handle_message = swallow,
};

static int tap_handle(veil_context *ctx, void *state, veil_message *msg)
{
    tap_state *t = state;
    veil_address me, next;
    veil_route *on = veil_message_onward(msg);
    if (veil_route_pop_front(on, &me) < 0 || veil_route_get(on, 0, &next) < 0)
        return -1;
    if (veil_route_prepend(veil_message_return(msg), veil_ctx_address(ctx)) < 0)
        return -1;
    size_t len;
    const uint8_t *p = veil_message_payload(msg, &len);
    if (t->nframes < TAP_FRAMES && len <= sizeof t->frames[0].bytes) {
        memcpy(t->frames[t->nframes].bytes, p, len);
        t->frames[t->nframes].len = len;
        t->frames[t->nframes].to = next;
        t->nframes++;
    }
    t->passed++;
    if (t->hold > 0 && t->nheld < TAP_MAX) {
        /* The runtime frees msg after the handler: hold a copy. */
        veil_message *copy;
        if (veil_message_new(veil_ctx_node(ctx), &copy) < 0)
            return -1;
        veil_route_copy(veil_message_onward(copy), veil_message_onward_const(msg));
        veil_route_copy(veil_message_return(copy), veil_message_return_const(msg));
        if (veil_message_set_payload(copy, p, len) < 0)
            return -1;
        t->hold--;
        t->held[t->nheld++] = copy;
        return 0;
    }
    return veil_ctx_forward(ctx, msg);
}

const veil_worker_ops tap_ops = {
    .size = sizeof(veil_worker_ops),
    .handle_message = tap_handle,
};

void tap_release(veil_context *ctx, tap_state *t, int reverse)
{
    for (size_t i = 0; i < t->nheld; i++) {
        size_t k = reverse ? t->nheld - 1 - i : i;
        assert_int_equal(veil_ctx_forward(ctx, t->held[k]), 0);
    }
    t->nheld = 0;
}

static int try_node_from(const char *text, veil_node **node, veil_context **app)
{
    veil_config *cfg = NULL;
    veil_node_options o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    if (text != NULL)
        assert_int_equal(veil_config_new_from_text(&cfg, text, "<test>"), 0);
    else
        assert_int_equal(veil_config_new(&cfg), 0);
    /* Flow control (docs/ARCHITECTURE.md, "Access control"): the world's
     * channels may reach its echoer unless the test says otherwise. */
    if (veil_config_get(cfg, "secure_channel", "allowed_workers") == NULL)
        assert_int_equal(veil_config_set(cfg, "secure_channel", "allowed_workers", "echoer"), 0);
    o.config = cfg;
    int rc = veil_node_new(node, app, &o);
    veil_config_free(cfg);
    return rc;
}

void node_from(const char *text, veil_node **node, veil_context **app)
{
    if (try_node_from(text, node, app) < 0)
        fail_msg("veil_node_new: %s", veil_last_error());
}

int node_new_rc(const char *text)
{
    veil_node *node = NULL;
    veil_context *app;
    int rc = try_node_from(text, &node, &app);
    if (rc == 0)
        assert_int_equal(veil_node_free(node), 0);
    else
        assert_null(node);
    return rc;
}

veil_trust_policy *trust_only(veil_node *node, const veil_entity *peer)
{
    veil_trust_policy *p;
    const char *id = veil_entity_identifier(peer);
    assert_int_equal(veil_trust_policy_new_identifier(node, &id, 1, &p), 0);
    return p;
}

void round_trip(veil_context *app, const veil_address *ch, const char *text)
{
    veil_route r;
    veil_message *reply;
    veil_route_init(&r);
    assert_int_equal(veil_route_append(&r, ch), 0);
    assert_int_equal(veil_route_append_str(&r, "echoer"), 0);
    assert_int_equal(veil_ctx_send(app, &r, text, strlen(text)), 0);
    int rc = veil_ctx_receive(app, &reply, 2000);
    if (rc < 0)
        fail_msg("no reply to '%s': %s", text, veil_last_error());
    size_t len;
    const uint8_t *p = veil_message_payload(reply, &len);
    assert_int_equal(len, strlen(text));
    assert_memory_equal(p, text, len);
    const veil_local_info *li = veil_message_local_info(reply);
    assert_true(li->via_channel);
    assert_true(veil_address_equal(&li->channel, ch));
    veil_message_free(reply);
}

void world_up(world *w, const char *config, unsigned with)
{
    memset(w, 0, sizeof *w);
    node_from(config, &w->node, &w->app);
    assert_int_equal(veil_ctx_start_worker(w->app, "echoer", &echo_ops, &w->echo), 0);
    assert_int_equal(veil_entity_open(w->node, NULL, NULL, VEIL_ENTITY_CREATE, &w->alice), 0);
    assert_int_equal(veil_entity_open(w->node, NULL, NULL, VEIL_ENTITY_CREATE, &w->bob), 0);
    world_add(w, with);
}

void world_add(world *w, unsigned with)
{
    if (with & WORLD_CAROL)
        assert_int_equal(veil_entity_open(w->node, NULL, NULL, VEIL_ENTITY_CREATE, &w->carol), 0);
    if (with & WORLD_TAP) {
        w->tap = calloc(1, sizeof *w->tap);
        assert_non_null(w->tap);
        assert_int_equal(veil_ctx_start_worker(w->app, "tap", &tap_ops, w->tap), 0);
    }
}

void world_down(world *w)
{
    veil_entity_close(w->alice);
    veil_entity_close(w->bob);
    veil_entity_close(w->carol);
    assert_int_equal(veil_node_free(w->node), 0);
    free(w->tap);
    w->tap = NULL;
}

void pair_up(world *w, const char *config, const char *listener)
{
    world_up(w, config, 0);
    if (listener != NULL)
        assert_int_equal(veil_secure_channel_listener_open(w->bob, listener,
                                                           trust_only(w->node, w->alice)), 0);
}

void pair_down(world *w)
{
    world_down(w);
}

int pair_create(world *w, const char *route, veil_address *ch)
{
    veil_route r = route_of(route);
    return veil_secure_channel_open(w->alice, &r, trust_only(w->node, w->bob), ch);
}

void settle(veil_node *node)
{
    for (int i = 0; i < 20; i++)
        assert_int_equal(veil_node_run_once(node, 0), 0);
}
