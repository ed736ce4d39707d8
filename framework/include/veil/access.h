/* veil — incoming access control of workers, and the relay role
 * (docs/ARCHITECTURE.md, "Access control").
 *
 * Every local address has an incoming access control, checked by the
 * router before a message reaches the handler (or the mailbox).  It sees
 * the message's node-local information (veil/message.h): made on this
 * node, delivered by a transport (over which connection), or decrypted by a
 * secure channel (which channel, which authenticated peer).  A refused
 * message is dropped, counted (veil_node_stats.dropped_access), logged
 * once per source with the reason; nothing reaches the handler.
 *
 * Before the control, flow control: a message a transport delivered
 * reaches only network-facing addresses, or an address whose context sent
 * a message over that same connection (its replies).  Secure channels add
 * their own flow control (listener "allowed workers", veil/secure_channel.h).
 *
 * Defaults: every address is "local only" until its owner says otherwise.
 * The core's built-in controls are below; the channel layer adds the
 * identity ones (from channel peers, from identifiers, from this channel,
 * a trust policy: veil/secure_channel.h) through veil_access_control_new. */
#ifndef VEIL_ACCESS_H
#define VEIL_ACCESS_H

#include <veil/common.h>
#include <veil/address.h>
#include <veil/message.h>

VEIL_BEGIN_DECLS

typedef struct veil_access_control veil_access_control;

typedef struct veil_access_control_ops {
    size_t size; /* sizeof(veil_access_control_ops) */
    /* 0 admits; VEIL_EDENIED refuses; anything else refuses too (fail
     * closed).  Runs on the node's thread for every message to an address
     * guarded by it, except messages a transport delivered that flow
     * control refused already: keep it cheap, no allocation, no logging. */
    int (*check)(void *state, const veil_local_info *info);
    /* Optional; runs when the last reference goes. */
    void (*free)(void *state);
} veil_access_control_ops;

/* A control from ops and state; name (copied, shortened to 95 bytes) is
 * what refusals are logged with, e.g. "from identifiers {P1a2b...}".  On
 * failure ops->free(state) has run.  VEIL_EINVAL, VEIL_ENOMEM. */
VEIL_EXPORT int veil_access_control_new(const veil_access_control_ops *ops, void *state,
                                        const char *name,
                                        veil_access_control **out) VEIL_WUR;

/* Built-ins of the core.
 *   local only       messages made on this node, and replies to what this
 *                    address sent (over a transport connection, or through
 *                    a secure channel that admitted the reply): the default
 *   local senders    anything not delivered by a transport (made on this
 *                    node, also by a handler that got it from a secure
 *                    channel); what a secure channel's public address uses
 *   network-facing   everything flow control lets through, including what
 *                    transports deliver: listeners, prekey services, relays,
 *                    workers an application exposes on purpose */
VEIL_EXPORT int veil_access_control_local_only(veil_access_control **out) VEIL_WUR;
VEIL_EXPORT int veil_access_control_local_senders(veil_access_control **out) VEIL_WUR;
VEIL_EXPORT int veil_access_control_network_facing(veil_access_control **out) VEIL_WUR;

/* Check info against ac as the router would (0 / VEIL_EDENIED). */
VEIL_EXPORT int veil_access_control_check(const veil_access_control *ac,
                                          const veil_local_info *info) VEIL_WUR;
VEIL_EXPORT const char *veil_access_control_name(const veil_access_control *ac);
/* Drop the caller's reference (NULL ok). */
VEIL_EXPORT void veil_access_control_free(veil_access_control *ac);

/* Guard address a, which ctx owns (NULL: every address of ctx), with ac.
 * The address takes its own reference: free yours.  VEIL_ENOTFOUND when
 * ctx does not own a, VEIL_EINVAL. */
VEIL_EXPORT int veil_ctx_set_access_control(veil_context *ctx, const veil_address *a,
                                            veil_access_control *ac) VEIL_WUR;
/* Shorthand: make a (NULL: every address of ctx) network-facing. */
VEIL_EXPORT int veil_ctx_set_network_facing(veil_context *ctx, const veil_address *a) VEIL_WUR;

/* ---- the relay role -------------------------------------------------------
 * A node relays only when its configuration says `[node] relay = true`
 * (docs/CONFIG.md).  Otherwise a message that came from another node (a
 * transport delivered it, or a secure channel decrypted it) is never handed
 * to a transport again, except back over the connection it arrived on (a
 * reply): the router refuses it (VEIL_EDENIED to a handler that forwards
 * it, counted in dropped_access, logged once per source).
 *
 * veil_ctx_start_relay starts a hop worker at address on a relaying node
 * (VEIL_EDENIED when [node] relay is off): network-facing; it pops itself
 * off the onward route, pushes itself on the return route and forwards.
 * With vouch_replies, a message a transport delivered over a connection
 * the relay forwarded channel traffic to (what came out of a secure channel
 * of this node), with a local next hop, is passed on as made here (it may
 * then enter this node's secure channels, whose far ends attribute it to
 * this node): what a middle node of a channel in a channel needs. */
typedef struct veil_relay_options {
    size_t size;            /* sizeof(veil_relay_options) */
    bool vouch_replies;
    /* Optional: called with every message before it is forwarded. */
    void (*observe)(void *arg, const veil_message *msg);
    void *arg;
} veil_relay_options;
VEIL_EXPORT int veil_ctx_start_relay(veil_context *ctx, const char *address,
                                     const veil_relay_options *opts) VEIL_WUR;

VEIL_END_DECLS
#endif
