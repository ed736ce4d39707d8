/* Core-internal helpers for identities and trust decisions, shared by
 * entity.c, contacts.c, trust.c and the secure channels.  Not installed,
 * not exported.  Encoding of the change history: docs/PROTOCOL.md,
 * "Identity change history". */
#ifndef VEIL_IDENTITY_INTERNAL_H
#define VEIL_IDENTITY_INTERNAL_H

#include <veil/entity.h>
#include <veil/trust_policy.h>
#include <veil/vault.h>

#define VEIL_IDENTITY_HIDDEN __attribute__((visibility("hidden")))

#define VEIL_HISTORY_VERSION 1u
#define VEIL_EVENT_CREATE 1u
#define VEIL_EVENT_ROTATE 2u
#define VEIL_KEY_TYPE_ED25519 1u
/* Signed bytes of an event: this domain string, then the event body
 * (kind seq prev key_type key, exactly as encoded). */
#define VEIL_EVENT_DOMAIN "veil.identity.event.v1"
/* Largest encoded event: kind, 10-byte varint, prev, key type, key, two
 * signatures. */
#define VEIL_EVENT_MAX_BYTES (1u + 10u + 32u + 1u + 32u + 64u + 64u)

/* What decoding a history yields besides veil_history_info: where the
 * events start (after version and count) and the root key (whose SHA-256
 * is the identifier). */
typedef struct veil_history_view {
    veil_history_info info;
    uint8_t root_key[VEIL_ED25519_PUBLIC_BYTES];
    uint8_t digest[32];          /* SHA-256(root key) */
    size_t events_offset;        /* first byte of the first event */
} veil_history_view;

/* Decode and fully verify (signatures through v, links, limits).  Errors
 * name the field and the byte offset.  *out is written only on success. */
VEIL_IDENTITY_HIDDEN int veil__history_verify_view(veil_vault *v, const uint8_t *history,
                                                   size_t len, veil_history_view *out);

/* Encode one event's body (kind seq prev key_type key) into out (at least
 * VEIL_EVENT_MAX_BYTES); returns its length. */
VEIL_IDENTITY_HIDDEN size_t veil__event_body(uint8_t *out, unsigned kind, uint64_t seq,
                                             const uint8_t prev[32],
                                             const uint8_t key[VEIL_ED25519_PUBLIC_BYTES]);

/* Build an encoded history from the entity's keys (keys[0] is the root),
 * signing every event again (Ed25519 is deterministic, so the result is
 * the same bytes each time).  *out is malloc'd. */
VEIL_IDENTITY_HIDDEN int veil__history_build(veil_vault *v, const veil_secret *keys,
                                             size_t n, uint8_t **out, size_t *out_len);

/* "P" + lower-case hex of digest into out (VEIL_IDENTIFIER_LEN + 1). */
VEIL_IDENTITY_HIDDEN void veil__identifier_format(const uint8_t digest[32],
                                                  char out[VEIL_IDENTIFIER_LEN + 1]);

/* For the secure channels: verify a peer's history and fill a trust info
 * ready for veil_trust_policy_check.  info's pointers refer to history (the
 * caller's bytes, which must stay valid during the check) and to
 * view->info (identifier, current key), so view must outlive info too.
 * local_identifier and route may be NULL.  Errors as veil_history_verify. */
VEIL_IDENTITY_HIDDEN int veil__trust_info_from_history(veil_vault *v, const uint8_t *history,
                                                       size_t len, const char *local_identifier,
                                                       const veil_route *route,
                                                       veil_history_view *view,
                                                       veil_trust_info *info);

/* Same, through a contacts table: the history is verified (or found
 * byte-identical to the one stored, which skips the signature checks) and
 * remembered; an older or diverging history of a known peer is refused
 * (VEIL_ESTATE, see veil_contacts_update).  info's pointers refer to history
 * and to *hi, which must outlive info. */
VEIL_IDENTITY_HIDDEN int veil__trust_info_from_contact(veil_contacts *c, veil_vault *v,
                                                       const uint8_t *history, size_t len,
                                                       const char *local_identifier,
                                                       const veil_route *route,
                                                       veil_history_info *hi,
                                                       veil_trust_info *info);

#endif
