/* veil — node runtime: event loop, workers, contexts, router.
 *
 * A node is single-threaded: every call below except veil_node_post() must
 * be made on the thread that created it.  Sending enqueues; messages are
 * delivered as the loop runs, which happens inside veil_ctx_receive(),
 * veil_node_run() and the blocking helpers of secure channels.
 *
 * Mirrors Ockam's Context API:
 *   veil_node_new(&node, &ctx, NULL);
 *   veil_ctx_start_worker(ctx, "echoer", &echoer_ops, NULL);
 *   veil_ctx_send(ctx, &route, "Hello Ockam!", 12);
 *   veil_ctx_receive(ctx, &msg, 1000);
 *   veil_node_free(node);
 */
#ifndef VEIL_NODE_H
#define VEIL_NODE_H

#include <veil/common.h>
#include <veil/address.h>
#include <veil/message.h>
#include <veil/access.h>

VEIL_BEGIN_DECLS


typedef struct veil_node_options {
    size_t size;              /* sizeof(veil_node_options) */
    /* Configuration: an explicit object (the node keeps its own copy), else a
     * file path, else $VEIL_CONF, else built-in defaults. */
    const veil_config *config;
    const char *config_path;
} veil_node_options;

/* Create a node and the application's context (address "app").  Loads every
 * plugin the configuration names; any failure fails creation (fail closed)
 * with the plugin's error. */
VEIL_EXPORT int veil_node_new(veil_node **node, veil_context **app,
                              const veil_node_options *opts) VEIL_WUR;
/* Stop every worker (their stop ops run), the channel and identity layers
 * and the transports; queued messages are dropped and every context of the
 * node is gone (including the application's).  The node stays allocated:
 * its configuration, statistics and the messages the caller holds stay
 * readable until veil_node_free, and running its loop fails with
 * VEIL_ESTOPPED.  Idempotent; NULL ok.
 * VEIL_ESTATE from inside a handler or callback, including the stop ops
 * and callbacks the stop itself runs (use veil_node_interrupt there). */
VEIL_EXPORT int veil_node_stop(veil_node *node);
/* veil_node_stop if it has not run, then unload plugins and free
 * everything.  Contexts and messages of this node are invalid afterwards.
 * NULL ok; VEIL_ESTATE from inside a handler. */
VEIL_EXPORT int veil_node_free(veil_node *node);
/* Run the loop until timeout_ms passes (-1: until veil_node_interrupt). */
VEIL_EXPORT int veil_node_run(veil_node *node, int timeout_ms) VEIL_WUR;
/* One loop iteration: deliver queued messages, poll fds (waiting at most
 * timeout_ms when nothing is queued), run due timers. */
VEIL_EXPORT int veil_node_run_once(veil_node *node, int timeout_ms) VEIL_WUR;
/* Make veil_node_run() return: the running one, or else the next one (at
 * once: an interrupt is not lost when it comes just before the call).
 * Async-signal-safe: it only stores to a sig_atomic_t flag and writes the
 * loop's eventfd (errno is preserved), so a SIGINT/SIGTERM handler may call
 * it, from any thread; so may handlers and callbacks.  The node must stay
 * allocated while a handler may call it: clear the pointer the signal
 * handler reads (or block the signal) before veil_node_free. */
VEIL_EXPORT void veil_node_interrupt(veil_node *node);

/* ---- embedding in another event loop (docs/ARCHITECTURE.md,
 * "Embedding") ----------------------------------------------------------
 * An application with its own loop (libevent, libuv, glib) drives a node
 * without veil_node_run: it polls veil_node_fd for reading, wakes after
 * veil_node_next_timeout milliseconds at the latest, and on either calls
 * veil_node_run_once(node, 0); after that call, and after any call into
 * the node from outside the loop (a send, an open), it asks for the
 * timeout again.  Node thread only. */
/* A file descriptor that is readable whenever the node has fd or wakeup
 * (veil_node_post, veil_node_interrupt) work: the loop's epoll instance.
 * Poll it for reading, level-triggered; never read or close it.  -1 once
 * the node stopped. */
VEIL_EXPORT int veil_node_fd(const veil_node *node);
/* Milliseconds until the node needs veil_node_run_once even if its fd
 * stays quiet: 0 when messages are queued, the time to the next timer,
 * -1 when there is none (wait on the fd alone) or the node stopped. */
