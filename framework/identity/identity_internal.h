/* Core-internal helpers for identities and trust decisions, shared by
 * entity.c, identity_history.c, identity_id.c, identity_sign.c, contacts*.c, trust.c and
 * the secure channels.  Not installed, not exported.  Encodings:
 * docs/PROTOCOL.md, "Identity change history" and "Secure channel". */
#ifndef VEIL_IDENTITY_INTERNAL_H
#define VEIL_IDENTITY_INTERNAL_H

#include <veil/entity.h>
#include <veil/trust_policy.h>
#include <veil/vault.h>

#define VEIL_IDENTITY_HIDDEN __attribute__((visibility("hidden")))

/* A history is version 2 when every key in it is Ed25519 (as veil wrote
 * them before P-256), version 3 when any key is P-256: the lowest version
 * that can say it, so Ed25519 identities still verify with earlier veil
 * releases, and a history has one encoding. */
#define VEIL_HISTORY_VERSION 3u
#define VEIL_HISTORY_VERSION_ED25519 2u
#define VEIL_EVENT_CREATE 1u
#define VEIL_EVENT_ROTATE 2u
/* key_type tags of the history's key records (not veil_secret_type). */
#define VEIL_KEY_TYPE_ED25519 1u
#define VEIL_KEY_TYPE_P256 2u

/* The history tag of identity key type (a veil_secret_type), 0 for a type
 * that cannot be an identity key; and back (0 for an unknown tag). */
VEIL_IDENTITY_HIDDEN unsigned veil__key_tag(int key_type);
VEIL_IDENTITY_HIDDEN int veil__key_type_of_tag(unsigned tag);
/* "ed25519" / "p256" from [identity] key_type or veil_key_times.key_type:
 * VEIL_SECRET_ED25519 / VEIL_SECRET_P256, 0 when unknown. */
VEIL_IDENTITY_HIDDEN int veil__key_type_parse(const char *name);

/* ---- signing domains (identity_sign.c) --------------------------------
 *
 * Every signature made with an identity key covers
 *     len(D):u8 || D || payload
 * where D is one of the internal domains below, or "veil.app:" || context
 * for veil_entity_sign.  The length prefix makes D recoverable from the
 * signed bytes, and no internal domain starts with "veil.app:", so an
 * application signature can never be one of ours, whatever its bytes. */
#define VEIL_DOMAIN_EVENT "veil.identity.event.v2"
#define VEIL_DOMAIN_ATTEST "veil.channel.attest.v2"
#define VEIL_DOMAIN_APP_PREFIX "veil.app:"
#define VEIL_DOMAIN_MAX 255u

/* Sign / verify len(domain) || domain || payload (domain 1..255 bytes).
 * Errors as veil_vault_sign / veil_vault_verify (VEIL_EAUTH: invalid). */
VEIL_IDENTITY_HIDDEN int veil__identity_sign(veil_vault *v, veil_secret key, const char *domain,
                                             const uint8_t *payload, size_t len,
                                             uint8_t sig[VEIL_SIGNATURE_BYTES]);
VEIL_IDENTITY_HIDDEN int veil__identity_verify(veil_vault *v, int key_type, const uint8_t *key,
                                               size_t key_len, const char *domain, const uint8_t *payload,
                                               size_t len, const uint8_t sig[VEIL_SIGNATURE_BYTES]);

/* "veil.app:" || context into out, the context checked (1..
 * VEIL_SIGN_CONTEXT_MAX bytes; VEIL_EINVAL naming fn otherwise). */
VEIL_IDENTITY_HIDDEN int veil__app_domain(const char *context, const char *fn,
                                          char out[VEIL_DOMAIN_MAX + 1]);

/* Attestation of a key agreement static key by an identity key: the
 * payload is key_type:u8 || public key || expires:u64be (0: none). */
#define VEIL_ATTEST_PAYLOAD_MAX (1u + VEIL_PUBLIC_KEY_MAX_BYTES + 8u)
VEIL_IDENTITY_HIDDEN size_t veil__attest_payload(uint8_t out[VEIL_ATTEST_PAYLOAD_MAX],
                                                 int key_type, const uint8_t *pub,
                                                 size_t pub_len, uint64_t expires);

/* ---- change history (identity_history.c) ------------------------------ */

/* Largest encoded event: kind, seq varint, prev, created, expires, key
 * type, key, two signatures. */
#define VEIL_EVENT_BODY_MAX (1u + 10u + 32u + 8u + 8u + 1u + VEIL_IDENTITY_KEY_MAX_BYTES)
#define VEIL_EVENT_MAX_BYTES (VEIL_EVENT_BODY_MAX + 64u + 64u)

/* What decoding a history yields besides veil_history_info: where the
 * events start (after version and count) and the root key (whose SHA-256
 * is the identifier). */
typedef struct veil_history_view {
    veil_history_info info;
    int root_type;               /* veil_secret_type of the root key */
    size_t root_len;
    uint8_t root_key[VEIL_IDENTITY_KEY_MAX_BYTES];
    uint8_t digest[32];          /* SHA-256(root key) or SHA-256(tag || root key) */
    size_t events_offset;        /* first byte of the first event */
    size_t last_event_offset;    /* first byte of the last event */
} veil_history_view;

/* Decode and verify everything that does not depend on the clock
 * (signatures through v, links, times' order, limits).  Errors name the
 * field and the byte offset.  *out is written only on success. */
VEIL_IDENTITY_HIDDEN int veil__history_verify_view(veil_vault *v, const uint8_t *history,
                                                   size_t len, veil_history_view *out);

