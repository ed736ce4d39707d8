/* Private layout of the node runtime, shared by loop.c, pool.c, message.c,
 * router.c, context.c, post.c and node.c.  Not installed.
 *
 * Threading: everything here belongs to the node's thread, except the
 * post queue (struct veil_post_queue), which is guarded by its mutex. */
#ifndef VEIL_RUNTIME_H
#define VEIL_RUNTIME_H

#include <veil/node.h>
#include <veil/config.h>
#include <veil/plugin.h>

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "pool.h"

#define VEIL_RT_HIDDEN __attribute__((visibility("hidden")))

/* ---- messages --------------------------------------------------------- */

struct veil_message {
    veil_message *next;          /* delivery queue / mailbox / freelist link */
    veil_message *all_prev;      /* every live message object of the node */
    veil_message *all_next;
    veil_node *node;
    uint8_t *payload;            /* pool buffer or NULL when cap == 0 */
    size_t len;
    size_t cap;
    uint8_t onward_idx;          /* routes[onward_idx] is onward; swap = flip */
    veil_local_info info;
    veil_route routes[2];
};

/* ---- event loop ------------------------------------------------------- */

struct veil_watch {
    veil_node *node;
    int fd;
    uint32_t events;
    bool removed;
    veil_watch_fn fn;
    void *arg;
    veil_watch *prev, *next;     /* loop's list of live watches */
    veil_watch *next_dead;
};

struct veil_timer {
    veil_node *node;
    uint64_t due_ms;
    uint64_t seq;                /* FIFO among equal due times */
    size_t heap_idx;
    bool firing;                 /* callback running: freed when it returns */
    bool cancelled;
    veil_timer_fn fn;
    void *arg;
};

typedef struct veil_loop {
    int epfd;
    int wakefd;                  /* eventfd: cross-thread wakeups */
    veil_watch *wake_watch;
    uint64_t now_ms;
    uint64_t timer_seq;
    veil_timer **heap;
    size_t heap_len, heap_cap;
    veil_watch *dead_watches;    /* removed while dispatching; freed later */
    veil_watch *watches;         /* live watches (freed at node stop) */
    size_t nwatches;
} veil_loop;

/* ---- contexts and workers -------------------------------------------- */

enum veil_ctx_kind { VEIL_CTX_MAILBOX = 1, VEIL_CTX_WORKER = 2 };

struct veil_context {
    veil_node *node;
    int kind;
    bool is_app;                 /* the node's own "app" context */
    bool stopping;
    veil_address *addrs;         /* addrs[0] is the primary address */
    size_t naddrs;
    veil_worker_ops ops;         /* workers */
    void *state;
    veil_message *mbox_head;     /* mailbox contexts */
    veil_message *mbox_tail;
    size_t mbox_len;
    veil_context *prev, *next;   /* node's context list (start order) */
    veil_context *next_dead;
};

/* ---- router ----------------------------------------------------------- */

typedef struct veil_route_slot {
    const veil_address *addr;    /* NULL: empty; TOMBSTONE: deleted */
    veil_context *ctx;
    uint32_t hash;
    uint32_t flags;              /* VEIL_RT_* */
} veil_route_slot;

/* Address flags.  LOCAL_ONLY: messages a transport delivered (local info
 * from_transport) are dropped at delivery, counted and logged, and never
 * reach the handler; everything made on this node is delivered. */
#define VEIL_RT_LOCAL_ONLY 0x1u
/* Sources of refused messages already logged (a small ring per node). */
#define VEIL_RT_REFUSED_LOGGED 16u

typedef struct veil_transport_slot {
    veil_route_fn fn;
    void *arg;
} veil_transport_slot;

typedef struct veil_router {
    veil_route_slot *slots;
    size_t cap;                  /* power of two */
    size_t used;                 /* live + tombstones */
    size_t live;
    veil_transport_slot transports[256];
    veil_message *q_head, *q_tail;
    size_t q_len;
    uint32_t refused_src[VEIL_RT_REFUSED_LOGGED]; /* hashes of logged sources */
    unsigned refused_next;
} veil_router;

/* ---- cross-thread post queue ----------------------------------------- */

typedef struct veil_post_item veil_post_item;

typedef struct veil_post_queue {
    pthread_mutex_t mu;
    veil_post_item *head, *tail;
    size_t len;
    bool signalled;              /* eventfd written, not yet drained */
    veil_post_item *free[VEIL_POOL_CLASSES];
    size_t nfree;
} veil_post_queue;

/* ---- plugins the node owns ------------------------------------------ */

typedef struct veil_node_plugin_slot {
    char *section;
    int kind;
    veil_plugin *plugin;
} veil_node_plugin_slot;

/* ---- the node --------------------------------------------------------- */

struct veil_node_ext;            /* node_extension.c */

typedef struct veil_node_limits {
    size_t max_payload;
    size_t queue_limit;
    size_t pool_messages;
    size_t pool_cache_bytes;
} veil_node_limits;