VEIL_EXPORT int veil_node_next_timeout(veil_node *node);
VEIL_EXPORT const veil_config *veil_node_config(const veil_node *node);
/* The node's application context (address "app"; veil_node_new hands it
 * out too): what code holding only the node starts workers from. */
VEIL_EXPORT veil_context *veil_node_context(veil_node *node);
/* Messages queued for delivery now.  Code that runs rounds itself
 * (veil_node_run_once) polls without waiting while some are. */
VEIL_EXPORT size_t veil_node_pending(const veil_node *node);

/* Thread-safe: enqueue a message from any thread; it is sent from `from`
 * (may be NULL: empty return route) when the node's loop next runs. */
VEIL_EXPORT int veil_node_post(veil_node *node, const veil_address *from,
                               const veil_route *route, const void *data,
                               size_t len) VEIL_WUR;

/* Statistics, for tests and benchmarks. */
typedef struct veil_node_stats {
    uint64_t delivered;        /* messages handed to a worker or mailbox */
    uint64_t dropped_noroute;  /* messages dropped: next hop unknown */
    uint64_t handler_errors;   /* handle_message returned < 0 */
    uint64_t message_allocs;   /* pool misses that called malloc (messages) */
    uint64_t buffer_allocs;    /* pool misses that called malloc (payloads) */
    /* Refused by flow control: a transport delivered it for an address that
     * is neither network-facing nor a reply path (veil/access.h). */
    uint64_t dropped_local_only;
    /* Every message refused by access or flow control at delivery (the
     * above included) or by the relay rule: veil/access.h. */
    uint64_t dropped_access;
} veil_node_stats;
VEIL_EXPORT void veil_node_get_stats(const veil_node *node, veil_node_stats *out);

/* ---- workers ---------------------------------------------------------- */

typedef struct veil_worker_ops {
    size_t size;  /* sizeof(veil_worker_ops): lets the table grow */
    /* Optional; called once after the addresses are registered.  A negative
     * return aborts the start. */
    int (*start)(veil_context *ctx, void *state);
    /* Required.  msg is owned by the runtime and freed after the call unless
     * the handler passed it on (veil_ctx_forward / veil_ctx_reply_message).
     * msg's onward route still begins with the address it was sent to.  A
     * negative return is logged and counted; the node keeps running. */
    int (*handle_message)(veil_context *ctx, void *state, veil_message *msg);
    /* Optional; called when the worker stops (explicitly or at node stop).
     * The place to free state. */
    void (*stop)(veil_context *ctx, void *state);
} veil_worker_ops;

/* Start a worker at one local address (text form, e.g. "echoer"). */
VEIL_EXPORT int veil_ctx_start_worker(veil_context *ctx, const char *address,
                                      const veil_worker_ops *ops,
                                      void *state) VEIL_WUR;
/* Start a worker owning several addresses (all local). */
VEIL_EXPORT int veil_ctx_start_worker_addrs(veil_context *ctx,
                                            const veil_address *addrs, size_t n,
                                            const veil_worker_ops *ops,
                                            void *state) VEIL_WUR;
/* Stop the worker that owns address (all its addresses go). */
VEIL_EXPORT int veil_ctx_stop_worker(veil_context *ctx, const char *address) VEIL_WUR;
/* The state of the running worker that owns address a, if its ops have
 * this handle_message; NULL otherwise (no worker there, a mailbox, another
 * kind of worker, or one stopping).  How a layer finds its own workers by
 * address without keeping a table of them. */
VEIL_EXPORT void *veil_node_worker_state(const veil_node *node, const veil_address *a,
                                         const veil_worker_ops *ops);

/* ---- contexts --------------------------------------------------------- */

/* The context's primary address (a worker's first address). */
VEIL_EXPORT const veil_address *veil_ctx_address(const veil_context *ctx);
/* Every address the context owns, the primary one first; *n gets how many.
 * Valid while the context lives. */
VEIL_EXPORT const veil_address *veil_ctx_addresses(const veil_context *ctx, size_t *n);
/* Guard address a, which ctx owns, with the "local senders" access control
 * (veil/access.h): messages a transport delivered there (local info
 * from_transport) are dropped before any handler runs, counted and logged
 * (docs/ARCHITECTURE.md, "Access control").  VEIL_ENOTFOUND when ctx does
 * not own a. */