/* The clock checks of a verified history's current key: not created after
 * now + skew, not expired (its own expiry, capped at created +
 * max_key_lifetime when that is set) before now - skew.  VEIL_EEXPIRED
 * naming the identifier, the event and the times. */
VEIL_IDENTITY_HIDDEN int veil__history_check_clock(const veil_history_info *info,
                                                   const veil_history_clock *clock);

/* A new history: old (NULL for a create) with one event appended for
 * new_key (public new_pub), signed by new_key and, for a rotation, by
 * prev_key.  *out is malloc'd; the result is verified before it is
 * returned. */
VEIL_IDENTITY_HIDDEN int veil__history_append(veil_vault *v, const uint8_t *old, size_t old_len,
                                              veil_secret prev_key, veil_secret new_key,
                                              int new_type, const uint8_t *new_pub,
                                              size_t new_len, uint64_t created,
                                              uint64_t expires, uint8_t **out, size_t *out_len);

/* The identifier's digest of a root key (identity_id.c): SHA-256(key) for
 * Ed25519, SHA-256(tag || key) for P-256, through v. */
VEIL_IDENTITY_HIDDEN int veil__identifier_digest(veil_vault *v, int type, const uint8_t *key,
                                                 size_t len, uint8_t out[32]);
/* "P" + lower-case hex of digest into out (VEIL_IDENTIFIER_LEN + 1). */
VEIL_IDENTITY_HIDDEN void veil__identifier_format(const uint8_t digest[32],
                                                  char out[VEIL_IDENTIFIER_LEN + 1]);

/* ---- settings ([identity]: identity_node.c reads them) ---------------- */

typedef struct veil_identity_settings {
    uint64_t key_lifetime;       /* seconds a new key is valid; 0: no expiry */
    uint64_t clock_skew;         /* seconds */
    uint64_t max_key_lifetime;   /* cap on a peer key's validity; 0: none */
    size_t contacts_max;
    int key_type;                /* of new identity keys: VEIL_SECRET_ED25519 or _P256 */
} veil_identity_settings;

/* The defaults, for entities without a node (identity_history.c). */
VEIL_IDENTITY_HIDDEN void veil__identity_defaults(veil_identity_settings *out);
/* A verification clock for now from settings. */
VEIL_IDENTITY_HIDDEN void veil__identity_clock(const veil_identity_settings *s,
                                               veil_history_clock *out);

/* ---- entities (entity.c) ---------------------------------------------- */

/* The entity's current identity key (handle) and its key-agreement static
 * key with the attestation that binds it (made at create, open and
 * rotate; the static key of an earlier identity key is destroyed by the
 * rotation). */
typedef struct veil_entity_static {
    veil_secret key;
    uint8_t pub[VEIL_X25519_KEY_BYTES];
    uint8_t sig[VEIL_SIGNATURE_BYTES];
    uint64_t expires;            /* the attestation's, = the identity key's */
} veil_entity_static;

VEIL_IDENTITY_HIDDEN veil_secret veil__entity_key(const veil_entity *e);
VEIL_IDENTITY_HIDDEN const veil_entity_static *veil__entity_static(const veil_entity *e);
/* The node's contacts (NULL for an entity made without a node). */
VEIL_IDENTITY_HIDDEN veil_contacts *veil__entity_contacts(const veil_entity *e);
VEIL_IDENTITY_HIDDEN const char *veil__entity_name(const veil_entity *e);
/* The node's contacts are going away before the entity (node stop). */
VEIL_IDENTITY_HIDDEN void veil__entity_leave_node(veil_entity *e);

/* ---- contacts (contacts.c, contacts_store.c) -------------------------- */

/* The node's table, made on first use (reads and checks [identity]). */
VEIL_IDENTITY_HIDDEN int veil__contacts_for(veil_node *node, veil_contacts **out);
VEIL_IDENTITY_HIDDEN const veil_identity_settings *veil__contacts_settings(const veil_contacts *c);
/* An entity on the node: remember it (pin and forget write to its vault)
 * and merge the contacts stored in its vault into the table; forgotten at
 * veil_entity_close. */
VEIL_IDENTITY_HIDDEN int veil__contacts_register(veil_contacts *c, veil_entity *e);
VEIL_IDENTITY_HIDDEN void veil__contacts_unregister(veil_contacts *c, veil_entity *e);

/* The channel check, before the trust policy: 0 when the peer is unknown
 * or presents the known history or one that extends it; VEIL_EREVOKED
 * (logged) for an older one (rollback) or a diverging one (fork), naming
 * the identifier and both change counts.  view comes from a verified
 * history (those bytes). */
VEIL_IDENTITY_HIDDEN int veil__contacts_check(veil_contacts *c, const veil_history_view *view,
                                              const uint8_t *history, size_t len);
/* After the trust policy accepted: remember the peer (new, or a longer
 * history), in the table and as a record in e's vault.  Never fails the
 * channel: a full table or a storage error is logged. */
VEIL_IDENTITY_HIDDEN void veil__contacts_learn(veil_contacts *c, veil_entity *e,
                                               const veil_history_view *view,
                                               const uint8_t *history, size_t len);

/* ---- trust info for channels ------------------------------------------ */

/* A trust info ready for veil_trust_policy_check from a verified history
 * (view) and its bytes; pointers refer to history and to view->info, which
 * must outlive info.  local_identifier and route may be NULL. */
VEIL_IDENTITY_HIDDEN void veil__trust_info_fill(veil_trust_info *info,
                                                const veil_history_view *view,
                                                const uint8_t *history, size_t len,
                                                const char *local_identifier,
                                                const veil_route *route);

#endif
