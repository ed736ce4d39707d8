/* Contacts: the verified peer histories a node knows, by identifier.
 *
 * One table per node (identity_node.c), used by both roles of every
 * channel of every entity on the node.  A peer is remembered only after
 * its channel's trust policy accepted it (so an unauthenticated party, or
 * one the policy refuses, cannot fill the table), and from then on the
 * history it presents must be the known one or extend it: the known
 * events byte for byte, then more.  An older history (a rollback to a key
 * that was rotated away) or a diverging one (a fork signed by an old key)
 * is refused with VEIL_EREVOKED.  Bounded by [identity] contacts_max; when
 * full, new peers are not remembered (logged) and nothing is evicted, so a
 * flood of new identities can never push out a known one.
 *
 * The table is a digest-sorted array of pointers (binary search); the
 * identifier's digest is SHA-256 output, compared as bytes.  Not
 * thread-safe: the node's thread only. */
#include <veil/entity.h>
#include <veil/error.h>
#include <veil/log.h>

#include <stdlib.h>
#include <string.h>

#include "contacts_internal.h"

/* Event sizes of history version 2 with one-byte seq (at most 64 events,
 * so always): used only to name the event where two histories differ. */
#define CREATE_BYTES (1u + 1u + 32u + 16u + 1u + 32u + 64u)
#define ROTATE_BYTES (CREATE_BYTES + 64u)

