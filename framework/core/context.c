/* Contexts: what workers and application code send and receive through.
 * A worker's context hands messages to its handle_message; a mailbox context
 * (the node's "app" context, detached contexts) queues them until
 * veil_ctx_receive().  Workers and contexts belong to the node's thread. */
#include "runtime.h"

#include <veil/error.h>
#include <veil/log.h>
#include <veil/plugin.h> /* VEIL_ABI_HAS */

#include <stdlib.h>
#include <string.h>

int veil__ctx_new(veil_node *node, int kind, const veil_address *addrs, size_t n,
                  veil_context **out)
{
    veil_context *ctx = calloc(1, sizeof *ctx);
    veil_address *copy = calloc(n, sizeof *copy);
    if (ctx == NULL || copy == NULL) {
        free(ctx);
        free(copy);
        return veil_error_set(VEIL_ENOMEM, "out of memory creating a context");
    }
    memcpy(copy, addrs, n * sizeof *copy);
    ctx->node = node;
    ctx->kind = kind;
    ctx->addrs = copy;
    ctx->naddrs = n;
    for (size_t i = 0; i < n; i++) {
        int rc = VEIL_OK;
        if (copy[i].type != VEIL_ADDRESS_TYPE_LOCAL)
            rc = veil_error_set(VEIL_EINVAL, "address '%u#%s' is not local (type %u)",
                                copy[i].type, copy[i].bytes, copy[i].type);
        else
            rc = veil__router_add(node, &copy[i], ctx);
        if (rc < 0) {
            for (size_t j = 0; j < i; j++)
                veil__router_remove(node, &copy[j]);
            free(copy);
            free(ctx);
            return rc;
        }
    }
    ctx->prev = node->ctx_tail;
    if (node->ctx_tail != NULL)
        node->ctx_tail->next = ctx;
    else
        node->ctx_head = ctx;
    node->ctx_tail = ctx;
    *out = ctx;
    return 0;
}

/* Unregister and unlink now; free now or (inside a callback) later. */
void veil__ctx_destroy(veil_context *ctx)
{
    veil_node *node = ctx->node;
    for (size_t i = 0; i < ctx->naddrs; i++)
        veil__router_remove(node, &ctx->addrs[i]);
    if (ctx->frame_forward != NULL)
        node->frame_forwarders--;
    ctx->frame_forward = NULL;
    while (ctx->mbox_head != NULL) {
        veil_message *m = ctx->mbox_head;
        ctx->mbox_head = m->next;
        veil_message_free(m);
    }
    ctx->mbox_tail = NULL;
    ctx->mbox_len = 0;
    if (ctx->prev != NULL)
        ctx->prev->next = ctx->next;
    else
        node->ctx_head = ctx->next;
    if (ctx->next != NULL)
        ctx->next->prev = ctx->prev;
    else
        node->ctx_tail = ctx->prev;
    if (node->dispatch_depth > 0) {
        ctx->next_dead = node->dead_ctxs;
        node->dead_ctxs = ctx;
    } else {
        free(ctx->sent_to);
        free(ctx->addrs);
        free(ctx);
    }
}

void veil__ctx_reap(veil_node *node)
{
    while (node->dead_ctxs != NULL) {
        veil_context *ctx = node->dead_ctxs;
        node->dead_ctxs = ctx->next_dead;
        free(ctx->sent_to);
        free(ctx->addrs);
        free(ctx);
    }
}

void veil__ctx_mailbox_push(veil_context *ctx, veil_message *msg)
{
    msg->next = NULL;
    if (ctx->mbox_tail != NULL)
        ctx->mbox_tail->next = msg;
    else
        ctx->mbox_head = msg;
    ctx->mbox_tail = msg;
    ctx->mbox_len++;
}

/* ---- workers ---------------------------------------------------------- */

static void worker_stop(veil_context *ctx)
{
    ctx->stopping = true;
    /* Unregister first: the stop op may send, but nothing reaches us. */
    for (size_t i = 0; i < ctx->naddrs; i++)
        veil__router_remove(ctx->node, &ctx->addrs[i]);
    if (ctx->ops.stop != NULL)
        ctx->ops.stop(ctx, ctx->state);
    veil__ctx_destroy(ctx);
}

int veil_ctx_start_worker_addrs(veil_context *ctx, const veil_address *addrs, size_t n,
                                const veil_worker_ops *ops, void *state)
{
    if (ctx == NULL || addrs == NULL || n == 0 || ops == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_ctx_start_worker: %s",
                              n == 0 ? "no address given" : "ctx, addrs and ops must not be NULL");
    veil_node *node = ctx->node;
    int rc = veil__node_check_running(node);
    if (rc < 0)
        return rc;
    if (!VEIL_ABI_HAS(ops, handle_message) || ops->handle_message == NULL)
        return veil_error_set(VEIL_EINVAL, "worker '%s': ops.size must be set (got %zu) and "
                              "handle_message must not be NULL", addrs[0].bytes, ops->size);
    veil_context *w;
    rc = veil__ctx_new(node, VEIL_CTX_WORKER, addrs, n, &w);
    if (rc < 0)
        return rc;
    memcpy(&w->ops, ops, ops->size < sizeof w->ops ? ops->size : sizeof w->ops);
    w->ops.size = sizeof w->ops;
    w->state = state;
    if (w->ops.start != NULL) {
        node->dispatch_depth++;
        rc = w->ops.start(w, state);
        node->dispatch_depth--;
        if (rc < 0) {
            veil_error_wrap(rc, "worker '%s' failed to start", addrs[0].bytes);
            veil__ctx_destroy(w);
            if (node->dispatch_depth == 0)
                veil__ctx_reap(node);
            return rc;
        }
    }
    return 0;
}

