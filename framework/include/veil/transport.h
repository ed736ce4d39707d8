/* veil — transports.  A transport plugin instance is bound to a node,
 * registers its address type with the router (veil_node_register_transport)
 * and receives every message whose next hop has that type.  A send whose
 * first hop is a transport address reaches the transport synchronously, so
 * the sender's call returns the transport's error (docs/ARCHITECTURE.md,
 * "Transports"). */
#ifndef VEIL_TRANSPORT_H
#define VEIL_TRANSPORT_H

#include <veil/common.h>
#include <veil/config.h>
#include <veil/address.h>
#include <veil/node.h>

VEIL_BEGIN_DECLS

struct veil_transport_stats;

/* One connection of a transport, for veil_node_transport_connections. */
typedef struct veil_transport_conn_info {
    const veil_address *peer;  /* what routes use for it, e.g. 1#127.0.0.1:4001 */
    const char *state;         /* "resolving", "connecting", "open" or "closing" */
    bool inbound;              /* accepted (true) or dialed */
} veil_transport_conn_info;
/* Called once per connection; info is valid during the call only.  It must
 * not call into the transport. */
typedef void (*veil_transport_conn_fn)(const veil_transport_conn_info *info, void *arg);

typedef struct veil_transport_ops {
    size_t size;                      /* sizeof(veil_transport_ops) */
    uint8_t address_type;             /* e.g. VEIL_ADDRESS_TYPE_TCP */
    int (*instance_new)(void *plugin_state, veil_node *node,
                        const veil_config_scope *scope, void **inst);
    void (*instance_free)(void *inst);
    /* Listen on "host:port" (port 0: any); *bound gets the real address. */
    int (*listen)(void *inst, const char *where, veil_address *bound);
    /* Connect to "host:port"; *peer gets the address to route through. */
    int (*connect)(void *inst, const char *where, veil_address *peer);
    /* Appended (optional; check size): counters for tests and benchmarks. */
    int (*stats)(void *inst, struct veil_transport_stats *out);
    /* Appended (optional; check size): call fn for each connection. */
    int (*connections)(void *inst, veil_transport_conn_fn fn, void *arg);
    /* Appended (optional; check size; ABI 4.6): close the connection that
     * routes know as peer as if it had failed (route-lost subscribers are
     * told VEIL_ETIMEDOUT with why), but only when nothing came in on it for
     * quiet_ms (0: whatever came).  1 dropped, 0 kept (it carried something
     * within quiet_ms), VEIL_ENOTFOUND when there is no such connection. */
    int (*drop)(void *inst, const veil_address *peer, uint64_t quiet_ms, const char *why);
} veil_transport_ops;

/* Counters a transport keeps (docs/PLUGINS.md, "The tcp transport"). */
typedef struct veil_transport_stats {
    size_t size;                   /* sizeof(veil_transport_stats) */
    uint64_t connections_open;     /* now */
    uint64_t connections_accepted; /* since start */
    uint64_t connections_dialed;
    uint64_t connections_closed;   /* for any reason */
    uint64_t frames_sent;
    uint64_t frames_received;
    uint64_t bytes_sent;
    uint64_t bytes_received;
    uint64_t writes;               /* send() calls that wrote bytes */
    uint64_t queue_full;           /* sends refused with VEIL_EAGAIN */
    uint64_t queued_bytes;         /* waiting in send queues now */
    uint64_t queued_bytes_peak;    /* most bytes one connection ever queued */
    uint64_t buffer_bytes;         /* connection buffers allocated now */
    uint64_t buffer_allocs;        /* connection buffer (re)allocations */
    uint64_t frames_rejected;      /* oversize or malformed: connection closed */
    uint64_t timeouts;             /* connect, incomplete-frame or held-frame timeouts */
    /* Appended (check size): incoming frames not yet complete. */
    uint64_t partial_frame_bytes;  /* their bytes received and held now */
    uint64_t partial_frame_memory; /* receive buffers beyond each connection's
                                    * first 16 KiB now (bounded by the tcp
                                    * transport's partial_frame_budget) */
    uint64_t partial_frame_memory_peak;
    uint64_t partial_frame_evictions; /* connections closed: budget exhausted */
    uint64_t partial_frame_reclaims;  /* idle grown buffers freed for the budget */
} veil_transport_stats;

/* ---- using a transport (framework/core/transport.c) --------------------
 * NAME is the transport's name: its section is [transport.NAME].  When the
 * configuration has no such section with a `plugin` key, the plugin NAME
 * is loaded with built-in defaults on first use.  Transports configured
 * with `plugin = ...` are started when the node is created. */