static size_t index_of(const veil_contacts *c, const uint8_t digest[32], bool *found)
{
    size_t lo = 0, hi = c->count;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = memcmp(c->by_digest[mid]->digest, digest, 32);
        if (d == 0) {
            *found = true;
            return mid;
        }
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

veil_contact *veil__contact_find(const veil_contacts *c, const uint8_t digest[32])
{
    bool found;
    size_t i = index_of(c, digest, &found);
    return found ? c->by_digest[i] : NULL;
}

static size_t event_at_byte(size_t off)
{
    return off < CREATE_BYTES ? 0 : 1 + (off - CREATE_BYTES) / ROTATE_BYTES;
}

int veil__contact_relation(const veil_contact *known, const veil_history_view *view,
                           const uint8_t *h, size_t len, size_t *at)
{
    if (known == NULL)
        return VEIL_CONTACT_NEW;
    const uint8_t *k = known->history + known->events_offset, *p = h + view->events_offset;
    size_t kn = known->len - known->events_offset, pn = len - view->events_offset;
    size_t common = kn < pn ? kn : pn, same = 0;
    while (same < common && k[same] == p[same])
        same++;
    if (same == common && kn == pn)
        return VEIL_CONTACT_SAME;
    if (same == common)
        return pn > kn ? VEIL_CONTACT_EXTENDS : VEIL_CONTACT_OLDER;
    *at = event_at_byte(same);
    return VEIL_CONTACT_FORK;
}

static void contact_free(veil_contact *ct)
{
    if (ct != NULL) {
        free(ct->history);
        free(ct);
    }
}

void veil__contacts_free_all(veil_contacts *c)
{
    for (size_t i = 0; i < c->count; i++)
        contact_free(c->by_digest[i]);
    free(c->by_digest);
    c->by_digest = NULL;
    c->count = c->cap = 0;
}

int veil__contact_put(veil_contacts *c, const veil_history_view *view, const uint8_t *h,
                      size_t len, bool pinned)
{
    bool found;
    size_t i = index_of(c, view->digest, &found);
    if (!found && c->count >= c->set.contacts_max)
        return veil_error_set(VEIL_ELIMIT, "contacts: the table is full (contacts_max = %zu): "
                              "%s is not remembered", c->set.contacts_max,
                              view->info.identifier);
    uint8_t *copy = malloc(len);
    veil_contact *ct = found ? c->by_digest[i] : calloc(1, sizeof *ct);
    if (!found && ct != NULL && c->count == c->cap) {
        size_t ncap = c->cap ? 2 * c->cap : 16;
        veil_contact **n = realloc(c->by_digest, ncap * sizeof *n);
        if (n != NULL) {
            c->by_digest = n;
            c->cap = ncap;
        }
    }
    if (copy == NULL || ct == NULL || c->count == c->cap) {
        free(copy);
        if (!found)
            free(ct);
        return veil_error_set(VEIL_ENOMEM, "contacts: out of memory");
    }
    memcpy(copy, h, len);
    if (!found) {
        memmove(&c->by_digest[i + 1], &c->by_digest[i], (c->count - i) * sizeof *c->by_digest);
        c->by_digest[i] = ct;
        c->count++;
    }
    free(ct->history);
    memcpy(ct->digest, view->digest, 32);
    ct->history = copy;
    ct->len = len;
    ct->events_offset = view->events_offset;
    ct->info = view->info;
    ct->pinned = ct->pinned || pinned;
    return 0;
}

/* ---- the channel checks ---------------------------------------------- */

int veil__contacts_check(veil_contacts *c, const veil_history_view *view, const uint8_t *h,
                         size_t len)
{
    if (c == NULL)
        return 0;
    const veil_contact *known = veil__contact_find(c, view->digest);
    size_t at = 0;
    int rel = veil__contact_relation(known, view, h, len, &at);
    if (rel != VEIL_CONTACT_OLDER && rel != VEIL_CONTACT_FORK)
        return 0;
    if (rel == VEIL_CONTACT_OLDER)
        veil_error_set(VEIL_EREVOKED, "identity %s presented a change history of %zu events, "
                       "older than the %zu events this node knows (a rollback to a rotated-away "
                       "key): refused", view->info.identifier, view->info.events,
                       known->info.events);
    else
        veil_error_set(VEIL_EREVOKED, "identity %s presented a change history of %zu events "
                       "that forks from the %zu events this node knows at event %zu (signed by "
                       "a superseded key): refused", view->info.identifier, view->info.events,
                       known->info.events, at);
    veil_log(VEIL_LOG_WARN, "contacts", "%s", veil_last_error());
    return VEIL_EREVOKED;
}

void veil__contacts_learn(veil_contacts *c, veil_entity *e, const veil_history_view *view,
                          const uint8_t *h, size_t len)
{
    if (c == NULL)
        return;
    const veil_contact *known = veil__contact_find(c, view->digest);
    size_t at;
    int rel = veil__contact_relation(known, view, h, len, &at);
    if (rel != VEIL_CONTACT_NEW && rel != VEIL_CONTACT_EXTENDS)
        return;
    bool pinned = known != NULL && known->pinned;
    if (veil__contact_put(c, view, h, len, false) < 0) {
        veil_log(VEIL_LOG_WARN, "contacts", "%s: a later rollback of its history cannot be "
                 "detected", veil_last_error());
        return;
    }
    if (veil__contact_store(veil_entity_vault(e), view->info.identifier, h, len, pinned) < 0)
        veil_log(VEIL_LOG_WARN, "contacts", "%s: known to the node, not stored with entity "
                 "'%s': %s", view->info.identifier, veil__entity_name(e), veil_last_error());
    if (veil__contacts_state_save(c, veil_entity_vault(e), view, h, len, pinned) < 0)
        veil_log(VEIL_LOG_WARN, "contacts", "%s", veil_last_error());
}

/* ---- the public API --------------------------------------------------- */

size_t veil_contacts_count(const veil_contacts *c)
{
    return c != NULL ? c->count : 0;
}

static int find_id(const veil_contacts *c, const char *identifier, const char *fn,
                   const veil_contact **out)
{
    uint8_t digest[32];
    if (c == NULL || identifier == NULL)
        return veil_error_set(VEIL_EINVAL, "%s: %s is NULL", fn,
                              c == NULL ? "contacts" : "identifier");
    int rc = veil_identifier_parse(identifier, digest);
    if (rc < 0)
        return veil_error_wrap(rc, "%s", fn);
    if ((*out = veil__contact_find(c, digest)) == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no contact %s", identifier);
    return 0;
}

static void info_of(const veil_contact *ct, veil_contact_info *out)
{
    out->history = ct->info;
    out->pinned = ct->pinned;
}

int veil_contacts_get(const veil_contacts *c, const char *identifier, veil_contact_info *out)
{
    const veil_contact *ct;
    int rc = find_id(c, identifier, "veil_contacts_get", &ct);
    if (rc == 0 && out != NULL)
        info_of(ct, out);
    return rc;
}

int veil_contacts_history(const veil_contacts *c, const char *identifier, uint8_t *out,
                          size_t cap, size_t *len)
{
    const veil_contact *ct;
    if (len == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_contacts_history: len is NULL");
    int rc = find_id(c, identifier, "veil_contacts_history", &ct);
    if (rc < 0)
        return rc;
    *len = ct->len;
    if (out == NULL)
        return 0;
    if (cap < ct->len)
        return veil_error_set(VEIL_ELIMIT, "veil_contacts_history: %s's history is %zu bytes, "
                              "the buffer holds %zu", identifier, ct->len, cap);
    memcpy(out, ct->history, ct->len);
    return 0;
}

int veil_contacts_list(const veil_contacts *c, veil_contact_fn fn, void *arg)
{
    if (c == NULL || fn == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_contacts_list: %s is NULL",
                              c == NULL ? "contacts" : "fn");
    for (size_t i = 0; i < c->count; i++) {
        veil_contact_info info;
        info_of(c->by_digest[i], &info);
        int rc = fn(arg, &info);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int veil_contacts_pin(veil_contacts *c, veil_vault *v, const uint8_t *history, size_t len,
                      veil_contact_info *out)
{
    static const char fn[] = "veil_contacts_pin";
    if (c == NULL || v == NULL || (history == NULL && len > 0))
        return veil_error_set(VEIL_EINVAL, "%s: %s is NULL", fn,
                              c == NULL ? "contacts" : v == NULL ? "vault" : "history");
    veil_history_view view;
    int rc = veil__history_verify_view(v, history, len, &view);
    if (rc < 0)
        return veil_error_wrap(rc, "%s", fn);
    const veil_contact *known = veil__contact_find(c, view.digest);
    size_t at = 0;
    int rel = veil__contact_relation(known, &view, history, len, &at);
    if (rel == VEIL_CONTACT_FORK)
        return veil_error_set(VEIL_EREVOKED, "%s: %s: the history (%zu events) forks from the "
                              "%zu events this node knows at event %zu; forget the contact "
                              "first to pin it", fn, view.info.identifier, view.info.events,
                              known->info.events, at);
    if (rel == VEIL_CONTACT_NEW && c->count >= c->set.contacts_max)
        return veil_error_set(VEIL_ELIMIT, "%s: the table is full (contacts_max = %zu)", fn,
                              c->set.contacts_max);
    if (rel == VEIL_CONTACT_SAME || rel == VEIL_CONTACT_OLDER) {
        /* The known history is the longer one: it stays, now pinned. */
        veil_history_view kv = view;
        kv.events_offset = known->events_offset;
        rc = veil__contact_store_all(c, known->info.identifier, known->history, known->len,
                                     true);
        if (rc == 0)
            rc = veil__contacts_state_save(c, v, &kv, known->history, known->len, true);
        if (rc == 0)
            veil__contact_find(c, view.digest)->pinned = true;
    } else if ((rc = veil__contact_store_all(c, view.info.identifier, history, len, true)) == 0 &&
               (rc = veil__contacts_state_save(c, v, &view, history, len, true)) == 0) {
        rc = veil__contact_put(c, &view, history, len, true);
    }
    if (rc < 0)
        return veil_error_wrap(rc, "%s: %s not pinned", fn, view.info.identifier);
    if (out != NULL)
        info_of(veil__contact_find(c, view.digest), out);
    return 0;
}

int veil_contacts_forget(veil_contacts *c, const char *identifier)
{
    static const char fn[] = "veil_contacts_forget";
    const veil_contact *ct;
    int rc = find_id(c, identifier, fn, &ct);
    if (rc < 0)
        return rc;
    if ((rc = veil__contact_store_all(c, ct->info.identifier, NULL, 0, false)) < 0 ||
        (rc = veil__contacts_state_forget(c, ct->info.identifier)) < 0)
        return veil_error_wrap(rc, "%s: %s not forgotten", fn, identifier);
    bool found;
    size_t i = index_of(c, ct->digest, &found);
    contact_free(c->by_digest[i]);
    memmove(&c->by_digest[i], &c->by_digest[i + 1], (c->count - i - 1) * sizeof *c->by_digest);
    c->count--;
    return 0;
}
