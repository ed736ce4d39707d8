/* veil — secure channels (docs/PROTOCOL.md, "Secure channel").
 *
 * Mirrors Ockam's getting-started "Secure Channel" chapter:
 *   veil_secure_channel_listener_open(bob, "bob_listener", bob_policy);
 *   veil_secure_channel_open(alice, &route_to_listener, alice_policy, &ch);
 *   route = [ch, "echoer"]; veil_ctx_send(ctx, &route, ...);
 *
 * A message sent to [channel, rest...] is encrypted with its remaining
 * route and payload and sent along the channel's route; the other end
 * decrypts it, marks it with local info (channel address, peer
 * identifier) and forwards it to rest.  Replies come back the same way.
 * The key agreement plugin comes from [key_agreement] (default noise,
 * Noise_XX_25519_AESGCM_SHA256); channel keys from [secure_channel]. */
#ifndef VEIL_SECURE_CHANNEL_H
#define VEIL_SECURE_CHANNEL_H

#include <veil/common.h>
#include <veil/access.h>
#include <veil/address.h>
#include <veil/entity.h>
#include <veil/trust_policy.h>

VEIL_BEGIN_DECLS

/* Start a listener worker at address; each initiator gets its own channel.
 * Takes ownership of policy (freed when the listener stops). */
VEIL_EXPORT int veil_secure_channel_listener_open(veil_entity *e, const char *address,
                                                  veil_trust_policy *policy) VEIL_WUR;
/* ---- listener callbacks -------------------------------------------------
 * What a listener tells the application about the channels it opens. */
typedef struct veil_secure_channel_event {
    const veil_address *channel;  /* the channel's local address (route through it) */
    const char *peer_identifier;  /* the authenticated peer ("P" + hex) */
    const char *key_agreement;    /* the protocol in use, e.g.
                                   * "Noise_XX_25519_AESGCM_SHA256" */
    /* on_close only (0 and "" in on_open): why the channel closed.
     *   0               closed locally (veil_secure_channel_close)
     *   VEIL_ECLOSED    the peer closed it
     *   VEIL_ENOROUTE   its route was lost (detail: route, transport reason)
     *   VEIL_ESTOPPED   the node stopped
     *   other VEIL_E*   the channel failed (detail says how) */
    int reason;
    const char *detail;
    /* What happened (VEIL_SECURE_CHANNEL_OPENED, _RECONNECTING, _CLOSED):
     * a listener's on_open / on_close get OPENED / CLOSED; a resilient
     * channel's on_event all three; node-wide close subscribers
     * (veil_secure_channel_on_close) CLOSED, or RECONNECTING when a
     * resilient channel lost its peer (what rode on it is gone). */
    int kind;
} veil_secure_channel_event;

enum {
    VEIL_SECURE_CHANNEL_OPENED = 1,
    VEIL_SECURE_CHANNEL_RECONNECTING = 2,
    VEIL_SECURE_CHANNEL_CLOSED = 3,
};

typedef void (*veil_secure_channel_event_fn)(veil_node *node,
                                             const veil_secure_channel_event *ev,
                                             void *user);

typedef struct veil_secure_channel_listener_options {
    size_t size;                          /* sizeof(veil_secure_channel_listener_options) */
    /* A channel opened (the peer passed the policy; it can carry data
     * now).  Optional. */
    veil_secure_channel_event_fn on_open;
    /* A channel that on_open was told about closed, once per channel,
     * also after the listener itself closed and at node stop (reason
     * VEIL_ESTOPPED).  Optional. */
    veil_secure_channel_event_fn on_close;
    /* Passed to both; must stay valid until every channel the listener
     * opened has closed (at the latest until veil_node_stop or
     * veil_node_free returned). */
    void *user;
} veil_secure_channel_listener_options;

/* veil_secure_channel_listener_open with options (NULL: none).  The
 * callbacks run on the node's thread from inside the loop (or the node's
 * stop); ev and its strings are valid during the call only.  They may
 * send, open and close channels, but not run the loop or stop the node.
 * VEIL_EINVAL when opts->size is too small. */