VEIL_EXPORT int veil_ctx_set_local_only(veil_context *ctx, const veil_address *a) VEIL_WUR;
/* Pause the context's primary address: while rc is negative, a send whose
 * first hop is that address fails at the sender with rc (nothing is
 * queued); 0 takes messages again.  Its other addresses are not affected.
 * A worker that cannot carry messages for a while (a secure channel that
 * is reconnecting: VEIL_EAGAIN) refuses them up front instead of dropping
 * them after the sender was told they were sent.  VEIL_EINVAL. */
VEIL_EXPORT int veil_ctx_set_paused(veil_context *ctx, int rc) VEIL_WUR;
VEIL_EXPORT veil_node *veil_ctx_node(veil_context *ctx);
/* A mailbox context at a new address (NULL: random "app_..." address) for
 * application code that wants its own inbox; free with veil_ctx_free. */
VEIL_EXPORT int veil_ctx_new_detached(veil_node *node, const char *address,
                                      veil_context **out) VEIL_WUR;
VEIL_EXPORT void veil_ctx_free(veil_context *ctx);

/* Send data along route with this context's address as the return route.
 * VEIL_ENOROUTE when the first hop is a local address with no worker, or
 * a transport type no plugin registered. */
VEIL_EXPORT int veil_ctx_send(veil_context *ctx, const veil_route *route,
                              const void *data, size_t len) VEIL_WUR;
/* Same, from a given address this context owns. */
VEIL_EXPORT int veil_ctx_send_from(veil_context *ctx, const veil_address *from,
                                   const veil_route *route, const void *data,
                                   size_t len) VEIL_WUR;
/* Send msg as it is (routes untouched); always takes ownership of msg. */
VEIL_EXPORT int veil_ctx_forward(veil_context *ctx, veil_message *msg) VEIL_WUR;
/* Hop helper: drop the first onward address (this worker), put this
 * context's address in front of the return route, forward.  Takes msg. */
VEIL_EXPORT int veil_ctx_forward_next(veil_context *ctx, veil_message *msg) VEIL_WUR;
/* Reply to msg reusing its buffer: onward := msg's return route, return :=
 * [this context], payload := data (NULL keeps the payload).  Takes msg. */
VEIL_EXPORT int veil_ctx_reply_message(veil_context *ctx, veil_message *msg,
                                       const void *data, size_t len) VEIL_WUR;
/* Wait up to timeout_ms (-1: forever) for a message to this context's
 * mailbox, running the loop meanwhile.  *out is the caller's; free with
 * veil_message_free.  VEIL_ETIMEDOUT; VEIL_ESTATE inside a handler. */
VEIL_EXPORT int veil_ctx_receive(veil_context *ctx, veil_message **out,
                                 int timeout_ms) VEIL_WUR;

/* ---- event loop services (plugins use them too: docs/PLUGINS.md) ------ */

#define VEIL_WATCH_READ 0x1u
#define VEIL_WATCH_WRITE 0x2u
#define VEIL_WATCH_ERROR 0x4u   /* reported only */
#define VEIL_WATCH_HUP 0x8u     /* reported only */

typedef struct veil_watch veil_watch;
typedef struct veil_timer veil_timer;
typedef void (*veil_watch_fn)(veil_node *node, int fd, uint32_t events, void *arg);
typedef void (*veil_timer_fn)(veil_node *node, void *arg);

VEIL_EXPORT int veil_node_watch_add(veil_node *node, int fd, uint32_t events,
                                    veil_watch_fn fn, void *arg,
                                    veil_watch **out) VEIL_WUR;
VEIL_EXPORT int veil_node_watch_modify(veil_watch *w, uint32_t events) VEIL_WUR;
/* Safe to call from inside the watch's own callback. */
VEIL_EXPORT void veil_node_watch_remove(veil_watch *w);
/* One-shot timer after delay_ms. Safe to cancel from any callback. */
VEIL_EXPORT int veil_node_timer_add(veil_node *node, uint64_t delay_ms,
                                    veil_timer_fn fn, void *arg,
                                    veil_timer **out) VEIL_WUR;
VEIL_EXPORT void veil_node_timer_cancel(veil_timer *t);
/* Monotonic milliseconds as the loop sees them. */
VEIL_EXPORT uint64_t veil_node_now_ms(const veil_node *node);

