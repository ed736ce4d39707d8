/* Private layout of the node runtime, shared by loop.c, pool.c, message.c,
 * router.c, context.c, post.c and node.c.  Not installed.
 *
 * Threading: everything here belongs to the node's thread, except the
 * post queue (struct veil_post_queue), which is guarded by its mutex. */
#ifndef VEIL_RUNTIME_H
#define VEIL_RUNTIME_H

#include <veil/access.h>
#include <veil/node.h>
#include <veil/config.h>
#include <veil/plugin.h>

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "pool.h"
#include "upper.h"

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
    bool sealed;                 /* payload holds a sealed frame only: freed
                                  * without a wipe (veil__message_sealed) */
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
    /* Transport connections (onward first hops) this context sent over, a
     * small ring made on first use: replies over them pass flow control. */
    veil_address *sent_to;
    unsigned n_sent_to;
    /* Frames passed on without a message (fastpath.c); NULL: none. */
    veil__frame_forward_fn frame_forward;
    /* veil_ctx_set_paused: sends to addrs[0] fail with this (0: accepted) */
    int paused_rc;
};

/* ---- access control (access.c) ---------------------------------------- */

enum veil_ac_kind {
    VEIL_AC_LOCAL_ONLY = 0,      /* the default (a NULL control means it too) */
    VEIL_AC_LOCAL_SENDERS = 1,
    VEIL_AC_NETWORK = 2,
    VEIL_AC_CUSTOM = 3,
};

#define VEIL_AC_NAME_MAX 96u
#define VEIL_CTX_SENT_TO 4u

struct veil_access_control {
    int kind;                    /* veil_ac_kind */
    unsigned refs;               /* custom ones; built-ins are static */
    veil_access_control_ops ops;
    void *state;
    char name[VEIL_AC_NAME_MAX];
};

/* ---- router ----------------------------------------------------------- */

typedef struct veil_route_slot {
    const veil_address *addr;    /* NULL: empty; TOMBSTONE: deleted */
    veil_context *ctx;
    uint32_t hash;
    veil_access_control *access; /* a reference; NULL: local only */
} veil_route_slot;

/* Sources of refused messages already logged (a small ring per node). */
#define VEIL_RT_REFUSED_LOGGED 16u

/* Notices for undeliverable messages (undeliverable.c): per source, a
 * bucket of VEIL_RT_ANSWER_BURST answers refilled one per
 * VEIL_RT_ANSWER_REFILL_MS, in a table of VEIL_RT_ANSWER_SLOTS. */
#define VEIL_RT_ANSWER_SLOTS 64u
#define VEIL_RT_ANSWER_BURST 5u
#define VEIL_RT_ANSWER_REFILL_MS 200u

typedef struct veil_rt_bucket {
    uint32_t hash;
    unsigned tokens;
    uint64_t since;              /* last refill (0: unused) */
} veil_rt_bucket;

typedef struct veil_transport_slot {
    veil_route_fn fn;
    void *arg;
    veil_frame_fn frame_fn;      /* optional: frames the fast path forwards */
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
    veil_rt_bucket answered[VEIL_RT_ANSWER_SLOTS]; /* undeliverable notices sent */
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
    bool relay;                  /* [node] relay */
    bool answer_undeliverable;   /* [node] answer_undeliverable */
    bool stopped;                /* veil_node_stop ran: nothing runs any more */
    unsigned frame_forwarders;   /* workers with a frame_forward (fastpath.c) */
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
/* The slot of a registered address, or NULL. */
VEIL_RT_HIDDEN const veil_route_slot *veil__router_find(const veil_node *node,
                                                       const uint8_t *bytes, size_t len);
/* Guard a registered address with ac (a new reference; the old one is
 * dropped).  VEIL_ENOTFOUND. */
VEIL_RT_HIDDEN int veil__router_set_access(veil_node *node, const veil_address *a,
                                           veil_access_control *ac);
/* Was source hash h logged among the last VEIL_RT_REFUSED_LOGGED?  If not,
 * it is remembered now. */
VEIL_RT_HIDDEN bool veil__router_refused_before(veil_node *node, uint32_t h);
VEIL_RT_HIDDEN uint32_t veil__router_hash(const void *bytes, size_t len);
/* Check the first hop of msg, then queue it; frees msg on error. */
VEIL_RT_HIDDEN int veil__router_send(veil_node *node, veil_message *msg);
/* Queue without the first-hop check (dropped and counted at dispatch). */
VEIL_RT_HIDDEN int veil__router_enqueue(veil_node *node, veil_message *msg);
/* undeliverable.c: msg (still the caller's) found no worker: answer its
 * sender with a notice if [node] answer_undeliverable and the bounds allow. */
VEIL_RT_HIDDEN void veil__undeliverable(veil_node *node, const veil_message *msg);
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

/* access.c */
VEIL_RT_HIDDEN void veil__access_ref(veil_access_control *ac);
/* The slow path of delivery to ctx guarded by ac (NULL: local only): 0 to
 * deliver (local info's admitted cleared), else msg was dropped, counted
 * and logged. */
VEIL_RT_HIDDEN int veil__access_admit(veil_node *node, veil_context *ctx,
                                      const veil_access_control *ac, veil_message *msg);
/* msg from another node is about to go to a transport at onward first hop
 * (type, bytes, len) on a node that does not relay: VEIL_EDENIED when it
 * is not a reply over the connection it came from (msg is then dropped,
 * counted, logged), else 0. */
VEIL_RT_HIDDEN int veil__access_relay(veil_node *node, veil_message *msg, uint8_t type,
                                      const uint8_t *bytes, size_t len);
/* ctx sent msg over a transport at (type, bytes, len): remember it. */
VEIL_RT_HIDDEN void veil__access_sent(veil_context *ctx, uint8_t type, const uint8_t *bytes,
                                      size_t len);

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
