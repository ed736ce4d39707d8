/* The contacts table's layout, shared by identity_node.c (one table per
 * node, [identity] settings), contacts.c (the table, the channel checks,
 * the public API) and contacts_store.c (records in the entities' vaults).
 * Not installed, not exported.  docs/PROTOCOL.md, "Contacts". */
#ifndef VEIL_CONTACTS_INTERNAL_H
#define VEIL_CONTACTS_INTERNAL_H

#include <stdbool.h>

#include "identity_internal.h"

typedef struct veil_contact {
    uint8_t digest[32];           /* SHA-256 of the root key: the identifier */
    uint8_t *history;
    size_t len;
    size_t events_offset;
    veil_history_info info;
    bool pinned;
} veil_contact;

struct veil_contacts {
    veil_identity_settings set;
    veil_contact **by_digest;     /* sorted by digest */
    size_t count, cap;
    veil_entity **entities;       /* entities open on the node (not references) */
    size_t nentities, entities_cap;
    struct veil_store *store;     /* the node's store (veil_node_store), not owned */
    bool state_loaded;            /* its contacts merged (at the first entity) */
};

/* How a presented history relates to the known one. */
enum {
    VEIL_CONTACT_NEW = 0,         /* not known */
    VEIL_CONTACT_SAME = 1,
    VEIL_CONTACT_EXTENDS = 2,     /* the known events, then more */
    VEIL_CONTACT_OLDER = 3,       /* a strict prefix of the known events */
    VEIL_CONTACT_FORK = 4,        /* differs within the known events */
};

/* contacts.c */
VEIL_IDENTITY_HIDDEN veil_contact *veil__contact_find(const veil_contacts *c,
                                                      const uint8_t digest[32]);
/* Relation of (view, h, len) to known (NULL: NEW); *at: the first event
 * that differs, for FORK. */
VEIL_IDENTITY_HIDDEN int veil__contact_relation(const veil_contact *known,
                                                const veil_history_view *view,
                                                const uint8_t *h, size_t len, size_t *at);
/* Insert or replace (history copied).  VEIL_ENOMEM; VEIL_ELIMIT when a new
 * contact does not fit contacts_max. */
VEIL_IDENTITY_HIDDEN int veil__contact_put(veil_contacts *c, const veil_history_view *view,
                                           const uint8_t *h, size_t len, bool pinned);
VEIL_IDENTITY_HIDDEN void veil__contacts_free_all(veil_contacts *c);

/* contacts_store.c: record "veil.contact.<identifier>" = version:u8 (1)
 * flags:u8 (bit 0 pinned) history. */
#define VEIL_CONTACT_RECORD_PREFIX "veil.contact."
VEIL_IDENTITY_HIDDEN int veil__contact_store(veil_vault *v, const char *identifier,
                                             const uint8_t *h, size_t len, bool pinned);
/* Store in (or, h NULL, delete from) the vault of every entity open on the
 * node, each vault once.  The first error is returned. */
VEIL_IDENTITY_HIDDEN int veil__contact_store_all(veil_contacts *c, const char *identifier,
                                                 const uint8_t *h, size_t len, bool pinned);
/* Merge the contacts stored in e's vault into the table (extend-only;
 * conflicts and unreadable records are logged and skipped). */
VEIL_IDENTITY_HIDDEN int veil__contacts_load(veil_contacts *c, veil_entity *e);
/* Verify one stored contact (record name, value) with e's vault and merge
 * it, extend-only; problems are logged and the record skipped. */
VEIL_IDENTITY_HIDDEN void veil__contact_merge(veil_contacts *c, veil_entity *e, const char *name,
                                              const uint8_t *value, size_t len);

/* contacts_state.c: contacts in the node's store (namespace veil.contacts,
 * key the identifier, the record layout above); a stored history is only
 * ever replaced by one extending it (compare-and-set). */
VEIL_IDENTITY_HIDDEN int veil__contacts_state_save(veil_contacts *c, veil_vault *v,
                                                   const veil_history_view *view,
                                                   const uint8_t *h, size_t len, bool pinned);
VEIL_IDENTITY_HIDDEN int veil__contacts_state_forget(veil_contacts *c, const char *identifier);
/* Once per table, at the first entity: merge the stored contacts. */
VEIL_IDENTITY_HIDDEN int veil__contacts_state_load(veil_contacts *c, veil_entity *e);

#endif
