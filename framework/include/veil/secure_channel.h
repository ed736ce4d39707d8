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
#include <veil/address.h>
#include <veil/entity.h>
#include <veil/trust_policy.h>

VEIL_BEGIN_DECLS

/* Start a listener worker at address; each initiator gets its own channel.
 * Takes ownership of policy (freed when the listener stops). */
VEIL_EXPORT int veil_secure_channel_listener_open(veil_entity *e, const char *address,
                                                  veil_trust_policy *policy) VEIL_WUR;
/* Stop the listener at address: handshakes sent there afterwards find no
 * worker.  The channels it opened keep running until closed.
 * VEIL_ENOTFOUND when no listener is there. */
VEIL_EXPORT int veil_secure_channel_listener_close(veil_node *node,
                                                   const char *address) VEIL_WUR;
/* Run the handshake with the listener at the end of route (running the
 * node's loop until done or timeout); *channel gets the local address to
 * put first in routes.  Takes ownership of policy.  Errors: VEIL_EDENIED
 * (detail names the refused identifier and policy), VEIL_ETIMEDOUT,
 * VEIL_EHANDSHAKE, VEIL_EAUTH. */
VEIL_EXPORT int veil_secure_channel_open(veil_entity *e, const veil_route *route,
                                         veil_trust_policy *policy,
                                         veil_address *channel) VEIL_WUR;
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
