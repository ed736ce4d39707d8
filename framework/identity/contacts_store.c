/* Contacts kept with the entities' vaults (until a node state store
 * exists): each contact is a record "veil.contact.<identifier>" holding
 * version:u8 (1) || flags:u8 (bit 0: pinned) || the encoded history.  A
 * persistent vault (the file vault) thereby keeps what its entities'
 * channels learned across restarts; opening an entity on a node merges
 * its vault's contacts into the node's table, extend-only. */
#include <veil/entity.h>
#include <veil/error.h>
#include <veil/log.h>
#include <veil/vault.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contacts_internal.h"

#define RECORD_VERSION 1u
#define FLAG_PINNED 0x01u
#define RECORD_HEADER 2u

static void record_name(const char *identifier, char out[VEIL_RECORD_NAME_MAX + 1])
{
    snprintf(out, VEIL_RECORD_NAME_MAX + 1, VEIL_CONTACT_RECORD_PREFIX "%s", identifier);
}

int veil__contact_store(veil_vault *v, const char *identifier, const uint8_t *h, size_t len,
                        bool pinned)
{
    char name[VEIL_RECORD_NAME_MAX + 1];
    uint8_t *value = malloc(RECORD_HEADER + len);
    if (value == NULL)
        return veil_error_set(VEIL_ENOMEM, "contacts: out of memory");
    value[0] = RECORD_VERSION;
    value[1] = pinned ? FLAG_PINNED : 0;
    memcpy(value + RECORD_HEADER, h, len);
    record_name(identifier, name);
    int rc = veil_vault_record_put(v, name, value, RECORD_HEADER + len);
    free(value);
    return rc;
}

int veil__contact_store_all(veil_contacts *c, const char *identifier, const uint8_t *h,
                            size_t len, bool pinned)
{
    char name[VEIL_RECORD_NAME_MAX + 1];
    int first = 0;
    record_name(identifier, name);
    for (size_t i = 0; i < c->nentities; i++) {
        veil_vault *v = veil_entity_vault(c->entities[i]);
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = veil_entity_vault(c->entities[j]) == v;
        if (seen)
            continue;
        int rc = h != NULL ? veil__contact_store(v, identifier, h, len, pinned)
                           : veil_vault_record_delete(v, name);
        if (rc == VEIL_ENOTFOUND && h == NULL)
            rc = 0;
        if (rc < 0 && first == 0)
            first = veil_error_wrap(rc, "contacts: the vault of entity '%s'",
                                    veil__entity_name(c->entities[i]));
    }
    return first;
}

typedef struct load_ctx {
    veil_contacts *c;
    veil_entity *e;
    veil_vault *v;
} load_ctx;

/* One stored contact: read, verify, merge.  Problems are logged and the
 * record skipped (a damaged record must not keep the entity closed). */
void veil__contact_merge(veil_contacts *c, veil_entity *e, const char *name,
                         const uint8_t *value, size_t len)
{
    load_ctx ctx = { c, e, veil_entity_vault(e) }, *x = &ctx;
    const char *who = veil__entity_name(x->e);
    veil_history_view view;
    if (len < RECORD_HEADER || value[0] != RECORD_VERSION) {
        veil_log(VEIL_LOG_WARN, "contacts", "entity '%s': record '%s' is not a contact of "
                 "version %u: skipped", who, name, RECORD_VERSION);
        return;
    }
    const uint8_t *h = value + RECORD_HEADER;
    size_t hlen = len - RECORD_HEADER;
    if (veil__history_verify_view(x->v, h, hlen, &view) < 0 ||
        strcmp(name + strlen(VEIL_CONTACT_RECORD_PREFIX), view.info.identifier) != 0) {
        veil_log(VEIL_LOG_WARN, "contacts", "entity '%s': record '%s' does not hold a valid "
                 "history of that identifier: skipped (%s)", who, name, veil_last_error());
        return;
    }
    veil_contact *known = veil__contact_find(x->c, view.digest);
    bool pinned = (value[1] & FLAG_PINNED) != 0;
    size_t at = 0;
    int rel = veil__contact_relation(known, &view, h, hlen, &at);
    if (rel == VEIL_CONTACT_FORK) {
        veil_log(VEIL_LOG_WARN, "contacts", "entity '%s': stored contact %s (%zu events) forks "
                 "from the %zu events this node knows at event %zu: the node's is kept", who,
                 view.info.identifier, view.info.events, known->info.events, at);
        return;
    }
    if (rel == VEIL_CONTACT_SAME || rel == VEIL_CONTACT_OLDER) {
        known->pinned = known->pinned || pinned;
        return;
    }
    if (veil__contact_put(x->c, &view, h, hlen, pinned) < 0)
        veil_log(VEIL_LOG_WARN, "contacts", "entity '%s': stored contact not loaded: %s", who,
                 veil_last_error());
}

static int load_one(void *arg, const char *name, size_t len)
{
    load_ctx *x = arg;
    uint8_t *value = malloc(len ? len : 1);
    if (value == NULL)
        return veil_error_set(VEIL_ENOMEM, "contacts: out of memory");
    size_t got = 0;
    int rc = veil_vault_record_get(x->v, name, value, len, &got);
    if (rc == 0)
        veil__contact_merge(x->c, x->e, name, value, got);
    free(value);
    return rc;
}

int veil__contacts_load(veil_contacts *c, veil_entity *e)
{
    load_ctx x = { c, e, veil_entity_vault(e) };
    int rc = veil_vault_record_list(x.v, VEIL_CONTACT_RECORD_PREFIX, load_one, &x);
    return rc < 0 ? veil_error_wrap(rc, "entity '%s': loading its stored contacts",
                                    veil__entity_name(e))
                  : 0;
}