VEIL_EXPORT int veil_secure_channel_listener_open_with(
    veil_entity *e, const char *address, veil_trust_policy *policy,
    const veil_secure_channel_listener_options *opts) VEIL_WUR;
/* Stop the listener at address: handshakes sent there afterwards find no
 * worker.  The channels it opened keep running until closed.
 * VEIL_ENOTFOUND when no listener is there. */
VEIL_EXPORT int veil_secure_channel_listener_close(veil_node *node,
                                                   const char *address) VEIL_WUR;
/* ---- opening a channel (initiator) -------------------------------------
 * veil_secure_channel_open_async starts the handshake with the listener at
 * the end of route and returns at once; *channel gets the channel's local
 * address (what to put first in routes once it opened, and the handle of
 * the pending open).  Takes ownership of policy, also on error.  Usable
 * from application code and from inside a worker's handler or a callback.
 *
 * A negative return means nothing was started and done will never run
 * (VEIL_EINVAL, configuration or plugin errors, VEIL_ENOMEM, VEIL_ESTOPPED).
 * After 0, done runs exactly once (unless cancelled), on the node's
 * thread, from the node's loop, never from inside this call: an immediate
 * failure (e.g. VEIL_ENOROUTE for the first hop) is delivered in the next
 * loop round.  done gets rc 0 and the channel's address, or the error the
 * blocking call reports (same code, same detail, which is also
 * veil_last_error() while done runs): VEIL_EDENIED (detail names the
 * refused identifier and policy), VEIL_ETIMEDOUT, VEIL_EHANDSHAKE,
 * VEIL_EAUTH, VEIL_EREVOKED, VEIL_EEXPIRED, VEIL_ECLOSED (the peer closed,
 * the route was lost, or the channel was closed locally with
 * veil_secure_channel_close while pending), VEIL_ENOROUTE; channel is NULL
 * then and the channel is gone.  When the node stops (veil_node_stop or
 * veil_node_free) before the handshake finished, done runs during the stop
 * with VEIL_ESTOPPED.  Inside done the loop cannot be run and the node
 * cannot be stopped or freed (VEIL_ESTATE); everything else, including a
 * new open, is allowed.  detail is valid during the call only.
 *
 * Lifetime of user: it must stay valid until done ran, or until
 * veil_secure_channel_open_cancel returned 0; after either, the node never
 * touches it again. */
typedef void (*veil_secure_channel_open_fn)(veil_node *node, int rc,
                                            const veil_address *channel,
                                            const char *detail, void *user);
VEIL_EXPORT int veil_secure_channel_open_async(veil_entity *e, const veil_route *route,
                                               veil_trust_policy *policy,
                                               veil_secure_channel_open_fn done, void *user,
                                               veil_address *channel) VEIL_WUR;
/* Abandon a pending open: the channel is stopped (a peer that already
 * accepted it is sent a close) and its done will not run; user may be
 * freed when this returns.  VEIL_ENOTFOUND when no open is pending at
 * channel (never started, already completed, or done is running now). */
VEIL_EXPORT int veil_secure_channel_open_cancel(veil_node *node,
                                                const veil_address *channel) VEIL_WUR;
/* The blocking form: veil_secure_channel_open_async, then run the node's
 * loop until its completion ran; returns what the completion got (*channel
 * set on success).  Runs the loop, so it cannot be called from inside a
 * handler or callback (VEIL_ESTATE: use the async form there). */
VEIL_EXPORT int veil_secure_channel_open(veil_entity *e, const veil_route *route,
                                         veil_trust_policy *policy,
                                         veil_address *channel) VEIL_WUR;
