/* The router: which context owns each local address (an open-addressing
 * hash table), which transport owns each address type, and the delivery
 * queue (an intrusive FIFO of messages).
 *
 * Delivery looks the next hop up again when the message reaches the front
 * of the queue, so a worker stopped in the meantime means a counted drop,
 * never a dangling pointer. */
#include "runtime.h"

#include <veil/error.h>
#include <veil/log.h>

#include <stdlib.h>
#include <string.h>

#define ROUTER_INITIAL_CAP 64u

static const veil_address tombstone_addr;
#define TOMBSTONE (&tombstone_addr)

static inline uint32_t hash_bytes(const uint8_t *b, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}

uint32_t veil__router_hash(const void *bytes, size_t len)
{
    return hash_bytes(bytes, len);
}

int veil__router_init(veil_node *node)
{
    veil_router *r = &node->router;
    memset(r, 0, sizeof *r);
    r->slots = calloc(ROUTER_INITIAL_CAP, sizeof *r->slots);
    if (r->slots == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory creating the router table");
    r->cap = ROUTER_INITIAL_CAP;
    return 0;
}

void veil__router_fini(veil_node *node)
{
    veil__router_drop_queue(node);
    free(node->router.slots);
    node->router.slots = NULL;
    node->router.cap = node->router.used = node->router.live = 0;
}

static veil_route_slot *find_slot(const veil_router *r, const uint8_t *bytes,
                                  size_t len, uint32_t h)
{
    size_t mask = r->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        veil_route_slot *s = &r->slots[i];
        if (s->addr == NULL)
            return NULL;
        if (s->addr != TOMBSTONE && s->hash == h && s->addr->len == len &&
            memcmp(s->addr->bytes, bytes, len) == 0)
            return s;
    }
}

veil_context *veil__router_lookup(const veil_node *node, const uint8_t *bytes, size_t len)
{
    const veil_router *r = &node->router;
    veil_route_slot *s = find_slot(r, bytes, len, hash_bytes(bytes, len));
    return s != NULL ? s->ctx : NULL;
}

const veil_route_slot *veil__router_find(const veil_node *node, const uint8_t *bytes, size_t len)
{
    return find_slot(&node->router, bytes, len, hash_bytes(bytes, len));
}

static void insert_slot(veil_router *r, const veil_address *a, veil_context *ctx, uint32_t h,
                        veil_access_control *access)
{
    size_t mask = r->cap - 1;
    size_t i = h & mask;
    while (r->slots[i].addr != NULL && r->slots[i].addr != TOMBSTONE)
        i = (i + 1) & mask;
    if (r->slots[i].addr == NULL)
        r->used++;
    r->slots[i] = (veil_route_slot){.addr = a, .ctx = ctx, .hash = h, .access = access};
    r->live++;
}

static int grow(veil_router *r)
{
    size_t ncap = r->live * 4 >= r->cap ? r->cap * 2 : r->cap; /* else: purge tombstones */
    veil_route_slot *old = r->slots;
    size_t ocap = r->cap;
    r->slots = calloc(ncap, sizeof *r->slots);
    if (r->slots == NULL) {
        r->slots = old;
        return veil_error_set(VEIL_ENOMEM, "out of memory growing the router table");
    }
    r->cap = ncap;
    r->used = r->live = 0;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].addr != NULL && old[i].addr != TOMBSTONE)
            insert_slot(r, old[i].addr, old[i].ctx, old[i].hash, old[i].access);
    free(old);
    return 0;
}

/* a must stay valid while registered (it points into ctx->addrs). */
int veil__router_add(veil_node *node, const veil_address *a, veil_context *ctx)
{
    veil_router *r = &node->router;
    uint32_t h = hash_bytes((const uint8_t *)a->bytes, a->len);
    if (find_slot(r, (const uint8_t *)a->bytes, a->len, h) != NULL)
        return veil_error_set(VEIL_EEXIST, "address '%s' is already in use", a->bytes);
    if ((r->used + 1) * 10 > r->cap * 7) {
        int rc = grow(r);
        if (rc < 0)
            return rc;
    }
    insert_slot(r, a, ctx, h, NULL);
    return 0;
}