/* Make sure the transport is loaded and registered with the router (so
 * routes through its address type work without listen/connect). */
VEIL_EXPORT int veil_node_transport_start(veil_node *node, const char *name) VEIL_WUR;
/* Listen on `where` ("127.0.0.1:0", "[::1]:4000", ...); *bound gets the
 * real address, e.g. "1#127.0.0.1:43121" (may be NULL). */
VEIL_EXPORT int veil_node_transport_listen(veil_node *node, const char *name,
                                           const char *where,
                                           veil_address *bound) VEIL_WUR;
/* Connect to `where`; *peer gets the address to put in routes (may be
 * NULL).  Waits for the outcome (running the loop) unless called from a
 * handler or callback, where it returns at once with the connection
 * pending. */
VEIL_EXPORT int veil_node_transport_connect(veil_node *node, const char *name,
                                            const char *where,
                                            veil_address *peer) VEIL_WUR;
/* Connect to peer (a transport address, e.g. 1#127.0.0.1:4000) with the
 * started transport of its address type, as veil_node_transport_connect
 * does (an existing connection is kept; from inside the loop the dial goes
 * on in the background).  What re-dials a lost first hop without
 * auto_connect.  VEIL_ENOROUTE when no started transport has that type,
 * VEIL_EINVAL for a local address, else the transport's error. */
VEIL_EXPORT int veil_node_transport_dial(veil_node *node, const veil_address *peer) VEIL_WUR;
/* Drop the connection to peer (a transport address) when nothing came in
 * on it for quiet_ms (0: at once), as if it had failed: its route-lost
 * subscribers (every channel over it) are told VEIL_ETIMEDOUT with why, and
 * the next dial opens a new connection.  What a resilient channel does when
 * its peer is silent behind a connection that stays up (docs/ARCHITECTURE.md,
 * "Channels that heal").  1 dropped, 0 kept (something came within
 * quiet_ms), VEIL_ENOTFOUND when there is no such connection,
 * VEIL_EUNSUPPORTED when its transport has no drop op (before ABI 4.6),
 * VEIL_ENOROUTE when no started transport has that type. */
VEIL_EXPORT int veil_node_transport_drop(veil_node *node, const veil_address *peer,
                                         uint64_t quiet_ms, const char *why) VEIL_WUR;
/* VEIL_EUNSUPPORTED when the transport keeps no counters. */
VEIL_EXPORT int veil_node_transport_stats(veil_node *node, const char *name,
                                          veil_transport_stats *out) VEIL_WUR;
/* Call fn for each connection of the transport NAME (node thread; what
 * `veil connection list` shows).  VEIL_EUNSUPPORTED when the transport
 * cannot list them. */
VEIL_EXPORT int veil_node_transport_connections(veil_node *node, const char *name,
                                                veil_transport_conn_fn fn, void *arg) VEIL_WUR;

/* ---- lost routes --------------------------------------------------------
 * A transport reports a connection that went away (closed, reset, refused,
 * timed out, oversize frame, ...): peer is the address routes used for it,
 * reason a VEIL_E* code, detail the logged reason.  Subscribers (e.g.
 * secure channels over that connection) are called at once, on the node's
 * thread; they may send and stop workers.  Not called while the node
 * stops. */
typedef void (*veil_route_lost_fn)(veil_node *node, const veil_address *peer,
                                   int reason, const char *detail, void *arg);
VEIL_EXPORT int veil_node_on_route_lost(veil_node *node, veil_route_lost_fn fn,
                                        void *arg) VEIL_WUR;
/* Remove the subscription (fn, arg); safe from inside a notification. */
VEIL_EXPORT void veil_node_off_route_lost(veil_node *node, veil_route_lost_fn fn,
                                          void *arg);
/* For transports: tell every subscriber. */
VEIL_EXPORT void veil_node_route_lost(veil_node *node, const veil_address *peer,
                                      int reason, const char *detail);

/* ---- flushing before the loop sleeps ------------------------------------
 * fn runs once per loop iteration after the round's messages were
 * dispatched and before the loop polls for I/O: a transport writes the
 * frames a round queued with one send() per connection here. */
typedef void (*veil_prepoll_fn)(veil_node *node, void *arg);
VEIL_EXPORT int veil_node_prepoll_add(veil_node *node, veil_prepoll_fn fn,
                                      void *arg) VEIL_WUR;
VEIL_EXPORT void veil_node_prepoll_remove(veil_node *node, veil_prepoll_fn fn,
                                          void *arg);

VEIL_END_DECLS
#endif
