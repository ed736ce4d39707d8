/* veil — the key agreement interface (Noise, X3DH).
 *
 * A key agreement plugin runs a handshake as a sequence of messages that
 * the secure channel carries; all crypto goes through the vault it is
 * given.  Fixed call sequence:
 *   session_new → (next_action: WRITE → write_message | READ → read_message)*
 *   → next_action == DONE → split → session_free
 * Any error leaves the session FAILED with its secrets wiped; further calls
 * return VEIL_ESTATE. */
#ifndef VEIL_KEY_AGREEMENT_H
#define VEIL_KEY_AGREEMENT_H

#include <veil/common.h>
#include <veil/address.h>
#include <veil/config.h>
#include <veil/node.h>
#include <veil/vault.h>

VEIL_BEGIN_DECLS

#define VEIL_KA_MESSAGE_MAX 65535u   /* Noise's limit; applies to all */

typedef enum veil_ka_role {
    VEIL_KA_INITIATOR = 1,
    VEIL_KA_RESPONDER = 2,
} veil_ka_role;

typedef enum veil_ka_action {
    VEIL_KA_WRITE = 1,   /* call write_message */
    VEIL_KA_READ = 2,    /* call read_message */
    VEIL_KA_DONE = 3,    /* call split */
    VEIL_KA_FAILED = 4,
} veil_ka_action;

/* How transport nonces are encoded into the AEAD's 96-bit nonce. */
typedef enum veil_nonce_format {
    VEIL_NONCE_ZERO32_BE64 = 1,  /* Noise AESGCM: 4 zero bytes, big-endian n */
    VEIL_NONCE_ZERO32_LE64 = 2,  /* Noise ChaChaPoly: 4 zero bytes, little-endian n */
} veil_nonce_format;

/* Encode n in format into out. */
VEIL_EXPORT void veil_nonce_encode(int format, uint64_t n,
                                   uint8_t out[VEIL_AEAD_NONCE_BYTES]);
/* The nonce format of an AEAD secret type: VEIL_NONCE_ZERO32_BE64 for
 * AES-256-GCM, VEIL_NONCE_ZERO32_LE64 for ChaCha20-Poly1305, 0 otherwise. */
VEIL_EXPORT int veil_nonce_format_of(int cipher_type);
/* Noise's Rekey(k) on a key handle: a new secret in *out, the first 32
 * bytes of ENCRYPT(k, 2^64-1, "", 32 zero bytes) with k's AEAD and its
 * nonce format; k itself untouched.  It has the signature of the rekey op
 * (inst is not used), so a key agreement whose transport keys rekey the
 * Noise way (noise, x3dh) puts it in its table as is.  VEIL_EINVAL (NULL
 * vault or out, key 0), VEIL_ETYPE (not an AEAD key), the vault's errors. */
VEIL_EXPORT int veil_key_agreement_rekey(void *inst, veil_vault *v, veil_secret key,
                                         veil_secret *out) VEIL_WUR;

typedef struct veil_ka_params {
    size_t size;                      /* sizeof(veil_ka_params) */
    int role;                         /* veil_ka_role */
    veil_vault *vault;
    /* NULL: the instance's configured protocol. */
    const char *protocol;
    veil_secret local_static;         /* 0 when the pattern has none */
    veil_secret local_ephemeral;      /* 0: generated (preset for vectors) */
    const uint8_t *remote_static;     /* pre-message / expected remote key */
    size_t remote_static_len;
    const uint8_t *prologue;
    size_t prologue_len;
    const veil_secret *psks;          /* in the order the pattern uses them */
    size_t n_psks;
    /* The smallest table ends here (ABI 1.0).  Appended (a plugin reads it
     * only when size covers it): what the key agreement's peer_resolve
     * produced for this peer (X3DH: the responder's prekey bundle,
     * docs/X3DH.md), which an initiator needs before its first message;
     * NULL/0 for key agreements without peer_resolve. */
    const uint8_t *peer_bundle;
    size_t peer_bundle_len;
} veil_ka_params;

typedef struct veil_ka_result {
    uint8_t handshake_hash[VEIL_HASH_MAX_BYTES];  /* channel binding */
    size_t handshake_hash_len;
    uint8_t remote_static[VEIL_PUBLIC_KEY_MAX_BYTES];
    size_t remote_static_len;         /* 0 if the pattern sends none */
    veil_secret send_key;             /* caller owns both keys after split */
    veil_secret recv_key;             /* 0 for the one-way reverse direction */
    int nonce_format;                 /* veil_nonce_format */
} veil_ka_result;

