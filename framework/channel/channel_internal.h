/* Secure channels: private layout shared by secure_channel.c (public API,
 * worker ops, lifetimes), channel_listener.c, channel_pending.c (half-open
 * handshake limits), channel_cookie.c, channel_handshake.c,
 * channel_hserr.c, channel_prologue.c, channel_data.c, channel_lost.c,
 * channel_identity.c, channel_frame.c and replay_window.c.  Not installed,
 * not exported.  The frames on the wire: channel_wire.h. */
#ifndef VEIL_CHANNEL_INTERNAL_H
#define VEIL_CHANNEL_INTERNAL_H

#include <veil/entity.h>
#include <veil/key_agreement.h>
#include <veil/node.h>
#include <veil/secure_channel.h>
#include <veil/trust_policy.h>
#include <veil/vault.h>

#include <stdbool.h>
#include <stdint.h>

#include "core/upper.h"
#include "identity/identity_internal.h"

_Static_assert(VEIL_ROUTE_MAX_HOPS < 128u, "a route's count is one varint byte");
#include "core/util.h"

#include "channel_wire.h"

/* ---- anti-replay window ----------------------------------------------- */

#define VEIL_CH_WINDOW_BITS 1024u

typedef struct veil_replay_window {
    uint64_t top;                 /* highest accepted nonce + 1 (0: none) */
    uint64_t bits[VEIL_CH_WINDOW_BITS / 64u];
} veil_replay_window;

enum { VEIL_RW_OK = 0, VEIL_RW_DUPLICATE = 1, VEIL_RW_TOO_OLD = 2 };

VEIL_CH_HIDDEN void veil__rw_init(veil_replay_window *w);
/* Would n be accepted?  Does not change the window. */
VEIL_CH_HIDDEN int veil__rw_check(const veil_replay_window *w, uint64_t n);
/* Record n (after it authenticated); n must have passed check and be below
 * 2^64-1 (reserved; veil__ch_frame_parse refuses it). */
VEIL_CH_HIDDEN void veil__rw_update(veil_replay_window *w, uint64_t n);

/* ---- identity binding (channel_identity.c) ---------------------------- */

typedef struct veil_ch_local {
    veil_secret static_key;       /* the entity's X25519 KA static key */
    uint8_t static_pub[VEIL_X25519_KEY_BYTES];
    uint8_t sig[VEIL_SIGNATURE_BYTES];   /* attestation by the identity key */
    uint64_t expires;             /* the attestation's */
} veil_ch_local;

/* The entity's current KA static key and attestation (made by the entity
 * at create, open and rotate: a rotated entity has a new one). */
VEIL_CH_HIDDEN int veil__ch_local_get(veil_entity *e, veil_ch_local *out);

/* Verify a peer's proof against the KA's remote static key: history,
 * attestation under the history's current key, attested key equal to the
 * remote static; then, always (also when the signatures were verified
 * before and cached), the current key and the attestation against clock:
 * VEIL_EEXPIRED.  Fills *view. */
VEIL_CH_HIDDEN int veil__ch_peer_verify(veil_vault *v, const veil_ch_proof *proof,
                                        const uint8_t *remote_static, size_t remote_len,
                                        const veil_history_clock *clock,
                                        veil_history_view *view);

/* channel_proof.c: this entity's proof (version || attestation of loc's
 * static key || change history), malloc'd into *out. */
VEIL_CH_HIDDEN int veil__ch_proof_make(veil_entity *e, const veil_ch_local *loc, uint8_t **out,
                                       size_t *len);

/* ---- channels --------------------------------------------------------- */

enum {
    VEIL_CH_ST_HANDSHAKE = 1,     /* KA messages in flight */
    VEIL_CH_ST_WAIT_ACCEPT = 2,   /* initiator: sent msg 3, waiting */
    VEIL_CH_ST_OPEN = 3,
    VEIL_CH_ST_FAILED = 4,        /* initiator: its open reports rc/detail */
    VEIL_CH_ST_RECONNECT = 5,     /* resilient initiator: waiting to re-dial */
};