/* ---- resilient channels (docs/ARCHITECTURE.md, "Channels that heal") -----
 * A resilient initiator channel survives the loss of its route: when the
 * route is lost (a transport reports the connection gone) or the peer is
 * silent for dead_after_ms (keep-alive PINGs go every ping_interval_ms,
 * end to end, encrypted), it keeps its addresses and re-runs a fresh
 * handshake over the same route after a jittered backoff delay in
 * [backoff_min_ms, backoff_max_ms] (doubling per failed attempt), until it
 * opens again or max_attempts attempts failed (0: never gives up).  The
 * peer must prove the SAME identity (identifier) as at the first open (a
 * rotation of it is the same identifier): another one is refused and the
 * channel closes with VEIL_EAUTH.  While reconnecting, a send into the
 * channel fails at once with VEIL_EAGAIN (nothing is queued or delivered
 * for it).  on_event gets OPENED (after each heal; the first open is
 * reported by the open's completion), RECONNECTING (reason and detail: why
 * the path was lost) and CLOSED once at the end (reason: 0 closed locally,
 * VEIL_ECLOSED the peer closed it, VEIL_ETIMEDOUT gave up after
 * max_attempts, VEIL_EAUTH another identity answered, VEIL_ESTOPPED the
 * node stopped, or the refusal's code: VEIL_EDENIED, VEIL_EREVOKED, ...).
 * CLOSED for veil_secure_channel_close is told inside that call; on_event
 * is never called after CLOSED.
 * A field left 0 takes [secure_channel]'s value (docs/CONFIG.md). */
typedef struct veil_secure_channel_options {
    size_t size;                  /* sizeof(veil_secure_channel_options) */
    bool resilient;
    uint32_t ping_interval_ms;    /* keep-alive period (also without resilient) */
    uint32_t dead_after_ms;       /* silence that declares the path dead */
    uint32_t backoff_min_ms, backoff_max_ms;
    uint32_t max_attempts;        /* reconnect attempts per outage (0: never give up) */
    veil_secure_channel_event_fn on_event; /* optional; runs on the node's thread */
    void *user;                   /* for on_event: valid until CLOSED was told */
} veil_secure_channel_options;

/* veil_secure_channel_open_async / veil_secure_channel_open with options
 * (NULL: as without; VEIL_EINVAL when opts->size is too small or a value
 * is out of range: backoff_min_ms > backoff_max_ms, dead_after_ms not
 * above ping_interval_ms). */
VEIL_EXPORT int veil_secure_channel_open_async_with(
    veil_entity *e, const veil_route *route, veil_trust_policy *policy,
    const veil_secure_channel_options *opts, veil_secure_channel_open_fn done, void *user,
    veil_address *channel) VEIL_WUR;
VEIL_EXPORT int veil_secure_channel_open_with(veil_entity *e, const veil_route *route,
                                              veil_trust_policy *policy,
                                              const veil_secure_channel_options *opts,
                                              veil_address *channel) VEIL_WUR;
/* Is the channel at this address reconnecting?  1 reconnecting, 0 open,
 * VEIL_ENOTFOUND. */
VEIL_EXPORT int veil_secure_channel_reconnecting(veil_node *node,
                                                 const veil_address *channel) VEIL_WUR;
/* The same, and *attempts (may be NULL) gets the reconnect attempts
 * started since the peer was lost (0 while the first backoff runs; 0 when
 * open).  What `veil channel list` shows. */
VEIL_EXPORT int veil_secure_channel_reconnect_attempts(veil_node *node,
                                                       const veil_address *channel,
                                                       unsigned *attempts) VEIL_WUR;

/* ---- flow control (docs/ARCHITECTURE.md, "Access control") ---------------
 * A message a channel decrypted may reach only (1) the local addresses the
 * channel allows ("allowed workers") and (2) the reply path: a local
 * address that sent a message through this channel.  Anything else is
 * dropped and counted (veil_channel_stats.dropped_flow), logged once per
 * channel.  What passes is admitted at that first hop by the default "local
 * only" access control (veil/access.h); a worker guarded by another control
 * must admit it too.  Defaults: [secure_channel] allowed_workers (a list of
 * local addresses, docs/CONFIG.md), else none.
 *
 * veil_secure_channel_listener_allow: the allowed workers of the channels
 * of the listener at `listener` (replaces the list; it applies at once, to
 * channels already open too).  veil_secure_channel_allow: the same for an
 * initiator's channel (by its address; VEIL_EINVAL for a listener's
 * channel).  Local addresses only; VEIL_ENOTFOUND, VEIL_ELIMIT (more than
 * 32), VEIL_EINVAL. */
