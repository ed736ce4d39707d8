/* veil — entities (identities) and their signed change history.
 *
 * An entity's identity key is an Ed25519 key held in the entity's vault.
 * Its identifier is "P" followed by the lowercase hex SHA-256 of the ROOT
 * (first) public key, so key rotation keeps the identifier.  The change
 * history is a list of events — creation, then rotations — each signed by
 * the new key and (for rotations) by the previous key; anyone can verify a
 * history and derive the identifier from it.  Encoding: docs/PROTOCOL.md. */
#ifndef VEIL_ENTITY_H
#define VEIL_ENTITY_H

#include <veil/common.h>
#include <veil/node.h>
#include <veil/vault.h>

VEIL_BEGIN_DECLS

#define VEIL_IDENTIFIER_LEN 65u          /* "P" + 64 hex */
#define VEIL_HISTORY_MAX_EVENTS 64u
#define VEIL_HISTORY_MAX_BYTES 16384u

typedef struct veil_entity veil_entity;

/* Create a new identity in vault (NULL: the node's default vault, opened
 * from [vault]).  name labels its keys in the vault ("veil.entity.<name>.*";
 * NULL: a random name) so a persistent vault can re-open it. */
VEIL_EXPORT int veil_entity_create(veil_node *node, veil_vault *vault,
                                   const char *name, veil_entity **out) VEIL_WUR;
/* Re-open an identity created earlier in a persistent vault under name.
 * VEIL_ENOTFOUND if the vault holds no such entity. */
VEIL_EXPORT int veil_entity_open(veil_node *node, veil_vault *vault,
                                 const char *name, veil_entity **out) VEIL_WUR;
/* Drops the caller's reference; the entity (and its reference on its vault)
 * goes when listeners and channels using it have stopped too. */
VEIL_EXPORT void veil_entity_free(veil_entity *e);

VEIL_EXPORT const char *veil_entity_identifier(const veil_entity *e);
VEIL_EXPORT veil_vault *veil_entity_vault(const veil_entity *e);
VEIL_EXPORT veil_node *veil_entity_node(const veil_entity *e);
/* Current identity key (public) and its vault handle. */
VEIL_EXPORT int veil_entity_public_key(const veil_entity *e,
                                       uint8_t out[VEIL_ED25519_PUBLIC_BYTES]) VEIL_WUR;
VEIL_EXPORT veil_secret veil_entity_current_key(const veil_entity *e);
/* Rotate: new key, event signed by the new and the previous key. */
VEIL_EXPORT int veil_entity_rotate(veil_entity *e) VEIL_WUR;
/* The encoded history (valid until the next rotate). */
VEIL_EXPORT const uint8_t *veil_entity_history(const veil_entity *e, size_t *len);
/* Sign with the current identity key. */
VEIL_EXPORT int veil_entity_sign(veil_entity *e, const uint8_t *msg, size_t len,
                                 uint8_t sig[VEIL_SIGNATURE_BYTES]) VEIL_WUR;

/* ---- histories and identifiers (no entity needed) ------------------- */

/* Parse "P<64 hex>" (VEIL_EFORMAT otherwise). */
VEIL_EXPORT int veil_identifier_parse(const char *text,
                                      uint8_t digest[32]) VEIL_WUR;

typedef struct veil_history_info {
    char identifier[VEIL_IDENTIFIER_LEN + 1];
    uint8_t current_key[VEIL_ED25519_PUBLIC_BYTES];
    size_t events;
} veil_history_info;

/* Decode and verify every signature and link; VEIL_EAUTH (bad signature),
 * VEIL_EFORMAT/VEIL_ETRUNCATED/VEIL_ETRAILING/VEIL_ELIMIT (malformed).
 * The vault only computes (hashes, verifies). */
VEIL_EXPORT int veil_history_verify(veil_vault *v, const uint8_t *history,
                                    size_t len, veil_history_info *out) VEIL_WUR;

/* ---- contacts: verified peer histories by identifier ---------------- */

typedef struct veil_contacts veil_contacts;
VEIL_EXPORT int veil_contacts_new(veil_contacts **out) VEIL_WUR;
VEIL_EXPORT void veil_contacts_free(veil_contacts *c);
/* Verify and remember; a newer valid history (same identifier, extends
 * the known one) replaces it; a forged, truncated, or diverging one is
 * refused (VEIL_EAUTH / VEIL_EFORMAT / VEIL_ESTATE) and nothing changes. */
VEIL_EXPORT int veil_contacts_update(veil_contacts *c, veil_vault *v,
                                     const uint8_t *history, size_t len,
                                     veil_history_info *out) VEIL_WUR;
VEIL_EXPORT int veil_contacts_get(const veil_contacts *c, const char *identifier,
                                  veil_history_info *out) VEIL_WUR;

VEIL_END_DECLS
#endif