int veil_ctx_start_worker(veil_context *ctx, const char *address,
                          const veil_worker_ops *ops, void *state)
{
    veil_address a;
    if (address == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_ctx_start_worker: address must not be NULL");
    int rc = veil_address_parse(&a, address);
    if (rc < 0)
        return veil_error_wrap(rc, "worker address '%s'", address);
    return veil_ctx_start_worker_addrs(ctx, &a, 1, ops, state);
}

int veil_ctx_stop_worker(veil_context *ctx, const char *address)
{
    veil_address a;
    if (ctx == NULL || address == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_ctx_stop_worker: ctx and address must not be NULL");
    int rc = veil_address_parse(&a, address);
    if (rc < 0)
        return veil_error_wrap(rc, "worker address '%s'", address);
    veil_context *w = a.type == VEIL_ADDRESS_TYPE_LOCAL
                          ? veil__router_lookup(ctx->node, (const uint8_t *)a.bytes, a.len)
                          : NULL;
    if (w == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no worker at address '%s'", address);
    if (w->kind != VEIL_CTX_WORKER)
        return veil_error_set(VEIL_EINVAL, "address '%s' belongs to a mailbox context, not a worker",
                              address);
    ctx->node->dispatch_depth++; /* defer the free: ctx may be w itself */
    worker_stop(w);
    ctx->node->dispatch_depth--;
    if (ctx->node->dispatch_depth == 0)
        veil__ctx_reap(ctx->node);
    return 0;
}

/* At node stop: workers in reverse start order, then mailbox contexts. */
void veil__ctx_stop_all(veil_node *node)
{
    for (;;) {
        /* Re-scan each time: a stop op may stop other workers. */
        veil_context *c = node->ctx_tail;
        while (c != NULL && (c->kind != VEIL_CTX_WORKER || c->stopping))
            c = c->prev;
        if (c == NULL)
            break;
        worker_stop(c);
    }
    while (node->ctx_head != NULL)
        veil__ctx_destroy(node->ctx_head);
}

/* ---- context basics --------------------------------------------------- */

const veil_address *veil_ctx_address(const veil_context *ctx)
{
    return &ctx->addrs[0];
}

const veil_address *veil_ctx_addresses(const veil_context *ctx, size_t *n)
{
    *n = ctx->naddrs;
    return ctx->addrs;
}

veil_node *veil_ctx_node(veil_context *ctx)
{
    return ctx->node;
}

int veil_ctx_set_paused(veil_context *ctx, int rc)
{
    if (ctx == NULL || rc > 0)
        return veil_error_set(VEIL_EINVAL, "veil_ctx_set_paused: ctx must be set and rc 0 or a "
                              "negative VEIL_E* code (got %d)", rc);
    ctx->paused_rc = rc;
    return 0;
}

void *veil_node_worker_state(const veil_node *node, const veil_address *a,
                             const veil_worker_ops *ops)
{
    if (node == NULL || a == NULL || ops == NULL || a->type != VEIL_ADDRESS_TYPE_LOCAL)
        return NULL;
    veil_context *c = veil__router_lookup(node, (const uint8_t *)a->bytes, a->len);
    if (c == NULL || c->kind != VEIL_CTX_WORKER || c->stopping ||
        c->ops.handle_message != ops->handle_message)
        return NULL;
    return c->state;
}

int veil_ctx_new_detached(veil_node *node, const char *address, veil_context **out)
{
    veil_address a;
    int rc;
    if (node == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_ctx_new_detached: node and out must not be NULL");
    rc = veil__node_check_running(node);
    if (rc < 0)
        return rc;
    if (address != NULL)
        rc = veil_address_parse(&a, address);
    else
        rc = veil_address_random(&a, "app_");
    if (rc < 0)
        return address != NULL ? veil_error_wrap(rc, "context address '%s'", address) : rc;
    return veil__ctx_new(node, VEIL_CTX_MAILBOX, &a, 1, out);
}

void veil_ctx_free(veil_context *ctx)
{
    /* The app context and workers' contexts belong to the node. */
    if (ctx == NULL || ctx->is_app || ctx->kind != VEIL_CTX_MAILBOX)
        return;
    veil__ctx_destroy(ctx);
}

/* ---- sending ---------------------------------------------------------- */

static bool owns_address(const veil_context *ctx, const veil_address *a)
{
    for (size_t i = 0; i < ctx->naddrs; i++)
        if (veil_address_equal(&ctx->addrs[i], a))
            return true;
    return false;
}

int veil_ctx_send_from(veil_context *ctx, const veil_address *from, const veil_route *route,
                       const void *data, size_t len)
{
    if (ctx == NULL || route == NULL || (data == NULL && len > 0))
        return veil_error_set(VEIL_EINVAL, "veil_ctx_send: ctx, route and data must not be NULL");
    veil_node *node = ctx->node;
    if (from == NULL)
        from = &ctx->addrs[0];
    else if (!owns_address(ctx, from))
        return veil_error_set(VEIL_EINVAL, "context '%s' does not own address '%s'",
                              ctx->addrs[0].bytes, from->bytes);
    if (len > node->limits.max_payload)
        return veil_error_set(VEIL_ELIMIT, "payload of %zu bytes exceeds the limit of %zu bytes",
                              len, node->limits.max_payload);
    if (veil_route_count(route) == 0)
        return veil_error_set(VEIL_EINVAL, "route is empty");
    veil_message *m;
    int rc = veil_message_new(node, &m);
    if (rc < 0)
        return rc;
    veil_route_copy(veil_message_onward(m), route);
    rc = veil_route_append(veil_message_return(m), from);
    if (rc == 0)
        rc = veil_message_set_payload(m, data, len);
    if (rc < 0) {
        veil_message_free(m);
        return rc;
    }
    return veil__router_send(node, m);
}

int veil_ctx_send(veil_context *ctx, const veil_route *route, const void *data, size_t len)
{
    return veil_ctx_send_from(ctx, NULL, route, data, len);
}

int veil_ctx_forward(veil_context *ctx, veil_message *msg)
{
    if (ctx == NULL || msg == NULL) {
        veil_message_free(msg);
        return veil_error_set(VEIL_EINVAL, "veil_ctx_forward: ctx and msg must not be NULL");
    }
    return veil__router_send(ctx->node, msg);
}

int veil_ctx_forward_next(veil_context *ctx, veil_message *msg)
{
    if (ctx == NULL || msg == NULL) {
        veil_message_free(msg);
        return veil_error_set(VEIL_EINVAL, "veil_ctx_forward_next: ctx and msg must not be NULL");
    }
    int rc = veil_route_pop_front(veil_message_onward(msg), NULL);
    if (rc == 0)
        rc = veil_route_prepend(veil_message_return(msg), &ctx->addrs[0]);
    if (rc < 0) {
        veil_message_free(msg);
        return rc;
    }
    return veil__router_send(ctx->node, msg);
}

int veil_ctx_reply_message(veil_context *ctx, veil_message *msg, const void *data, size_t len)
{
    if (ctx == NULL || msg == NULL) {
        veil_message_free(msg);
        return veil_error_set(VEIL_EINVAL, "veil_ctx_reply_message: ctx and msg must not be NULL");
    }
    int rc = 0;
    if (data != NULL)
        rc = veil_message_set_payload(msg, data, len);
    if (rc == 0) {
        msg->onward_idx ^= 1u; /* the old return route is the new onward one */
        veil_route *ret = veil_message_return(msg);
        veil_route_init(ret);
        rc = veil_route_append(ret, &ctx->addrs[0]);
    }
    if (rc < 0) {
        veil_message_free(msg);
        return rc;
    }
    return veil__router_send(ctx->node, msg);
}

/* ---- receiving -------------------------------------------------------- */

int veil_ctx_receive(veil_context *ctx, veil_message **out, int timeout_ms)
{
    if (ctx == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_ctx_receive: ctx and out must not be NULL");
    veil_node *node = ctx->node;
    if (node->dispatch_depth > 0)
        return veil_error_set(VEIL_ESTATE, "veil_ctx_receive on '%s' called from inside a handler "
                              "or callback (it would re-enter the loop)", ctx->addrs[0].bytes);
    if (ctx->kind != VEIL_CTX_MAILBOX)
        return veil_error_set(VEIL_ESTATE, "'%s' is a worker's context: its messages go to "
                              "handle_message", ctx->addrs[0].bytes);
    uint64_t deadline = veil__loop_refresh_now(node) + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
    bool last_round = false;
    while (ctx->mbox_head == NULL) {
        int wait = -1;
        if (timeout_ms >= 0) {
            uint64_t now = veil__loop_refresh_now(node);
            if (last_round)
                return veil_error_set(VEIL_ETIMEDOUT, "no message for '%s' within %d ms",
                                      ctx->addrs[0].bytes, timeout_ms);
            /* Past the deadline: one more round without waiting, so what
             * is already queued still gets delivered. */
            last_round = now >= deadline;
            wait = last_round ? 0 : (int)(deadline - now);
        }
        /* Never wait while messages are queued: the round that delivers
         * into this mailbox would otherwise poll for the full timeout
         * after dispatching (its queue is empty by then). */
        int rc = veil_node_run_once(node, node->router.q_len > 0 ? 0 : wait);
        if (rc < 0)
            return rc;
    }
    veil_message *m = ctx->mbox_head;
    ctx->mbox_head = m->next;
    if (ctx->mbox_head == NULL)
        ctx->mbox_tail = NULL;
    ctx->mbox_len--;
    m->next = NULL;
    *out = m;
    return 0;
}
