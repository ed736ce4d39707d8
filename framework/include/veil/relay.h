/* veil — relays for nodes behind NAT (docs/PROTOCOL.md, "Relay
 * registration"; docs/ARCHITECTURE.md, "Relays and registered names").
 *
 * A node R that cannot be dialed (behind NAT) opens a secure channel to a
 * reachable relay node M over its own outbound connection and registers a
 * NAME there.  An initiator then reaches R's listener along
 *     [1#M:port, "relay", NAME, "bob_listener"]
 * M's forwarding worker ("relay") replaces [relay, NAME] by the route to R
 * (R's outbound connection) and the end-to-end channel runs between the
 * initiator and R: M forwards its frames and sees ciphertext only.
 *
 * Registration is authenticated by the registration channel: the registry
 * records the identity that registered a name; only that identity may move
 * the name to a new connection; anyone else gets VEIL_RELAY_TAKEN. */
#ifndef VEIL_RELAY_H
#define VEIL_RELAY_H

#include <veil/common.h>
#include <veil/address.h>
#include <veil/entity.h>
#include <veil/trust_policy.h>

#include <stdbool.h>

VEIL_BEGIN_DECLS

#define VEIL_RELAY_VERSION 1u      /* the registration messages' version byte */
#define VEIL_RELAY_NAME_MAX 64u    /* bytes in a name: [A-Za-z0-9._-], 1..64 */

/* Result codes a registry answers with (the wire's code byte). */
enum {
    VEIL_RELAY_OK = 0,
    VEIL_RELAY_TAKEN = 1,        /* another identity holds the name */
    VEIL_RELAY_IDENTITY_LIMIT = 2, /* this identity holds max_per_identity names */
    VEIL_RELAY_FULL = 3,         /* the registry holds max_names names */
    VEIL_RELAY_BAD_NAME = 4,     /* empty, too long, or a byte outside the charset */
    VEIL_RELAY_DENIED = 5,       /* this identity may not register (registrants) */
    VEIL_RELAY_BAD_VERSION = 6,  /* a version this registry does not speak */
    VEIL_RELAY_MALFORMED = 7,    /* not a registration request */
};
/* The VEIL_E* a registrant reports for a result code (0 for OK). */
VEIL_EXPORT int veil_relay_code_error(int code);
VEIL_EXPORT const char *veil_relay_code_name(int code);
/* Is name a valid relay name (length and charset)? */
VEIL_EXPORT bool veil_relay_name_valid(const char *name);

/* ---- the relay side ----------------------------------------------------- */

typedef struct veil_relay_registry_options {
    size_t size;                   /* sizeof(veil_relay_registry_options) */
    const char *forward_address;   /* the forwarding worker (NULL: "relay") */
    unsigned max_names;            /* names in all (0: 256; at most 65536) */
    unsigned max_per_identity;     /* names one identity holds (0: 4) */
    unsigned refusals_per_second;  /* refusals for unknown names sent (0: 20) */
    /* Identifiers that may register (NULL: every peer the listener's trust
     * policy let open a channel).  Copied. */
    const char *const *registrants;
    size_t n_registrants;
    /* Names kept for one identity each, "NAME=IDENTIFIER" (copied): only
     * that identity registers NAME, also while nobody holds it (after a
     * restart of the relay or while its owner reconnects). */
    const char *const *reserved;
    size_t n_reserved;
    /* With a persistent node store ([node] state_dir, [store]): how long a
     * name kept from before a restart stays bound to its owner without a
     * registration channel, so the owner can re-dial (0: 120000 ms; at
     * most 86400000).  Appended after n_reserved (size tells). */
    unsigned restart_hold_ms;
} veil_relay_registry_options;

/* Start the registry at address (NULL: "relay_registry"; reached through
 * secure channels only: the relay's listener must allow it,
 * veil_secure_channel_listener_allow) and its forwarding worker.  Needs
 * `[node] relay = true` (VEIL_EDENIED otherwise).  One registry per node
 * (VEIL_EEXIST). */
VEIL_EXPORT int veil_relay_registry_start(veil_node *node, const char *address,
                                          const veil_relay_registry_options *opts) VEIL_WUR;

typedef struct veil_relay_registry_stats {
    uint32_t names;                /* registered now */
    uint64_t registered;           /* requests answered OK (moves and refreshes too) */
    uint64_t refused;              /* requests answered with another code */
    uint64_t forwarded;            /* messages forwarded to a registered name */
    uint64_t returned;             /* passed on to a transport next hop (from or to a registrant) */
    uint64_t unknown;              /* messages for a name not registered */
    uint64_t refusals_suppressed;  /* ... of which no refusal was sent (rate) */
    uint64_t dropped_return;       /* transport next hop neither from nor to a registrant */
    uint64_t expired;              /* registrations dropped: connection or channel gone */
} veil_relay_registry_stats;
VEIL_EXPORT int veil_relay_registry_get_stats(veil_node *node, veil_relay_registry_stats *out) VEIL_WUR;

/* Each registered name: its owner's identifier and the route to it. */
typedef void (*veil_relay_name_fn)(const char *name, const char *owner,
                                   const char *route, void *arg);
VEIL_EXPORT int veil_relay_registry_list(veil_node *node, veil_relay_name_fn fn, void *arg) VEIL_WUR;

/* ---- the registrant side ------------------------------------------------ */

/* What a registration tells its owner: rc 0 when the relay confirmed the
 * name (after each (re-)registration, not each keep-alive), else why it is
 * not registered now (a refusal's VEIL_E*, VEIL_ETIMEDOUT, VEIL_ECLOSED, a
 * failed open's code); detail is valid during the call only. */
typedef void (*veil_relay_state_fn)(veil_node *node, const char *name, int rc,
                                    const char *detail, void *arg);

typedef struct veil_relay_register_options {
    size_t size;                   /* sizeof(veil_relay_register_options) */
    const char *registry;          /* the relay's registry address (NULL: "relay_registry") */
    unsigned keepalive_ms;         /* between refreshes (0: 10000) */
    unsigned reply_timeout_ms;     /* for the relay's answer (0: 5000) */
    unsigned backoff_min_ms;       /* first retry delay (0: 250) */
    unsigned backoff_max_ms;       /* cap of the doubling delay (0: 30000) */
    veil_relay_state_fn on_state;  /* optional */
    void *arg;
} veil_relay_register_options;

/* Keep name registered at the relay: dial `where` ("host:port") over the
 * tcp transport, open a secure channel to the relay's `listener` (the relay
 * must authenticate as relay_identifier), register, refresh every
 * keepalive_ms; on a lost connection, a silent relay or a refusal, close
 * and retry after a jittered backoff doubling from backoff_min_ms to
 * backoff_max_ms.  Returns at once; the work runs in the node's loop.
 * VEIL_EEXIST when this node already registers name. */
VEIL_EXPORT int veil_relay_register_start(veil_entity *e, const char *where, const char *listener,
                                          const char *relay_identifier, const char *name,
                                          const veil_relay_register_options *opts) VEIL_WUR;
/* Stop registering name (its channel is closed; the relay expires the
 * name).  VEIL_ENOTFOUND. */
VEIL_EXPORT int veil_relay_register_stop(veil_node *node, const char *name) VEIL_WUR;
/* Is name registered now (confirmed by the relay on the current channel)? */
VEIL_EXPORT int veil_relay_register_status(veil_node *node, const char *name,
                                           bool *registered, unsigned *registrations) VEIL_WUR;

VEIL_END_DECLS
#endif
