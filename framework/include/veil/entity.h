/* veil — entities (identities), their signed change history, and the
 * contacts a node remembers.
 *
 * An entity's identity key is an Ed25519 or an ECDSA P-256 key held in the
 * entity's vault ([identity] key_type; a rotation may change the type).
 * Its identifier is "P" followed by the lowercase hex SHA-256 of the ROOT
 * (first) public key (of its key type tag and the key for P-256: the
 * identifier never matches two keys of different types), so key rotation
 * keeps the identifier.  The change
 * history is a list of events — creation, then rotations — each carrying
 * its key's creation time and expiry, signed by the new key and (for
 * rotations) by the previous key; anyone can verify a history and derive
 * the identifier from it.  Encoding and security properties:
 * docs/PROTOCOL.md ("Identity change history", "Contacts", "Security
 * properties and limits"). */
#ifndef VEIL_ENTITY_H
#define VEIL_ENTITY_H

#include <veil/common.h>
#include <veil/node.h>
#include <veil/vault.h>

VEIL_BEGIN_DECLS

#define VEIL_IDENTIFIER_LEN 65u          /* "P" + 64 hex */
/* Largest identity public key: Ed25519 32 bytes, P-256 33 (compressed). */
#define VEIL_IDENTITY_KEY_MAX_BYTES 33u
#define VEIL_HISTORY_MAX_EVENTS 64u
#define VEIL_HISTORY_MAX_BYTES 16384u

/* Defaults of [identity] (docs/CONFIG.md), in seconds. */
#define VEIL_KEY_LIFETIME_DEFAULT 31536000u      /* 365 days */
#define VEIL_CLOCK_SKEW_DEFAULT 300u             /* 5 minutes */
#define VEIL_MAX_KEY_LIFETIME_DEFAULT 63072000u  /* 730 days */
#define VEIL_CONTACTS_MAX_DEFAULT 1024u

/* When a new identity key is valid: Unix seconds.  created 0: now.
 * expires 0: created + [identity] key_lifetime (itself 0: never);
 * VEIL_EXPIRES_NEVER: never.  key_type: the new key's type,
 * VEIL_SECRET_ED25519 or VEIL_SECRET_P256; 0: [identity] key_type (itself
 * ed25519 by default). */
#define VEIL_EXPIRES_NEVER UINT64_MAX
typedef struct veil_key_times {
    uint64_t created;
    uint64_t expires;
    int key_type;
} veil_key_times;

/* veil_entity_open flags, as open(2)'s O_CREAT and O_EXCL. */
#define VEIL_ENTITY_CREATE 0x1u /* make the entity when the vault has none of that name */
#define VEIL_ENTITY_EXCL 0x2u   /* with CREATE: VEIL_EEXIST when it already exists */

/* Open the identity named name in vault (NULL: the node's default vault,
 * opened from [vault]).  name labels its keys and records in the vault
 * ("veil.entity.<name>.*") so a persistent vault re-opens it; NULL (only
 * with VEIL_ENTITY_CREATE) makes a new entity under a random name.  The
 * vault must implement records (veil/vault.h): the history is stored as
 * one.  With a node, the entity joins the node's contacts (their records
 * in its vault are merged into the table).
 * Without CREATE: VEIL_ENOTFOUND if the vault holds no such entity;
 * VEIL_EVERSION for an entity made before histories were stored (history
 * version 1), VEIL_EEXIST (with CREATE|EXCL) for a name already used. */
VEIL_EXPORT int veil_entity_open(veil_node *node, veil_vault *vault, const char *name,
                                 unsigned flags, veil_entity **out) VEIL_WUR;
/* The same with the root key's times, used when the entity is made
 * (NULL: now, no expiry; only valid with VEIL_ENTITY_CREATE). */
VEIL_EXPORT int veil_entity_open_with(veil_node *node, veil_vault *vault, const char *name,
                                      unsigned flags, const veil_key_times *times,
                                      veil_entity **out) VEIL_WUR;
/* Drops the caller's reference; the entity (and its reference on its vault)
 * goes when listeners and channels using it have stopped too.  NULL ok. */
VEIL_EXPORT void veil_entity_close(veil_entity *e);

VEIL_EXPORT const char *veil_entity_identifier(const veil_entity *e);
VEIL_EXPORT veil_vault *veil_entity_vault(const veil_entity *e);
VEIL_EXPORT veil_node *veil_entity_node(const veil_entity *e);
/* Current identity key (public): its type (VEIL_SECRET_ED25519 or
 * VEIL_SECRET_P256), bytes and length (32, or 33: a compressed point). */