VEIL_EXPORT int veil_secure_channel_listener_allow(veil_node *node, const char *listener,
                                                   const char *const *workers,
                                                   size_t n) VEIL_WUR;
VEIL_EXPORT int veil_secure_channel_allow(veil_node *node, const veil_address *channel,
                                          const char *const *workers, size_t n) VEIL_WUR;

/* ---- access controls that look at a channel's local info ------------------
 * For veil_ctx_set_access_control (veil/access.h).  Each refuses messages
 * no secure channel decrypted (local ones included).
 *   from_channel_peers   any authenticated channel peer
 *   from_identifiers     peers whose identifier is one of these (copied)
 *   from_channel         messages of that one channel (its local address)
 *   from_trust_policy    peers the policy trusts (takes ownership of it, also
 *                        on failure); the policy's check gets the peer
 *                        identifier only (no history, key or route: a
 *                        policy that needs them denies)
 * Free the result with veil_access_control_free once it guards addresses. */
VEIL_EXPORT int veil_access_control_from_channel_peers(veil_access_control **out) VEIL_WUR;
VEIL_EXPORT int veil_access_control_from_identifiers(const char *const *identifiers, size_t n,
                                                     veil_access_control **out) VEIL_WUR;
VEIL_EXPORT int veil_access_control_from_channel(const veil_address *channel,
                                                 veil_access_control **out) VEIL_WUR;
VEIL_EXPORT int veil_access_control_from_trust_policy(veil_trust_policy *policy,
                                                      veil_access_control **out) VEIL_WUR;

/* ---- channel closes, node-wide -------------------------------------------
 * fn runs once for every channel of the node that closes after its opening
 * was reported (a listener's channel after its on_open point, an
 * initiator's after its open completed with 0), whatever ended it: ev as
 * in a listener's on_close (channel, peer, key agreement, reason, detail).
 * An open that fails is reported by its completion, not here.  fn runs on
 * the node's thread, synchronously inside what closed the channel (a CLOSE
 * from the peer, a lost route, veil_secure_channel_close, the node's
 * stop); it may send, close channels and stop workers, but not run the
 * loop.  Layers above channels (portals) use it to drop what rode on a
 * channel at once.  VEIL_EINVAL, VEIL_ENOMEM, configuration errors of
 * [secure_channel] (VEIL_ECONFIG).  Subscribers added during a
 * notification hear of the next close. */
VEIL_EXPORT int veil_secure_channel_on_close(veil_node *node, veil_secure_channel_event_fn fn,
                                             void *user) VEIL_WUR;
/* Remove the subscription (fn, user); safe from inside a notification;
 * nothing happens when there is none. */
VEIL_EXPORT void veil_secure_channel_off_close(veil_node *node, veil_secure_channel_event_fn fn,
                                               void *user);

/* Send a close message to the peer and stop the local channel worker. */
VEIL_EXPORT int veil_secure_channel_close(veil_node *node,
                                          const veil_address *channel) VEIL_WUR;

/* Read and check [secure_channel] of the node's configuration as a
 * listener or an initiator does (unknown keys, every value's range;
 * VEIL_ECONFIG naming file:line), and make (then free) the key agreement
 * instance of [key_agreement] as they do (e.g. Noise parses its protocol
 * name), without opening anything.  [prekeys] is read by the x3dh plugin
 * when a listener starts and is not checked here. */
VEIL_EXPORT int veil_secure_channel_config_check(veil_node *node) VEIL_WUR;