/* ---- node extensions ----------------------------------------------------
 * Named per-node state of the layers above the runtime (identities, secure
 * channels) and of plugins, e.g. "veil.channels", "x3dh.prekeys": the
 * runtime keeps the pointer, never interprets it, and runs destroy (if
 * not NULL) when the node stops, after every worker has stopped and before
 * transports and plugins go, newest extension first.  How a layer or a
 * plugin keeps per-node state and is told that the node goes away, without
 * the runtime knowing it (docs/ARCHITECTURE.md, "Per-node state of upper
 * layers").  Node thread only. */
#define VEIL_NODE_EXTENSION_NAME_MAX 63u
typedef void (*veil_node_extension_fn)(veil_node *node, void *data);
/* data must not be NULL.  VEIL_EEXIST when the name is taken, VEIL_ESTOPPED
 * once the node stops. */
VEIL_EXPORT int veil_node_extension_add(veil_node *node, const char *name, void *data,
                                        veil_node_extension_fn destroy) VEIL_WUR;
/* The data added under name, or NULL. */
VEIL_EXPORT void *veil_node_extension_get(const veil_node *node, const char *name);
/* Remove it now, running its destroy.  VEIL_ENOTFOUND. */
VEIL_EXPORT int veil_node_extension_remove(veil_node *node, const char *name);

/* ---- routing for transports ------------------------------------------ */

/* A transport claims an address type; the router hands it every message
 * whose next hop has that type.  route_fn takes ownership of msg. */
typedef int (*veil_route_fn)(void *arg, veil_message *msg);
VEIL_EXPORT int veil_node_register_transport(veil_node *node, uint8_t type,
                                             veil_route_fn fn, void *arg) VEIL_WUR;
VEIL_EXPORT void veil_node_unregister_transport(veil_node *node, uint8_t type);

/* Frame forwarding (docs/ARCHITECTURE.md, "Frame forwarding"): a frame a
 * relaying node only passes on never becomes a message.
 *
 * A transport offers the frame body it received over connection `from`
 * (its own address for the peer) before decoding it into a message.
 * veil_node_forward_frame returns 1 when the node took it (forwarded it,
 * or failed to and counted that in handler_errors), 0 when the caller must
 * deliver it the ordinary way (veil_node_deliver), which then decides
 * about it exactly as it always did: malformed bodies, unknown addresses
 * and everything but the plain forward cases of a network-facing
 * forwarder on a node with [node] relay = true are left to it.  body is
 * only read during the call.
 *
 * VEIL_FORWARD_HELD (2): held, not taken.  The next hop's frame_fn said
 * VEIL_EAGAIN (its send queue is full); nothing was sent, counted or
 * changed.  The caller keeps this frame, stops taking frames (and bytes)
 * from `from` so its sender is pushed back, and offers the same frame
 * again later (when one of its own connections drained, or after a short
 * timer for a next hop of another transport): frames of one connection
 * stay in order.  docs/ARCHITECTURE.md, "Frame forwarding".
 *
 * A transport that registered a frame_fn (after veil_node_register_transport,
 * same arg) is handed the forwarded frame's parts: onward's first address
 * is its own (pop it), payload is borrowed for the call; it returns as its
 * route_fn would.  Without one the node makes a message and routes it. */
#define VEIL_FORWARD_HELD 2
typedef int (*veil_frame_fn)(void *arg, veil_route *onward, const veil_route *ret,
                             const uint8_t *payload, size_t len);
VEIL_EXPORT int veil_node_register_transport_frames(veil_node *node, uint8_t type,
                                                    veil_frame_fn fn) VEIL_WUR;
VEIL_EXPORT int veil_node_forward_frame(veil_node *node, const veil_address *from,
                                        const uint8_t *body, size_t len) VEIL_WUR;
/* Inject a message (e.g. decoded from a socket) into the router; takes msg.
 * Marks it as delivered by a transport (local info from_transport, and
 * transport_type = the type of its return route's first address, which the
 * transport sets to its own hop), so local-only addresses refuse it.
 * Undeliverable messages are dropped, logged and counted. */
VEIL_EXPORT int veil_node_deliver(veil_node *node, veil_message *msg) VEIL_WUR;

VEIL_END_DECLS
#endif