VEIL_EXPORT int veil_entity_public_key(const veil_entity *e, int *key_type,
                                       uint8_t out[VEIL_IDENTITY_KEY_MAX_BYTES],
                                       size_t *len) VEIL_WUR;
/* Where the current identity key and its key-agreement static key live
 * (veil_vault_key_location of each: VEIL_KEY_IN_TOKEN for an identity in
 * the pkcs11 vault, VEIL_KEY_IN_SOFTWARE otherwise), with a description of
 * each place in key_where / static_where (cap bytes each; NULL when cap is
 * 0), for tools that show an identity. */
VEIL_EXPORT int veil_entity_key_location(const veil_entity *e, int *key_location,
                                         int *static_location, char *key_where,
                                         char *static_where, size_t cap) VEIL_WUR;
/* Rotate: a new identity key (event signed by the new and the previous
 * key), a new key-agreement static key attested by it; the previous
 * identity key and static key are destroyed in the vault once the new
 * history is stored.  VEIL_EEXPIRED when the current key has expired (an
 * expired key cannot authorise a successor), VEIL_ELIMIT after 63
 * rotations; nothing changes on failure. */
VEIL_EXPORT int veil_entity_rotate(veil_entity *e) VEIL_WUR;
/* The same with the new key's times (NULL: as veil_entity_rotate). */
VEIL_EXPORT int veil_entity_rotate_with(veil_entity *e, const veil_key_times *times) VEIL_WUR;
/* The encoded history (valid until the next rotate). */
VEIL_EXPORT const uint8_t *veil_entity_history(const veil_entity *e, size_t *len);

/* ---- application signatures ----------------------------------------- */

/* Sign msg with the current identity key for the application.  The
 * signature covers len || "veil.app:" || context || msg (docs/PROTOCOL.md,
 * "Signing domains"), so it can never be taken for one of veil's own
 * signatures (change events, static key attestations), whatever msg holds;
 * different contexts never verify for each other.  context: 1..
 * VEIL_SIGN_CONTEXT_MAX bytes, e.g. "myapp.invoice.v1". */
#define VEIL_SIGN_CONTEXT_MAX 128u
VEIL_EXPORT int veil_entity_sign(veil_entity *e, const char *context, const uint8_t *msg,
                                 size_t len, uint8_t sig[VEIL_SIGNATURE_BYTES]) VEIL_WUR;
/* Verify a veil_entity_sign signature under public_key of key_type (the
 * signer's current key, e.g. veil_history_info's key_type, current_key and
 * key_len of its verified history).  0 valid, VEIL_EAUTH invalid,
 * VEIL_EINVAL for a key type or length that is no identity key's,
 * VEIL_EFORMAT for a P-256 key that is no point of the curve.  The vault
 * only computes. */
VEIL_EXPORT int veil_identity_verify(veil_vault *v, int key_type, const uint8_t *public_key,
                                     size_t public_len, const char *context, const uint8_t *msg,
                                     size_t len,
                                     const uint8_t sig[VEIL_SIGNATURE_BYTES]) VEIL_WUR;

/* ---- histories and identifiers (no entity needed) ------------------- */

/* Parse "P<64 hex>" (VEIL_EFORMAT otherwise). */
VEIL_EXPORT int veil_identifier_parse(const char *text,
                                      uint8_t digest[32]) VEIL_WUR;

typedef struct veil_history_info {
    char identifier[VEIL_IDENTIFIER_LEN + 1];
    int key_type;                /* of the current key: VEIL_SECRET_ED25519 or _P256 */
    size_t key_len;              /* 32 or 33 */
    uint8_t current_key[VEIL_IDENTITY_KEY_MAX_BYTES];
    size_t events;
    uint64_t created;            /* the current key's, Unix seconds */
    uint64_t expires;            /* the current key's; 0: no expiry of its own */
} veil_history_info;

/* The time against which a history's current key is checked. */
typedef struct veil_history_clock {
    uint64_t now;                /* Unix seconds */
    uint64_t clock_skew;         /* allowance both ways, seconds */
    uint64_t max_key_lifetime;   /* 0: no cap; else a key counts as expired
                                  * max_key_lifetime after its creation */
} veil_history_clock;

/* Decode and verify every signature, link and time rule, then the current
 * key against the clock (NULL: skip the clock checks, e.g. to inspect a
 * stored history).  VEIL_EAUTH (bad signature), VEIL_EEXPIRED (expired,
 * not yet valid, or signed by an expired predecessor),
 * VEIL_EFORMAT/VEIL_ETRUNCATED/VEIL_ETRAILING/VEIL_ELIMIT/VEIL_EVERSION
 * (malformed).  The vault only computes (hashes, verifies). */