/* Start the directory of the node's key agreement ([key_agreement]), for
 * key agreements that have one: a service with no listener of its own that
 * hands initiators what listeners on other nodes publish to it.  X3DH's is
 * its prekey directory (the prekey service at [prekeys] address, default
 * "prekeys", taking the bundles listeners publish with [prekeys]
 * directory_route; docs/X3DH.md, "Prekey service").  vault verifies what
 * is published; it must outlive the node's run.  VEIL_EUNSUPPORTED when
 * the key agreement has none (Noise). */
VEIL_EXPORT int veil_key_agreement_directory_start(veil_node *node, veil_vault *vault) VEIL_WUR;

/* ---- identity proofs outside a handshake -------------------------------
 * A secure channel binds the key agreement's static key to an identity
 * with an identity proof (docs/PROTOCOL.md, "Handshake and identity
 * binding"): the entity's attestation of its X25519 key-agreement static
 * key plus its change history.  These two calls let a protocol that
 * publishes the static key elsewhere (the X3DH prekey directory,
 * docs/X3DH.md) carry and check the same proof without knowing its format.
 *
 * veil_identity_proof: e's current proof, malloc'd into *proof (free() it),
 * and the handle of the static key it attests (in e's vault; owned by the
 * entity, do not destroy it).  VEIL_ELIMIT when the history is too long.
 *
 * veil_identity_proof_verify: verify proof (history signatures and links,
 * attestation under the history's current key) and that it attests
 * static_pub (an X25519 public key, 32 bytes); fills *out with the
 * identity's identifier, current key and event count.  Verified proofs are
 * cached as in a handshake.  VEIL_EAUTH (with the reason), VEIL_ETRUNCATED
 * / VEIL_EVERSION / VEIL_ELIMIT (malformed), VEIL_EINVAL (arguments). */
VEIL_EXPORT int veil_identity_proof(veil_entity *e, veil_secret *static_key,
                                    uint8_t **proof, size_t *len) VEIL_WUR;
VEIL_EXPORT int veil_identity_proof_verify(veil_vault *v, const uint8_t *proof, size_t len,
                                           const uint8_t *static_pub, size_t static_len,
                                           veil_history_info *out) VEIL_WUR;

typedef struct veil_channel_stats {
    uint64_t sent, received;
    uint64_t dropped_auth;        /* tag/format failures */
    uint64_t dropped_replay;      /* duplicate or too old for the window */
    uint64_t dropped_oversize;
    uint64_t rekeys;
    char peer_identifier[VEIL_IDENTIFIER_LEN + 1];
    /* decrypted messages refused by flow control: for a worker the channel
     * does not allow (veil_secure_channel_listener_allow) that sent nothing
     * through it, or for a transport address */
    uint64_t dropped_flow;
    /* payload bytes of the messages counted in sent / received (what the
     * application gave and got, without routes or encryption overhead) */
    uint64_t bytes_sent, bytes_received;
} veil_channel_stats;
VEIL_EXPORT int veil_secure_channel_stats(veil_node *node,
                                          const veil_address *channel,
                                          veil_channel_stats *out) VEIL_WUR;

/* A listener's handshakes (docs/PROTOCOL.md, "Security properties and
 * limits"): what strangers cost it.  Counters since the listener started. */
typedef struct veil_listener_stats {
    uint64_t first_messages;      /* HS1 frames received (with or without a cookie) */
    uint64_t cookies_sent;        /* answered with a COOKIE only (the node was under load) */
    uint64_t cookies_accepted;    /* HS1 with a valid cookie */
    uint64_t evicted;             /* pending handshakes stopped to make room (caps) */
    uint64_t failed;              /* handshakes that failed, were refused or timed out */
    uint64_t opened;              /* channels that opened */
    uint64_t log_suppressed;      /* warnings left out by the node's log rate limit */
    uint32_t pending;             /* this listener's handshakes in flight now */
    uint32_t node_pending;        /* ... and the whole node's */
} veil_listener_stats;
/* By the listener's address.  VEIL_ENOTFOUND when no listener runs there. */
VEIL_EXPORT int veil_secure_channel_listener_stats(veil_node *node, const char *address,
                                                   veil_listener_stats *out) VEIL_WUR;

VEIL_END_DECLS
#endif