/* A resilient initiator's healing state (channel_heal.c). */
typedef struct veil_ch_heal {
    veil_packed_route *route;     /* the route it was opened with */
    char fallback[160];           /* the key agreement's name for the prologue */
    char peer[VEIL_IDENTIFIER_LEN + 1]; /* the identity it must find again */
    veil_trust_policy *policy;    /* checked again at every heal */
    veil_secure_channel_event_fn on_event;
    void *user;
    veil_timer *timer;            /* the backoff delay */
    uint32_t attempts;            /* failed attempts in this outage */
    bool healing;                 /* lost its peer; not open again yet */
    bool closed_told;
    bool mismatch;                /* another identity answered: no more attempts */
    char last[256];               /* why the last attempt failed */
} veil_ch_heal;

typedef struct veil_ch_settings {
    uint64_t rekey_interval;
    uint64_t handshake_timeout_ms;
    size_t max_message;
    uint32_t max_pending;         /* responders in handshake, per node */
    uint32_t max_pending_listener; /* ... per listener */
    uint32_t cookie_threshold;    /* node's pending count that demands cookies */
    uint32_t max_opening;         /* initiators' handshakes in flight, per node */
    /* keep-alive and healing (channel_alive.c, channel_heal.c) */
    bool resilient;
    uint32_t ping_interval_ms;    /* 0: no keep-alive (unless resilient) */
    uint32_t dead_after_ms;
    uint32_t backoff_min_ms, backoff_max_ms;
    uint32_t max_attempts;        /* 0: never give up */
    uint32_t peer_silence_max_ms; /* responder: cap on a peer's dead_after_ms */
} veil_ch_settings;

struct veil_channel;

/* The pending handshakes, oldest first: an intrusive list through one of
 * the two links of veil_channel (node-wide, per listener). */
typedef struct veil_ch_link {
    struct veil_channel *prev, *next;
} veil_ch_link;

typedef struct veil_ch_list {
    struct veil_channel *head, *tail;
    uint32_t count;
} veil_ch_list;

/* The channel layer's per-node state (channel_node.c), the node extension
 * "veil.channels": the node's running channels (for lost routes), the
 * pending (half-open) responders of all listeners, oldest first
 * (channel_pending.c), and the rate limit of the warnings strangers can
 * cause.  Made on first use (it subscribes to lost routes then), destroyed
 * when the node stops (after every channel and listener has stopped). */
typedef struct veil_ch_node {
    veil_node *node;
    veil_ch_list channels;        /* workers running (in_all) */
    veil_ch_list pending;         /* responders in handshake (in_node) */
    veil_ch_list opens;           /* initiators whose completion is owed (in_opens) */
    veil_ch_list queued;          /* initiators waiting to send HS1 (in_node; channel_pace.c) */
    uint32_t opening;             /* initiators' handshakes in flight */
    uint32_t max_opening;
    bool pumping;                 /* channel_pace.c is starting queued ones */
    uint32_t max_pending;
    uint32_t cookie_threshold;
    veil_ratelimit log;
    /* veil_secure_channel_on_close subscribers (channel_closed.c) */
    struct veil_ch_closesub *closesubs;
    size_t nclosesubs;
    unsigned notifying;           /* notifications running (removal is deferred) */
} veil_ch_node;

/* Flow control (channel_flow.c): the local addresses a channel's peer may
 * reach besides the reply path. */
#define VEIL_CH_ALLOW_MAX 32u
#define VEIL_CH_SENDERS 4u
typedef struct veil_ch_allow {
    size_t n;
    veil_address addr[VEIL_CH_ALLOW_MAX];
} veil_ch_allow;

typedef struct veil_ch_sender {
    char *bytes;                  /* a local address that sent through the channel */
    size_t len;
} veil_ch_sender;

/* A listener and what its responders share (refcounted: each responder
 * holds a reference, so the policy and KA instance outlive the listener
 * worker if responders are still alive). */