struct veil_node {
    veil_config *config;
    veil_node_limits limits;
    veil_loop loop;
    veil_pool pool;
    veil_router router;
    veil_post_queue post;
    veil_context *app;
    veil_context *ctx_head, *ctx_tail;
    veil_context *dead_ctxs;     /* freed when dispatching ends */
    int dispatch_depth;          /* >0: inside a handler or callback */
    veil_message *current_msg;   /* message the running handler was given */
    veil_message *live_msgs;     /* messages handed out and not yet freed */
    /* veil_node_interrupt, async-signal-safe: set by a signal handler or
     * a callback, consumed by veil_node_run. */
    volatile sig_atomic_t interrupted;
    bool stopping;
    bool stopped;                /* veil_node_stop ran: nothing runs any more */
    veil_node_stats stats;
    veil_node_plugin_slot *plugins;
    size_t nplugins;
    struct veil_transports *transports; /* transport.c; NULL until used */
    struct veil_node_ext *exts;  /* upper layers' and plugins' state (node.h) */
    size_t nexts, exts_cap;
};

/* loop.c */
VEIL_RT_HIDDEN int veil__loop_init(veil_node *node);
VEIL_RT_HIDDEN void veil__loop_fini(veil_node *node);
VEIL_RT_HIDDEN uint64_t veil__loop_refresh_now(veil_node *node);
/* Poll fds for at most timeout_ms (-1: forever) and run due timers. */
VEIL_RT_HIDDEN int veil__loop_poll(veil_node *node, int timeout_ms);
VEIL_RT_HIDDEN void veil__loop_reap(veil_node *node);
/* Write the eventfd (async-signal-safe: one write). */
VEIL_RT_HIDDEN void veil__loop_wake(veil_node *node);
/* How long a poll may wait now: 0 when messages are queued, until the
 * next timer, -1 when there is none. */
VEIL_RT_HIDDEN int veil__loop_next_timeout(veil_node *node);

/* router.c */
VEIL_RT_HIDDEN int veil__router_init(veil_node *node);
VEIL_RT_HIDDEN void veil__router_fini(veil_node *node);
VEIL_RT_HIDDEN int veil__router_add(veil_node *node, const veil_address *a,
                                    veil_context *ctx);
VEIL_RT_HIDDEN void veil__router_remove(veil_node *node, const veil_address *a);
VEIL_RT_HIDDEN veil_context *veil__router_lookup(const veil_node *node,
                                                 const uint8_t *bytes, size_t len);
/* Set the VEIL_RT_* flags of a registered address (VEIL_ENOTFOUND). */
VEIL_RT_HIDDEN int veil__router_set_flags(veil_node *node, const veil_address *a,
                                          uint32_t flags);
/* Check the first hop of msg, then queue it; frees msg on error. */
VEIL_RT_HIDDEN int veil__router_send(veil_node *node, veil_message *msg);
/* Queue without the first-hop check (dropped and counted at dispatch). */
VEIL_RT_HIDDEN int veil__router_enqueue(veil_node *node, veil_message *msg);
/* Deliver the messages queued when the call began; returns how many. */
VEIL_RT_HIDDEN size_t veil__router_dispatch(veil_node *node);
VEIL_RT_HIDDEN void veil__router_drop_queue(veil_node *node);

/* context.c */
VEIL_RT_HIDDEN int veil__ctx_new(veil_node *node, int kind, const veil_address *addrs,
                                 size_t n, veil_context **out);
VEIL_RT_HIDDEN void veil__ctx_destroy(veil_context *ctx);
VEIL_RT_HIDDEN void veil__ctx_mailbox_push(veil_context *ctx, veil_message *msg);
VEIL_RT_HIDDEN void veil__ctx_reap(veil_node *node);
VEIL_RT_HIDDEN void veil__ctx_stop_all(veil_node *node);

/* message.c */
VEIL_RT_HIDDEN void veil__message_release_all(veil_node *node);

/* post.c */
VEIL_RT_HIDDEN int veil__post_init(veil_node *node);
VEIL_RT_HIDDEN void veil__post_fini(veil_node *node);
VEIL_RT_HIDDEN void veil__post_drain(veil_node *node);

/* node.c */
VEIL_RT_HIDDEN int veil__node_check_running(const veil_node *node);

/* node_extension.c: destroy every extension, newest first (node stop,
 * after the workers stopped). */
VEIL_RT_HIDDEN void veil__node_extensions_fini(veil_node *node);

/* transport.c: instances of configured transports (at node creation),
 * their teardown (at node stop, before plugins unload), prepoll hooks. */
VEIL_RT_HIDDEN int veil__transports_init(veil_node *node);
VEIL_RT_HIDDEN void veil__transports_fini(veil_node *node);
VEIL_RT_HIDDEN void veil__transports_prepoll(veil_node *node);

#endif
