/* Frame forwarding (veil/node.h, docs/ARCHITECTURE.md "Frame forwarding"):
 * on a relaying node, a frame for a network-facing forwarder that only
 * passes it on goes from the transport's receive buffer to the next
 * transport's send queue without becoming a message.  Per frame: the
 * routing header is decoded (bounds-checked by the codec, as always) into
 * two routes on the stack, the forwarder rewrites them, and the next
 * transport encodes the new header and copies the payload once into its
 * send queue.  No allocation, no delivery queue, no second payload copy.
 *
 * The fast path never decides anything the ordinary path would decide
 * differently: whatever it does not take (a malformed body, a payload over
 * [node] max_payload, an address with no forwarder or no network-facing
 * access, a forwarder that declines) goes the ordinary way untouched. */
#include "runtime.h"

#include <veil/codec.h>
#include <veil/error.h>
#include <veil/log.h>

#include <stddef.h>
#include <string.h>

int veil__ctx_set_frame_forwarder(veil_context *ctx, veil__frame_forward_fn fn)
{
    if (ctx == NULL || ctx->kind != VEIL_CTX_WORKER || fn == NULL)
        return veil_error_set(VEIL_EINVAL, "frame forwarder: a worker context and a function "
                              "are needed");
    if (ctx->frame_forward == NULL)
        ctx->node->frame_forwarders++;
    ctx->frame_forward = fn;
    return 0;
}

/* The onward route's first address, read in place when the header is in
 * its common shape (version 1, one-byte count, a local first address with
 * a one-byte length); anything else is left to the full decoder. */
static bool first_local_hop(const uint8_t *b, size_t n, const uint8_t **a, size_t *alen)
{
    if (n < 5 || b[0] != VEIL_CODEC_VERSION || b[1] == 0 || b[1] >= 0x80 ||
        b[2] != VEIL_ADDRESS_TYPE_LOCAL || b[3] == 0 || b[3] >= 0x80 || n - 4u < b[3])
        return false;
    *a = b + 4;
    *alen = b[3];
    return true;
}

/* The forwarder the frame is for, when it may take the fast path. */
static veil_context *forwarder_of(const veil_node *node, const uint8_t *body, size_t len)
{
    const uint8_t *a;
    size_t alen;
    if (!first_local_hop(body, len, &a, &alen))
        return NULL;
    const veil_route_slot *s = veil__router_find(node, a, alen);
    if (s == NULL || s->ctx->frame_forward == NULL || s->ctx->stopping || s->access == NULL ||
        s->access->kind != VEIL_AC_NETWORK)
        return NULL;
    return s->ctx;
}

/* Can the transport at onward's front take the frame as parts?  Its return
 * route must start at a network-facing address or a transport (a local
 * sender that needs its flow-control note goes the message way). */
static veil_transport_slot *frame_transport(veil_node *node, const veil_route *onward,
                                            const veil_route *ret)
{
    uint8_t type, rt;
    const uint8_t *b;
    size_t n;
    if (!veil_route_front(onward, &type, &b, &n) || type == VEIL_ADDRESS_TYPE_LOCAL ||
        node->router.transports[type].frame_fn == NULL)
        return NULL;
    if (veil_route_front(ret, &rt, &b, &n) && rt == VEIL_ADDRESS_TYPE_LOCAL) {
        const veil_route_slot *s = veil__router_find(node, b, n);
        if (s == NULL || s->access == NULL || s->access->kind != VEIL_AC_NETWORK)
            return NULL;
    }
    return &node->router.transports[type];
}

/* The rare case: the rewritten frame goes somewhere without a frame_fn. */
static int as_message(veil_node *node, const veil_local_info *li, const veil_route *onward,
                      const veil_route *ret, const uint8_t *payload, size_t len)
{
    veil_message *m;
    int rc = veil_message_new(node, &m);
    if (rc < 0)
        return rc;
    veil_route_copy(veil_message_onward(m), onward);
    veil_route_copy(veil_message_return(m), ret);
    m->info = *li;
    rc = veil_message_set_payload(m, payload, len);
    if (rc < 0) {
        veil_message_free(m);
        return rc;
    }
    return veil__router_send(node, m);
}

int veil_node_forward_frame(veil_node *node, const veil_address *from, const uint8_t *body,
                            size_t len)
{
    if (node == NULL || from == NULL || body == NULL || node->frame_forwarders == 0 ||
        !node->relay || node->stopping || from->type == VEIL_ADDRESS_TYPE_LOCAL)
        return 0;
    veil_context *ctx = forwarder_of(node, body, len);
    if (ctx == NULL)
        return 0;
    veil_route onward, ret;
    const uint8_t *payload;
    size_t plen;
    /* The ordinary path decodes the same bytes again and reports. */
    if (veil_codec_decode(body, len, node->limits.max_payload, &onward, &ret, &payload,
                          &plen) < 0 ||
        veil_route_prepend(&ret, from) < 0)
        return 0;
    veil_local_info li;
    memset(&li, 0, offsetof(veil_local_info, connection));
    li.from_transport = true;
    li.transport_type = from->type;
    li.connection = *from;
    uint64_t *sent = NULL;
    if (ctx->frame_forward(ctx, ctx->state, &li, &onward, &ret, &sent) <= 0)
        return 0;
    veil_transport_slot *t = frame_transport(node, &onward, &ret);
    int rc = t != NULL ? t->frame_fn(t->arg, &onward, &ret, payload, plen)
                       : as_message(node, &li, &onward, &ret, payload, plen);
    /* The next hop's send queue is full: the caller keeps the frame and
     * offers it again later (nothing above counted it or changed). */
    if (rc == VEIL_EAGAIN && t != NULL)
        return VEIL_FORWARD_HELD;
    if (rc >= 0 && sent != NULL)
        (*sent)++;
    if (rc < 0) {
        node->stats.handler_errors++;
        veil_log(VEIL_LOG_WARN, "node", "worker '%s' failed to forward a frame: %s (%s)",
                 ctx->addrs[0].bytes, veil_strerror(rc), veil_last_error());
    }
    return 1;
}
