/* Contacts in the node's state store (veil_node_store: [store], sqlite at
 * [node] state_dir, memory when nothing is configured).
 *
 * Namespace "veil.contacts", key the identifier ("P<64 hex>"), value the
 * same layout as the vault records (contacts_store.c): version:u8 (1) ||
 * flags:u8 (bit 0: pinned) || the encoded history.  Nothing secret.
 *
 * A stored history only ever grows: a write reads the stored record,
 * compares it with what it writes (veil__contact_relation) and writes
 * with the version it read (compare-and-set), retrying when someone
 * wrote in between.  A stored history that is longer, or forks, is never
 * replaced, so no restart, stale writer or second node sharing the store
 * takes a contact back to a shorter history.  On the first entity opened
 * on the node the stored contacts are verified and merged into the
 * node's table, extend-only (merge: contacts_store.c). */
#include <veil/entity.h>
#include <veil/error.h>
#include <veil/log.h>
#include <veil/store.h>

#include <stdlib.h>
#include <string.h>

#include "contacts_internal.h"

#define NS "veil.contacts"
#define HEADER 2u
#define ATTEMPTS 8

/* What the stored record holds relative to (h, len): a veil__contact_relation
 * answer, or VEIL_CONTACT_NEW for an unreadable record (then replaced). */
static int stored_relation(veil_vault *v, const char *id, const uint8_t *cur, size_t n,
                           const veil_history_view *view, const uint8_t *h, size_t len,
                           bool *pinned)
{
    veil_history_view sv;
    size_t at;
    if (n < HEADER || cur[0] != 1 || veil__history_verify_view(v, cur + HEADER, n - HEADER,
                                                               &sv) < 0 ||
        strcmp(sv.info.identifier, id) != 0) {
        veil_log(VEIL_LOG_WARN, "contacts", "store record " NS "/%s does not hold a valid "
                 "history of that identifier: replaced", id);
        return VEIL_CONTACT_NEW;
    }
    *pinned = (cur[1] & 1u) != 0;
    veil_contact known = { .history = (uint8_t *)cur + HEADER, .len = n - HEADER,
                           .events_offset = sv.events_offset };
    return veil__contact_relation(&known, view, h, len, &at);
}

/* One compare-and-set round: 0 done, VEIL_ESTATE/VEIL_EEXIST lost a race. */
static int save_once(veil_store *s, veil_vault *v, const char *id,
                     const veil_history_view *view, const uint8_t *h, size_t len, bool pinned,
                     uint8_t *buf)
{
    size_t n = 0;
    uint64_t ver = 0, expected = VEIL_STORE_ABSENT;
    bool was_pinned = false;
    int rel = VEIL_CONTACT_NEW;
    int rc = veil_store_get(s, NS, id, buf, HEADER + VEIL_HISTORY_MAX_BYTES, &n, &ver);
    if (rc == 0) {
        expected = ver;
        rel = stored_relation(v, id, buf, n, view, h, len, &was_pinned);
    } else if (rc != VEIL_ENOTFOUND) {
        return rc;
    }
    if (rel == VEIL_CONTACT_FORK)
        return veil_error_set(VEIL_EREVOKED, "contacts: the store holds a history of %s that "
                              "forks from this one: kept", id);
    if ((rel == VEIL_CONTACT_SAME || rel == VEIL_CONTACT_OLDER) && (was_pinned || !pinned))
        return 0; /* the stored one is as long or longer, and as pinned */
    if (rel == VEIL_CONTACT_SAME || rel == VEIL_CONTACT_OLDER) {
        buf[1] |= 1u; /* keep the longer stored history, now pinned */
    } else {
        buf[0] = 1;
        buf[1] = (pinned || was_pinned) ? 1u : 0u;
        memcpy(buf + HEADER, h, len);
        n = HEADER + len;
    }
    return veil_store_put(s, NS, id, buf, n, expected, NULL);
}

int veil__contacts_state_save(veil_contacts *c, veil_vault *v, const veil_history_view *view,
                              const uint8_t *h, size_t len, bool pinned)
{
    if (c->store == NULL)
        return 0;
    if (len > VEIL_HISTORY_MAX_BYTES)
        return veil_error_set(VEIL_ELIMIT, "contacts: history of %zu bytes", len);
    uint8_t *buf = malloc(HEADER + VEIL_HISTORY_MAX_BYTES);
    if (buf == NULL)
        return veil_error_set(VEIL_ENOMEM, "contacts: out of memory");
    int rc = VEIL_ESTATE;
    for (int i = 0; i < ATTEMPTS && (rc == VEIL_ESTATE || rc == VEIL_EEXIST); i++)
        rc = save_once(c->store, v, view->info.identifier, view, h, len, pinned, buf);
    free(buf);
    return rc < 0 ? veil_error_wrap(rc, "contacts: storing %s in the node's store",
                                    view->info.identifier)
                  : 0;
}

int veil__contacts_state_forget(veil_contacts *c, const char *identifier)
{
    if (c->store == NULL)
        return 0;
    int rc = veil_store_delete(c->store, NS, identifier, VEIL_STORE_ANY);
    return rc == VEIL_ENOTFOUND ? 0 : rc;
}

typedef struct load_ctx {
    veil_contacts *c;
    veil_entity *e;
} load_ctx;

static int load_one(void *arg, const char *key, const uint8_t *value, size_t len,
                    uint64_t version)
{
    load_ctx *x = arg;
    char name[VEIL_RECORD_NAME_MAX + 1];
    (void)version;
    if (strlen(VEIL_CONTACT_RECORD_PREFIX) + strlen(key) >= sizeof name) {
        veil_log(VEIL_LOG_WARN, "contacts", "store record " NS "/%s: not an identifier: "
                 "skipped", key);
        return 0;
    }
    memcpy(name, VEIL_CONTACT_RECORD_PREFIX, strlen(VEIL_CONTACT_RECORD_PREFIX));
    memcpy(name + strlen(VEIL_CONTACT_RECORD_PREFIX), key, strlen(key) + 1);
    veil__contact_merge(x->c, x->e, name, value, len);
    return 0;
}

int veil__contacts_state_load(veil_contacts *c, veil_entity *e)
{
    if (c->store == NULL || c->state_loaded)
        return 0;
    load_ctx x = { c, e };
    int rc = veil_store_list(c->store, NS, "", load_one, &x);
    if (rc < 0)
        return veil_error_wrap(rc, "contacts: loading the node's store");
    c->state_loaded = true;
    return 0;
}