typedef struct veil_ch_listener {
    unsigned refs;
    veil_entity *entity;
    veil_trust_policy *policy;
    const veil_key_agreement_ops *ka;
    void *ka_inst;
    veil_ch_settings set;
    veil_context *ctx;
    char name[VEIL_ADDRESS_MAX + 1]; /* its address, for logs after it stopped */
    void *ka_listener;            /* the key agreement's listener_start handle */
    veil_ch_node *shared;
    veil_ch_list pending;         /* its responders in handshake */
    veil_secret cookie_key[2];    /* current, previous (0: none yet) */
    uint64_t cookie_since_ms;
    uint8_t *prologue;            /* the responders' handshake prologue */
    size_t prologue_len;
    veil_listener_stats stats;
    veil_ch_allow *allowed;       /* its channels' allowed workers (NULL: none) */
    veil_secure_channel_listener_options opts; /* callbacks (zeroed: none) */
    char protocol[VEIL_KA_PROTOCOL_NAME_MAX + 1]; /* the key agreement's */
} veil_ch_listener;

/* A channel's local addresses: prefix + 16 hex digits (veil_address_random):
 * "sc_…" (public), "scp_…" (the peer's). */
#define VEIL_CH_NAME_MAX 24u

typedef struct veil_channel {
    veil_node *node;
    veil_ch_node *shared;         /* the node's channel state */
    veil_context *ctx;
    /* The worker's addresses (valid while ctx is): the public one
     * applications route through, and the one the peer's channel sends to. */
    const veil_address *addr, *peer_addr;
    veil_ch_link in_all;          /* shared->channels, while the worker runs */
    veil_entity *entity;
    veil_vault *vault;
    const veil_key_agreement_ops *ka;
    void *ka_inst;                /* owned by the initiator; listener's otherwise */
    veil_ch_listener *listener;   /* responders only (a reference) */
    veil_trust_policy *policy;    /* initiator's own until the handshake ends */
    int role;                     /* veil_ka_role */
    int state;
    /* Lifetime: the struct is freed when the last reference goes: the
     * worker's (dropped when it stops), the open's until its completion ran, and one
     * per running handler or callback.  After the worker stopped (stopped)
     * only the struct remains valid: ctx is gone after the round. */
    unsigned refs;
    bool stopping;                /* stop requested */
    bool stopped;                 /* the worker's stop op ran */
    bool waiting;                 /* initiator: its open's completion is owed */
    /* handshake only */
    void *session;
    veil_timer *timer;
    int result;                   /* initiator: the open's result code */
    char *detail;                 /* ... and its detail */
    /* initiator: the open's completion (channel_open.c) */
    veil_secure_channel_open_fn open_done;
    void *open_user;
    veil_timer *open_timer;       /* the deferred completion, once settled */
    char open_name[VEIL_CH_NAME_MAX + 1]; /* the public address's name (outlives
                                   * ctx; veil__ch_public makes the address) */
    veil_ch_link in_opens;        /* shared->opens while waiting */
    bool in_open_call;            /* inside veil_secure_channel_open_async */
    /* responder: on_open ran (so on_close will), and why it closes
     * (set where the cause is known; unset: local, or the node's stop) */
    bool told_open;
    /* either role: its opening was reported (on_open point, or the open's
     * completion with 0), so veil_secure_channel_on_close subscribers
     * hear of its close */
    bool announced;
    bool close_known;
    int close_reason;
    char *close_detail;
    bool pending;                 /* responder: on the pending lists */
    /* initiator: its handshake counts against max_opening_handshakes
     * (opening), or it waits for room on the node's queued list, through
     * in_node, with what its HS1 needs (channel_pace.c) */
    bool opening;
    struct veil_ch_queued *queued;
    veil_ch_link in_node, in_listener;
    uint8_t *hs1;                 /* initiator: frame HS1, kept for a COOKIE */
    size_t hs1_len;
    uint8_t *prologue;            /* initiator: kept while peer_resolve runs */
    size_t prologue_len;
    char *protocol;               /* initiator: named in HS1 and in its close event */
    unsigned cookie_tries;
    /* established */
    veil_packed_route *route;     /* to the peer's channel, as messages carry it */
    veil_ch_settings set;
    int nonce_format;
    veil_secret send_key, recv_key, recv_prev;
    uint64_t send_n, send_epoch, recv_epoch;
    veil_replay_window window;
    veil_channel_stats stats;
    /* flow control: initiators' allowed workers (responders use their
     * listener's), the reply path, one warning per channel */
    veil_ch_allow *allowed;
    veil_ch_sender *senders;      /* VEIL_CH_SENDERS, made on the first send */
    unsigned senders_next;
    bool flow_logged;
    /* keep-alive (channel_alive.c): the last authenticated frame's time,
     * the periodic timer (initiator: PING; responder: the peer's silence
     * bound once a PING set it), the silence that means dead */
    uint64_t last_rx_ms;
    veil_timer *alive_timer;
    uint32_t alive_ms, dead_ms;
    uint64_t ping_token;
    veil_ch_heal *heal;           /* resilient initiators only */
} veil_channel;

