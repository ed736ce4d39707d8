/* veil — messages.
 *
 * A message carries an onward route, a return route, a payload and
 * node-local information that never leaves the node (which secure channel a
 * message came through and the peer's identifier).  Messages and payload
 * buffers come from per-node pools: in steady state no message costs a
 * malloc.  A veil_message belongs to exactly one owner at a time: the
 * runtime while it is queued, a worker's handler while it runs, the
 * application after veil_ctx_receive(). */
#ifndef VEIL_MESSAGE_H
#define VEIL_MESSAGE_H

#include <veil/common.h>
#include <veil/address.h>

VEIL_BEGIN_DECLS

#define VEIL_PAYLOAD_MAX (1u << 20)       /* hard cap on one payload */
#define VEIL_IDENTIFIER_TEXT_MAX 72u      /* "P" + 64 hex + NUL, with room */

typedef struct veil_message veil_message;

/* Node-local metadata: where a message came from.  It never leaves the
 * node and travels with the message object across local forwards
 * (veil_ctx_forward*, veil_ctx_reply_message).  docs/ARCHITECTURE.md,
 * "Node-local information", says who sets what. */
typedef struct veil_local_info {
    /* The small fields first: the router reads them for every delivery,
     * and there they share the message's first cache line (issue #12
     * reordered the struct and appended `connection`; its layout is not
     * ABI-stable yet). */
    bool via_channel;                          /* came out of a secure channel */
    /* Set by the runtime when a transport hands the message in
     * (veil_node_deliver); cleared when a secure channel decrypts it (it
     * then comes from the channel's authenticated peer).  Only
     * network-facing addresses take such messages (veil/access.h). */
    bool from_transport;
    /* Set by the layer that made the message when its flow control
     * admitted it to the first hop (a secure channel's allowed workers or
     * reply path): the "local only" access control accepts it there.  The
     * router clears it at that delivery, so it never travels further. */
    bool admitted;
    uint8_t transport_type;                    /* the delivering transport's address type */
    veil_address channel;                      /* that channel's local address */
    char peer_identifier[VEIL_IDENTIFIER_TEXT_MAX]; /* authenticated peer */
    /* Meaningful only while from_transport is set: the connection a
     * transport delivered it over (the first address of its return route
     * then; len 0: none).  Last, so wiping what a channel put here leaves
     * it alone. */
    veil_address connection;
} veil_local_info;

/* A fresh message from the node's pool (empty routes and payload).  For
 * transports and channels that build messages; applications use
 * veil_ctx_send().  Must be used on the node's thread. */
VEIL_EXPORT int veil_message_new(veil_node *node, veil_message **out) VEIL_WUR;
/* Return a message to its pool (NULL is ignored). */
VEIL_EXPORT void veil_message_free(veil_message *m);

VEIL_EXPORT veil_route *veil_message_onward(veil_message *m);
VEIL_EXPORT veil_route *veil_message_return(veil_message *m);
VEIL_EXPORT const veil_route *veil_message_onward_const(const veil_message *m);
VEIL_EXPORT const veil_route *veil_message_return_const(const veil_message *m);

VEIL_EXPORT const uint8_t *veil_message_payload(const veil_message *m, size_t *len);
/* Writable payload view (same bytes). */
VEIL_EXPORT uint8_t *veil_message_payload_mut(veil_message *m, size_t *len);
/* Replace the payload with a copy of data (VEIL_ELIMIT past VEIL_PAYLOAD_MAX). */
VEIL_EXPORT int veil_message_set_payload(veil_message *m, const void *data,
                                         size_t len) VEIL_WUR;
/* Resize in place keeping the first min(old,new) bytes; *data gets the
 * (possibly moved) buffer.  Uses the pool; never a malloc in steady state. */
VEIL_EXPORT int veil_message_resize_payload(veil_message *m, size_t len,
                                            uint8_t **data) VEIL_WUR;

VEIL_EXPORT const veil_local_info *veil_message_local_info(const veil_message *m);
/* Replace the local info.  Clearing from_transport makes the caller vouch
 * for a message that came from the network (a relay feeding it into a
 * secure channel: the far end will attribute it to this node). */
VEIL_EXPORT void veil_message_set_local_info(veil_message *m,
                                             const veil_local_info *info);

VEIL_END_DECLS
#endif