int veil__router_set_access(veil_node *node, const veil_address *a, veil_access_control *ac)
{
    veil_router *r = &node->router;
    veil_route_slot *s = find_slot(r, (const uint8_t *)a->bytes, a->len,
                                   hash_bytes((const uint8_t *)a->bytes, a->len));
    if (s == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no worker at address '%s'", a->bytes);
    veil__access_ref(ac);
    veil_access_control_free(s->access);
    s->access = ac;
    return 0;
}

void veil__router_remove(veil_node *node, const veil_address *a)
{
    veil_router *r = &node->router;
    veil_route_slot *s = find_slot(r, (const uint8_t *)a->bytes, a->len,
                                   hash_bytes((const uint8_t *)a->bytes, a->len));
    if (s == NULL)
        return;
    veil_access_control_free(s->access);
    s->addr = TOMBSTONE;
    s->ctx = NULL;
    s->access = NULL;
    r->live--;
}

/* ---- transports ------------------------------------------------------- */

int veil_node_register_transport(veil_node *node, uint8_t type, veil_route_fn fn, void *arg)
{
    if (node == NULL || fn == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_node_register_transport: node and fn must not be NULL");
    if (type == VEIL_ADDRESS_TYPE_LOCAL)
        return veil_error_set(VEIL_EINVAL, "address type 0 is local and cannot be claimed by a transport");
    veil_transport_slot *t = &node->router.transports[type];
    if (t->fn != NULL)
        return veil_error_set(VEIL_EEXIST, "a transport is already registered for address type %u", type);
    t->fn = fn;
    t->arg = arg;
    return 0;
}

void veil_node_unregister_transport(veil_node *node, uint8_t type)
{
    if (node == NULL)
        return;
    node->router.transports[type].fn = NULL;
    node->router.transports[type].arg = NULL;
    node->router.transports[type].frame_fn = NULL;
}

int veil_node_register_transport_frames(veil_node *node, uint8_t type, veil_frame_fn fn)
{
    if (node == NULL || fn == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_node_register_transport_frames: node and fn must "
                              "not be NULL");
    veil_transport_slot *t = &node->router.transports[type];
    if (t->fn == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no transport registered for address type %u: "
                              "register it first (veil_node_register_transport)", type);
    t->frame_fn = fn;
    return 0;
}

/* ---- queueing --------------------------------------------------------- */

static void format_front(const veil_message *m, char *out, size_t cap)
{
    uint8_t type;
    const uint8_t *bytes;
    size_t len;
    veil_address a;
    out[0] = '\0';
    if (!veil_route_front(veil_message_onward_const(m), &type, &bytes, &len))
        return;
    if (veil_address_set(&a, type, bytes, len) == 0)
        veil_address_format(&a, out, cap);
}

int veil__router_enqueue(veil_node *node, veil_message *msg)
{
    veil_router *r = &node->router;
    if (node->current_msg == msg)
        node->current_msg = NULL; /* ownership passes on */
    if (node->stopping) {
        veil_message_free(msg);
        return veil_error_set(VEIL_ESTOPPED, "node is stopping: message not sent");
    }
    if (r->q_len >= node->limits.queue_limit) {
        veil_message_free(msg);
        return veil_error_set(VEIL_EAGAIN, "delivery queue full (%zu messages; [node] queue_limit)",
                              r->q_len);
    }
    msg->next = NULL;
    if (r->q_tail != NULL)
        r->q_tail->next = msg;
    else
        r->q_head = msg;
    r->q_tail = msg;
    r->q_len++;
    return 0;
}

/* The sender of msg (its return route's first address, when local) goes
 * on sending over the connection at (type, bytes, len): replies from there
 * pass flow control.  Network-facing addresses need no note. */
static void note_sender(veil_node *node, const veil_message *msg, uint8_t type,
                        const uint8_t *bytes, size_t len)
{
    uint8_t rt;
    const uint8_t *rb;
    size_t rl;
    if (!veil_route_front(veil_message_return_const(msg), &rt, &rb, &rl) ||
        rt != VEIL_ADDRESS_TYPE_LOCAL)
        return;
    veil_route_slot *s = find_slot(&node->router, rb, rl, hash_bytes(rb, rl));
    if (s != NULL && (s->access == NULL || s->access->kind != VEIL_AC_NETWORK))
        veil__access_sent(s->ctx, type, bytes, len);
}

/* A message sent to a transport address goes to the transport at once (not
 * through the queue), so the sender's call returns the transport's verdict:
 * a bad address, a full send queue (VEIL_EAGAIN), a failed dial.  The
 * transport only queues bytes here; it writes before the loop polls. */
__attribute__((noinline)) /* keeps the local path of veil__router_send lean */
static int hand_to_transport(veil_node *node, veil_message *msg, uint8_t type,
                             const uint8_t *bytes, size_t len)
{
    veil_transport_slot *t = &node->router.transports[type];
    if (node->current_msg == msg)
        node->current_msg = NULL; /* ownership passes on */
    if (node->stopping) {
        veil_message_free(msg);
        return veil_error_set(VEIL_ESTOPPED, "node is stopping: message not sent");
    }
    const veil_local_info *li = &msg->info;
    if ((li->from_transport || li->via_channel) && !node->relay) {
        int rc = veil__access_relay(node, msg, type, bytes, len);
        if (rc < 0)
            return rc;
    }
    note_sender(node, msg, type, bytes, len);
    return t->fn(t->arg, msg);
}

int veil__router_send(veil_node *node, veil_message *msg)
{
    uint8_t type;
    const uint8_t *bytes;
    size_t len;
    char text[VEIL_ADDRESS_TEXT_MAX + 1];
    if (!veil_route_front(veil_message_onward_const(msg), &type, &bytes, &len)) {
        veil_message_free(msg);
        return veil_error_set(VEIL_EINVAL, "onward route is empty");
    }
    if (type == VEIL_ADDRESS_TYPE_LOCAL) {
        veil_context *to = veil__router_lookup(node, bytes, len);
        if (to == NULL || (to->paused_rc != 0 && to->addrs[0].len == len &&
                           memcmp(to->addrs[0].bytes, bytes, len) == 0)) {
            format_front(msg, text, sizeof text);
            veil_message_free(msg);
            if (to != NULL)
                return veil_error_set(to->paused_rc, "'%s' takes no messages now (paused: %s)",
                                      text, veil_strerror(to->paused_rc));
            return veil_error_set(VEIL_ENOROUTE, "no worker at address '%s'", text);
        }
    } else if (node->router.transports[type].fn == NULL) {
        format_front(msg, text, sizeof text);
        veil_message_free(msg);
        return veil_error_set(VEIL_ENOROUTE, "no transport registered for address type %u ('%s')",
                              type, text);
    } else {
        return hand_to_transport(node, msg, type, bytes, len);
    }
    return veil__router_enqueue(node, msg);
}

int veil_node_deliver(veil_node *node, veil_message *msg)
{
    if (node == NULL || msg == NULL) {
        veil_message_free(msg);
        return veil_error_set(VEIL_EINVAL, "veil_node_deliver: node and msg must not be NULL");
    }
    /* The transport's hop is the first address of the return route: the
     * connection the message came over. */
    uint8_t type = 0;
    const uint8_t *bytes = NULL;
    size_t len = 0;
    veil_local_info *li = &msg->info;
    li->connection.len = 0;
    li->connection.bytes[0] = '\0';
    if (veil_route_front(veil_message_return_const(msg), &type, &bytes, &len) &&
        type != VEIL_ADDRESS_TYPE_LOCAL && veil_address_set(&li->connection, type, bytes, len) < 0)
        li->connection.len = 0;
    li->from_transport = true;
    li->transport_type = type;
    li->admitted = false;
    return veil__router_enqueue(node, msg);
}

void veil__router_drop_queue(veil_node *node)
{
    veil_router *r = &node->router;
    while (r->q_head != NULL) {
        veil_message *m = r->q_head;
        r->q_head = m->next;
        veil_message_free(m);
    }
    r->q_tail = NULL;
    r->q_len = 0;
}

/* ---- delivery --------------------------------------------------------- */

static void drop(veil_node *node, veil_message *msg, const char *why)
{
    char text[VEIL_ADDRESS_TEXT_MAX + 1];
    format_front(msg, text, sizeof text);
    veil_log(VEIL_LOG_WARN, "node", "dropped a message for '%s': %s", text, why);
    node->stats.dropped_noroute++;
    veil_message_free(msg);
}

bool veil__router_refused_before(veil_node *node, uint32_t h)
{
    veil_router *r = &node->router;
    for (unsigned i = 0; i < VEIL_RT_REFUSED_LOGGED; i++)
        if (r->refused_src[i] == h)
            return true;
    r->refused_src[r->refused_next++ % VEIL_RT_REFUSED_LOGGED] = h;
    return false;
}

static void run_handler(veil_node *node, veil_context *ctx, veil_message *msg)
{
    node->current_msg = msg;
    int rc = ctx->ops.handle_message(ctx, ctx->state, msg);
    if (rc < 0) {
        node->stats.handler_errors++;
        veil_log(VEIL_LOG_WARN, "node", "worker '%s' failed to handle a message: %s (%s)",
                 ctx->addrs[0].bytes, veil_strerror(rc), veil_last_error());
    }
    /* Still ours unless the handler forwarded, replied or freed it. */
    if (node->current_msg != NULL)
        veil_message_free(node->current_msg);
}

static void deliver_one(veil_node *node, veil_message *msg)
{
    uint8_t type;
    const uint8_t *bytes;
    size_t len;
    if (!veil_route_front(veil_message_onward_const(msg), &type, &bytes, &len)) {
        drop(node, msg, "empty onward route");
        return;
    }
    if (type != VEIL_ADDRESS_TYPE_LOCAL) {
        veil_transport_slot *t = &node->router.transports[type];
        if (t->fn == NULL) {
            drop(node, msg, "no transport registered for that address type");
            return;
        }
        if ((msg->info.from_transport || msg->info.via_channel) && !node->relay &&
            veil__access_relay(node, msg, type, bytes, len) < 0)
            return;
        int rc = t->fn(t->arg, msg);
        if (rc < 0)
            veil_log(VEIL_LOG_WARN, "node", "transport for address type %u refused a message: %s (%s)",
                     type, veil_strerror(rc), veil_last_error());
        return;
    }
    veil_route_slot *s = find_slot(&node->router, bytes, len, hash_bytes(bytes, len));
    if (s == NULL) {
        veil__undeliverable(node, msg);
        drop(node, msg, "no worker at that address");
        return;
    }
    veil_context *ctx = s->ctx;
    /* Access control: the default (local only) admits what was made on
     * this node, and what a secure channel admitted to it, without a call;
     * everything else takes the slow path. */
    veil_local_info *li = &msg->info;
    bool ok;
    if (s->access == NULL) /* local only */
        ok = !li->from_transport && (!li->via_channel || li->admitted);
    else
        ok = s->access->kind == VEIL_AC_NETWORK ||
             (s->access->kind == VEIL_AC_LOCAL_SENDERS && !li->from_transport);
    if (ok)
        li->admitted = false;
    else if (veil__access_admit(node, ctx, s->access, msg) < 0)
        return;
    node->stats.delivered++;
    if (ctx->kind == VEIL_CTX_MAILBOX)
        veil__ctx_mailbox_push(ctx, msg);
    else
        run_handler(node, ctx, msg);
}

size_t veil__router_dispatch(veil_node *node)
{
    veil_router *r = &node->router;
    /* Only what was queued on entry: messages sent by these handlers wait
     * for the next round, so fds and timers get their turn. */
    size_t n = r->q_len;
    for (size_t i = 0; i < n && r->q_head != NULL; i++) {
        veil_message *m = r->q_head;
        r->q_head = m->next;
        if (r->q_head == NULL)
            r->q_tail = NULL;
        r->q_len--;
        deliver_one(node, m);
    }
    return n;
}