/* secure_channel.c */
/* The channel's public (local) address, also after its worker stopped. */
VEIL_CH_HIDDEN void veil__ch_public(const veil_channel *ch, veil_address *out);
/* Is a that address? */
VEIL_CH_HIDDEN bool veil__ch_is_public(const veil_channel *ch, const veil_address *a);
/* Keep the name of the public address (when it opens or starts opening). */
VEIL_CH_HIDDEN void veil__ch_keep_name(veil_channel *ch);
VEIL_CH_HIDDEN int veil__ch_settings(veil_node *node, veil_ch_settings *out);
/* The same from a configuration alone (no node: [key_agreement] unread). */
VEIL_CH_HIDDEN int veil__ch_settings_from(const veil_config *cfg, veil_ch_settings *out);

/* channel_config.c: the keep-alive and healing keys of [secure_channel]. */
VEIL_CH_HIDDEN int veil__ch_heal_settings(const veil_config *cfg, veil_ch_settings *out);

/* channel_ka.c: the node's key agreement instance; *fallback names the
 * plugin and its version for the prologue of a plugin without `describe`. */
VEIL_CH_HIDDEN int veil__ch_ka_instance(veil_node *node, const veil_key_agreement_ops **ka,
                                        void **inst, char *fallback, size_t cap);
/* Does the table have the listener hooks / peer_resolve (key_agreement.h)? */
VEIL_CH_HIDDEN bool veil__ch_ka_has_listener(const veil_key_agreement_ops *ka);
VEIL_CH_HIDDEN bool veil__ch_ka_resolves(const veil_key_agreement_ops *ka);
/* Listener: the key agreement's listener_start at address for loc's static
 * key (no-op without the hooks); unlisten when the listener's state goes. */
VEIL_CH_HIDDEN int veil__ch_ka_listen(veil_ch_listener *l, veil_node *node, const char *address,
                                      const veil_ch_local *loc);
VEIL_CH_HIDDEN void veil__ch_ka_unlisten(veil_ch_listener *l);

/* Allocate a channel with settings set and start its worker at two fresh
 * addresses.  The worker holds the first reference. */
VEIL_CH_HIDDEN int veil__ch_start(veil_node *node, veil_entity *e, int role,
                                  const veil_ch_settings *set, veil_channel **out);
/* Stop the channel's worker (its reference goes in the stop op; the struct
 * stays while others hold one). */
VEIL_CH_HIDDEN void veil__ch_stop(veil_channel *ch);
VEIL_CH_HIDDEN void veil__ch_ref(veil_channel *ch);
VEIL_CH_HIDDEN void veil__ch_unref(veil_channel *ch);

/* channel_pace.c: the initiators' handshakes in flight on a node, at most
 * [secure_channel] max_opening_handshakes; the others wait in order.
 * begin: start ch's handshake now (veil__ch_initiator_begin) or queue it.
 * end: ch's handshake settled or the channel goes (idempotent): leave the
 * queue, or give back its room and start queued ones. */
VEIL_CH_HIDDEN int veil__ch_pace_begin(veil_channel *ch, const veil_route *route,
                                       const char *fallback);
VEIL_CH_HIDDEN void veil__ch_pace_end(veil_channel *ch);

/* channel_open.c: the open settled (state OPEN or FAILED): arm its
 * completion (a zero-delay timer) if it is owed and not armed yet. */
VEIL_CH_HIDDEN void veil__ch_open_settled(veil_channel *ch);
/* Node stop: run every owed completion now (the loop will not run again). */
VEIL_CH_HIDDEN void veil__ch_opens_flush(veil_ch_node *n);