/* ---- listeners and peers (optional hooks; docs/PLUGINS.md) -------------
 * For key agreements whose listeners serve something to initiators and
 * whose initiators fetch it before their first message (X3DH: a prekey
 * bundle per listener, from a prekey service), the secure channel offers
 * two generic hooks and knows nothing more of them:
 *
 *  - listener_start: a listener of this key agreement starts at `address`
 *    for an entity whose static key is `local_static` and whose identity
 *    proof (veil_identity_proof, secure_channel.h) attests it; X3DH starts
 *    its prekey service there and publishes to a directory.  *handle is
 *    given to listener_stop when the listener's state goes (the entity,
 *    and so the vault, is still open then).  With no address and no
 *    static key it starts the key agreement's directory on the node
 *    instead (veil_key_agreement_directory_start): no listener of its
 *    own, it serves what listeners elsewhere publish, lives until the node
 *    stops and leaves *handle NULL.  The handle must not depend on inst
 *    (the instance may be freed first).
 *  - peer_resolve: an initiator is about to open a channel along route to
 *    a listener of this key agreement.  The key agreement finds what it
 *    needs of the peer (X3DH: fetches the listener's bundle) and calls
 *    done(arg, 0, peer, len) — peer then becomes veil_ka_params.peer_bundle
 *    — or done(arg, rc < 0, NULL, 0) with veil_last_error() explaining,
 *    giving up after timeout_ms (VEIL_ETIMEDOUT).  After peer_resolve
 *    returned 0, done is called exactly once, on the node's thread, from
 *    the loop (a handler, a timer, or a worker stopping: VEIL_ECLOSED when
 *    the node stops first), never from inside peer_resolve; when
 *    peer_resolve fails, never. */

typedef struct veil_ka_listener_params {
    size_t size;                      /* sizeof(veil_ka_listener_params) */
    veil_node *node;
    veil_vault *vault;
    veil_secret local_static;         /* the listener's static key; 0: a directory */
    const char *address;              /* the listener's address; NULL: a directory */
    veil_entity *entity;              /* whose proof attests local_static; NULL: a directory */
} veil_ka_listener_params;

typedef void (*veil_ka_resolved_fn)(void *arg, int rc, const uint8_t *peer, size_t len);

/* ---- describe (optional) ------------------------------------------------
 * What an instance binds into a secure channel's handshake prologue
 * (docs/PROTOCOL.md, "Prologue"): the wire name of its protocol with its
 * version, so that peers configured for different protocols or versions
 * fail the handshake instead of agreeing on something else, and its own
 * configured prologue (Noise `prologue`, X3DH `ad_appendix`), which the
 * channel's prologue replaces in veil_ka_params and therefore carries
 * (hashed).  The pointers stay valid while the instance lives. */
#define VEIL_KA_PROTOCOL_NAME_MAX 128u

typedef struct veil_ka_description {
    size_t size;                      /* sizeof(veil_ka_description), set by the caller */
    const char *protocol;             /* NUL-terminated, 1..VEIL_KA_PROTOCOL_NAME_MAX bytes */
    const uint8_t *prologue;          /* configured prologue; NULL/0 when none */
    size_t prologue_len;
} veil_ka_description;

typedef struct veil_key_agreement_ops {
    size_t size;                      /* sizeof(veil_key_agreement_ops) */
    /* One instance per configured section (parses e.g. the protocol name). */
    int (*instance_new)(void *plugin_state, const veil_config_scope *scope,
                        void **inst);
    void (*instance_free)(void *inst);
    int (*session_new)(void *inst, const veil_ka_params *params, void **session);
    /* Wipes and frees (NULL ok). */
    void (*session_free)(void *session);
    int (*next_action)(void *session);
    int (*write_message)(void *session, const uint8_t *payload, size_t payload_len,
                         uint8_t *out, size_t cap, size_t *out_len);
    int (*read_message)(void *session, const uint8_t *in, size_t len,
                        uint8_t *payload, size_t cap, size_t *payload_len);
    int (*split)(void *session, veil_ka_result *out);
    /* Derive the next transport key (Noise Rekey()); old key untouched. */
    int (*rekey)(void *inst, veil_vault *v, veil_secret key, veil_secret *out);
    /* The smallest table ends here: the optional ops below are read only
     * when size covers them and they are not NULL. */
    /* Fill *out (the caller set out->size).  Without it the channel binds
     * the plugin's name and version ("noise/1.0") and no configured
     * prologue. */
    int (*describe)(void *inst, veil_ka_description *out);
    /* The hooks above, "listeners and peers": both listener ops or
     * neither. */
    int (*listener_start)(void *inst, const veil_ka_listener_params *p, void **handle);
    void (*listener_stop)(void *handle);
    int (*peer_resolve)(void *inst, veil_node *node, const veil_route *route,
                        uint64_t timeout_ms, veil_ka_resolved_fn done, void *arg);
} veil_key_agreement_ops;

VEIL_END_DECLS
#endif