VEIL_EXPORT int veil_history_verify_at(veil_vault *v, const uint8_t *history, size_t len,
                                       const veil_history_clock *clock,
                                       veil_history_info *out) VEIL_WUR;
/* veil_history_verify_at with the system clock and the defaults above. */
VEIL_EXPORT int veil_history_verify(veil_vault *v, const uint8_t *history,
                                    size_t len, veil_history_info *out) VEIL_WUR;

/* One event of a history (veil_history_events). */
typedef struct veil_history_event {
    uint64_t seq;                /* 0: the creation, then one per rotation */
    int key_type;                /* VEIL_SECRET_ED25519 or VEIL_SECRET_P256 */
    size_t key_len;              /* 32 or 33 */
    uint8_t key[VEIL_IDENTITY_KEY_MAX_BYTES]; /* the identity key it made current */
    uint64_t created;            /* that key's, Unix seconds */
    uint64_t expires;            /* that key's; 0: no expiry of its own */
} veil_history_event;

/* Verify the history as veil_history_verify_at does without a clock, then
 * copy its events, oldest first, into out[0..cap) and their number into
 * *n.  VEIL_ELIMIT when cap is too small (*n is then the number needed;
 * out NULL with cap 0 asks only for it).  Errors of the verification as
 * veil_history_verify_at (nothing is written to out then). */
VEIL_EXPORT int veil_history_events(veil_vault *v, const uint8_t *history, size_t len,
                                    veil_history_event *out, size_t cap,
                                    size_t *n) VEIL_WUR;

/* ---- contacts: the peer histories a node knows ---------------------- */

/* Every node has one table, shared by all channels of all its entities in
 * both roles.  A peer is remembered after its channel's trust policy
 * accepted it; from then on it must present the same history or one that
 * extends it: an older one (rollback) or a different one (fork) is
 * refused with VEIL_EREVOKED.  Tables are bounded ([identity]
 * contacts_max) and persisted as records in the vaults of the node's
 * entities.  Use from the node's thread.  docs/PROTOCOL.md, "Contacts". */
typedef struct veil_contacts veil_contacts;

typedef struct veil_contact_info {
    veil_history_info history;   /* as known (clock not checked) */
    bool pinned;                 /* given by the application */
} veil_contact_info;

/* The node's table (made on first use; lives until the node stops). */
VEIL_EXPORT int veil_contacts_of(veil_node *node, veil_contacts **out) VEIL_WUR;
VEIL_EXPORT size_t veil_contacts_count(const veil_contacts *c);
/* VEIL_ENOTFOUND when the identifier is not known. */
VEIL_EXPORT int veil_contacts_get(const veil_contacts *c, const char *identifier,
                                  veil_contact_info *out) VEIL_WUR;
/* The known history's bytes into out[0..cap) (out NULL: only *len);
 * VEIL_ELIMIT when cap is too small. */
VEIL_EXPORT int veil_contacts_history(const veil_contacts *c, const char *identifier,
                                      uint8_t *out, size_t cap, size_t *len) VEIL_WUR;
/* Every contact, in no particular order; a non-zero return stops the walk
 * and is returned.  The table must not change from inside fn. */
typedef int (*veil_contact_fn)(void *arg, const veil_contact_info *info);
VEIL_EXPORT int veil_contacts_list(const veil_contacts *c, veil_contact_fn fn,
                                   void *arg) VEIL_WUR;
/* Pin a history obtained out of band (verified through v; the clock is
 * not checked), so that even a first channel with that peer cannot be a
 * rollback or a fork: it is remembered like a learned one, marked pinned,
 * and stored in the vault of every entity open on the node.  The same
 * extend-only rule applies: pinning a history older than the known one
 * keeps the known one (now pinned); a fork of the known one is
 * VEIL_EREVOKED (forget it first if you trust the new one).
 * VEIL_ELIMIT when the table is full.  Nothing changes on failure. */
VEIL_EXPORT int veil_contacts_pin(veil_contacts *c, veil_vault *v, const uint8_t *history,
                                  size_t len, veil_contact_info *out) VEIL_WUR;
/* Forget a contact (pinned or not), in the table and in the vaults of
 * the entities open on the node: its next channel is a first contact
 * again.  VEIL_ENOTFOUND when not known. */
VEIL_EXPORT int veil_contacts_forget(veil_contacts *c, const char *identifier) VEIL_WUR;

VEIL_END_DECLS
#endif