/* channel_lost.c: the node's route-lost subscriber */
VEIL_CH_HIDDEN void veil__ch_route_lost(veil_node *node, const veil_address *peer, int reason,
                                        const char *detail, void *arg);
/* Send bytes (a frame) along route from the channel's peer-facing address. */
VEIL_CH_HIDDEN int veil__ch_send_raw(veil_channel *ch, const veil_route *route,
                                     const uint8_t *frame, size_t len);
/* A new message to the peer (stored route) with a payload of len bytes for
 * the caller to fill. */
VEIL_CH_HIDDEN int veil__ch_message_to_peer(veil_channel *ch, size_t len, veil_message **out,
                                            uint8_t **buf);
/* Onward := route (NULL: the stored route to the peer), return := our
 * peer-facing address. */
VEIL_CH_HIDDEN int veil__ch_address_to_peer(veil_channel *ch, veil_message *m,
                                            const veil_route *route);
/* Keep r as the route to the peer (the first HS2 or HS1 tells it). */
VEIL_CH_HIDDEN int veil__ch_set_route(veil_channel *ch, const veil_route *r);
VEIL_CH_HIDDEN int veil__ch_fail(veil_channel *ch, int rc);
VEIL_CH_HIDDEN void veil__ch_listener_unref(veil_ch_listener *l);

/* channel_node.c: the node's state, made on first use with set's caps. */
VEIL_CH_HIDDEN int veil__ch_node_get(veil_node *node, const veil_ch_settings *set,
                                     veil_ch_node **out);
/* The node's state if it was made (NULL otherwise). */
VEIL_CH_HIDDEN veil_ch_node *veil__ch_node_find(veil_node *node);
/* The intrusive lists, through the link at offset off of veil_channel. */
VEIL_CH_HIDDEN void veil__ch_list_append(veil_ch_list *l, veil_channel *ch, size_t off);
VEIL_CH_HIDDEN void veil__ch_list_remove(veil_ch_list *l, veil_channel *ch, size_t off);

/* channel_pending.c: half-open handshakes (docs/PROTOCOL.md, "Security
 * properties and limits") */
/* A responder starts / stops being a pending handshake. */
VEIL_CH_HIDDEN void veil__ch_pending_add(veil_channel *ch);
VEIL_CH_HIDDEN void veil__ch_pending_remove(veil_channel *ch);
/* Before a new responder: stop the oldest pending ones while a cap is
 * reached (counted, logged within the rate limit). */
VEIL_CH_HIDDEN void veil__ch_make_room(veil_ch_listener *l);
/* Does the node's load demand a cookie with HS1? */
VEIL_CH_HIDDEN bool veil__ch_under_load(const veil_ch_listener *l);
/* A warning a stranger can cause, within the node's log rate limit. */
VEIL_CH_HIDDEN void veil__ch_warn(veil_ch_listener *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* HS1 f names another key agreement than l's: refuse it without any state
 * (logged within the rate limit; an HSERR VEIL_EUNSUPPORTED naming l's
 * protocol goes back when it is no larger than the HS1).  true: refused. */
VEIL_CH_HIDDEN bool veil__ch_protocol_refused(veil_ch_listener *l, veil_message *msg,
                                              const veil_ch_frame *f);

/* Answer msg (a first handshake message that cannot be read) with a
 * stateless HSERR rc, its fixed reason left out when it would make the
 * answer larger than msg. */
VEIL_CH_HIDDEN void veil__ch_hserr_reply(veil_ch_listener *l, veil_message *msg, int rc);

/* channel_cookie.c */
/* Is cookie (VEIL_CH_COOKIE_BYTES) the one for msg's first return hop? */
VEIL_CH_HIDDEN bool veil__ch_cookie_ok(veil_ch_listener *l, const veil_message *msg,
                                       const uint8_t *cookie);
/* Answer HS1 msg with a COOKIE frame (msg is reused for the reply). */
VEIL_CH_HIDDEN void veil__ch_cookie_reply(veil_ch_listener *l, veil_message *msg);
VEIL_CH_HIDDEN void veil__ch_cookie_forget(veil_ch_listener *l);
/* Initiator: a COOKIE arrived while waiting for message 2. */
VEIL_CH_HIDDEN int veil__ch_cookie_receive(veil_channel *ch, const veil_ch_frame *f);

/* channel_logopen.c: the "channel open" line, both roles (info): peer,
 * key agreement, vault backend, route; no key material. */
VEIL_CH_HIDDEN void veil__ch_log_open(veil_channel *ch);

/* channel_listener.c: tell the listener's application a responder
 * opened / closed (its callbacks, when set). */
VEIL_CH_HIDDEN void veil__ch_tell_open(veil_channel *ch);
VEIL_CH_HIDDEN void veil__ch_tell_close(veil_channel *ch);
/* Record why ch closes (first cause wins; reason 0: locally). */
VEIL_CH_HIDDEN void veil__ch_close_cause(veil_channel *ch, int reason, const char *detail);
/* The cause when none was recorded: the node's stop, or a local close. */
VEIL_CH_HIDDEN void veil__ch_close_cause_default(veil_channel *ch);

/* channel_closed.c: tell the node's close subscribers that an announced
 * channel is closing (from its worker's stop op); frees their list at the
 * node's stop. */
VEIL_CH_HIDDEN void veil__ch_closed_notify(veil_channel *ch);
VEIL_CH_HIDDEN void veil__ch_closesubs_free(veil_ch_node *n);
/* A resilient channel lost its peer: the close subscribers hear it as
 * RECONNECTING (once; it is announced again when it opens again). */
VEIL_CH_HIDDEN void veil__ch_reconnecting_notify(veil_channel *ch, int reason,
                                                 const char *detail);

/* channel_alive.c: keep-alive.  start: arm the timer of an open channel
 * (no-op without alive_ms); stop: cancel it; frame: a PING or PONG
 * authenticated (the responder answers and bounds the peer's silence). */
VEIL_CH_HIDDEN int veil__ch_alive_start(veil_channel *ch);
VEIL_CH_HIDDEN void veil__ch_alive_stop(veil_channel *ch);
VEIL_CH_HIDDEN int veil__ch_alive_frame(veil_channel *ch, uint8_t type, const uint8_t *body,
                                        size_t len);

/* channel_heal.c: resilient initiators.  setup: from set and the open's
 * options, at the open; lost: the path to the peer is gone (lost route,
 * silent peer): reconnect with backoff instead of closing (false: not
 * resilient or not open yet: the caller closes as before); failed: an
 * attempt failed (true: handled, the channel lives on or closed);
 * opened: the handshake of a heal completed; stopped: the worker stops
 * (CLOSED told, state freed). */
/* Apply the open's options (NULL: none) to set and check the result. */
VEIL_CH_HIDDEN int veil__ch_heal_options(veil_ch_settings *set,
                                         const veil_secure_channel_options *o);
VEIL_CH_HIDDEN void veil__ch_heal_free(veil_channel *ch);
VEIL_CH_HIDDEN int veil__ch_heal_setup(veil_channel *ch, const veil_route *route,
                                       const char *fallback,
                                       const veil_secure_channel_options *opts);
VEIL_CH_HIDDEN bool veil__ch_heal_lost(veil_channel *ch, int reason, const char *why);
VEIL_CH_HIDDEN bool veil__ch_heal_failed(veil_channel *ch, int rc);
VEIL_CH_HIDDEN void veil__ch_heal_drop_hop(veil_channel *ch, uint64_t quiet_ms, const char *why);
VEIL_CH_HIDDEN bool veil__ch_hop_has_unwatched(const veil_channel *self,
                                               const veil_address *hop);
VEIL_CH_HIDDEN void veil__ch_heal_opened(veil_channel *ch);
VEIL_CH_HIDDEN void veil__ch_heal_stopped(veil_channel *ch);
/* The peer after a heal's handshake: the same identifier as at the first
 * open (VEIL_EAUTH otherwise). */
VEIL_CH_HIDDEN int veil__ch_heal_check_peer(veil_channel *ch);

/* channel_prologue.c */
#define VEIL_CH_PROLOGUE_MAX 640u
/* The key agreement's description (its describe op, else fallback as the
 * protocol name); d->protocol checked non-empty and within bounds. */
VEIL_CH_HIDDEN int veil__ch_ka_describe(const veil_key_agreement_ops *ka, void *inst,
                                        const char *fallback, veil_ka_description *d);
/* The handshake prologue for the listener at `listener` (docs/PROTOCOL.md,
 * "Prologue"); hashes the key agreement's own configured prologue in v. */
VEIL_CH_HIDDEN int veil__ch_prologue(const veil_key_agreement_ops *ka, void *inst,
                                     const char *fallback, veil_vault *v,
                                     const veil_address *listener, uint8_t *out, size_t cap,
                                     size_t *len);

/* channel_handshake.c */
VEIL_CH_HIDDEN int veil__ch_initiator_begin(veil_channel *ch, const veil_route *route,
                                            const char *fallback);
VEIL_CH_HIDDEN int veil__ch_responder_begin(veil_ch_listener *l, veil_message *msg,
                                            const veil_ch_frame *f);
VEIL_CH_HIDDEN int veil__ch_handshake_frame(veil_channel *ch, veil_message *msg,
                                            const veil_ch_frame *f);
VEIL_CH_HIDDEN void veil__ch_handshake_timer(veil_node *node, void *arg);

/* channel_hserr.c */
/* Tell the peer along route that the handshake failed with rc: an HSERR
 * frame (plain: nothing is keyed yet) with the code and the fixed reason
 * for it, never the detail (it stays in veil_last_error() for the local
 * log).  Codes outside the table go as VEIL_EHANDSHAKE. */
VEIL_CH_HIDDEN void veil__ch_hserr_send(veil_channel *ch, const veil_route *route, int rc);
/* An HSERR frame arrived (initiator: message 1 refused; responder: the
 * initiator's policy refused it after message 2). */
VEIL_CH_HIDDEN int veil__ch_hserr_receive(veil_channel *ch, const veil_ch_frame *f);

/* channel_flow.c */
VEIL_CH_HIDDEN int veil__ch_allow_new(const char *const *workers, size_t n, veil_ch_allow **out);
/* [secure_channel] allowed_workers; *out NULL when the key is absent. */
VEIL_CH_HIDDEN int veil__ch_allow_from_config(veil_node *node, veil_ch_allow **out);
VEIL_CH_HIDDEN void veil__ch_allow_free(veil_ch_allow *a);
/* msg goes through the channel: its sender may get replies. */
VEIL_CH_HIDDEN void veil__ch_note_sender(veil_channel *ch, const veil_message *msg);
VEIL_CH_HIDDEN void veil__ch_senders_free(veil_channel *ch);
/* May a decrypted message with this inner onward route go on?  0, or
 * VEIL_EDENIED (counted, logged once per channel). */
VEIL_CH_HIDDEN int veil__ch_flow_check(veil_channel *ch, const veil_route *inner_onward);
/* secure_channel.c / channel_listener.c: by address. */
VEIL_CH_HIDDEN veil_channel *veil__ch_find(veil_node *node, const veil_address *a);
VEIL_CH_HIDDEN int veil__ch_listener_find(veil_node *node, const char *address,
                                          veil_ch_listener **out);

/* channel_data.c */
/* Encrypt app message msg (onward [channel, rest...]) and send it. */
VEIL_CH_HIDDEN int veil__ch_encrypt_send(veil_channel *ch, veil_message *msg);
/* Frame with plaintext body (control frames: close, accept, refuse). */
VEIL_CH_HIDDEN int veil__ch_send_control(veil_channel *ch, uint8_t type,
                                         const uint8_t *body, size_t len);
/* An encrypted frame from the peer (msg's payload); decrypted in place. */
VEIL_CH_HIDDEN int veil__ch_receive(veil_channel *ch, veil_message *msg,
                                    const veil_ch_frame *f);
/* Take the KA result's keys. */
VEIL_CH_HIDDEN void veil__ch_keys_set(veil_channel *ch, const veil_ka_result *r);
VEIL_CH_HIDDEN void veil__ch_keys_destroy(veil_channel *ch, bool touch_vault);

#endif
