/* Contacts: verified peer change histories, by identifier.
 *
 * An open-addressing table keyed by the identifier's digest (SHA-256 of the
 * root key: already uniformly distributed, so its first bytes are the hash).
 * A history is accepted only after full verification; a known contact is
 * replaced only by a history that extends it (the known events are a
 * byte-identical prefix of the new ones).  Presenting exactly the bytes
 * already stored costs one SHA-256 and no signature check, which makes the
 * table a verification cache for channel set-up.  Not thread-safe. */
#include <veil/codec.h>
#include <veil/entity.h>
#include <veil/error.h>

#include <stdlib.h>
#include <string.h>

#include "identity_internal.h"

typedef struct contact {
    uint8_t digest[32];
    veil_history_info info;
    uint8_t *history;
    size_t len;
    size_t events_offset;
} contact;

struct veil_contacts {
    contact **slots;
    size_t cap;      /* power of two */
    size_t count;
};

int veil_contacts_new(veil_contacts **out)
{
    if (out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_contacts_new: out is NULL");
    veil_contacts *c = calloc(1, sizeof *c);
    if (c != NULL)
        c->slots = calloc(16, sizeof *c->slots);
    if (c == NULL || c->slots == NULL) {
        free(c);
        return veil_error_set(VEIL_ENOMEM, "contacts: out of memory");
    }
    c->cap = 16;
    *out = c;
    return 0;
}

void veil_contacts_free(veil_contacts *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->cap; i++) {
        if (c->slots[i] != NULL) {
            free(c->slots[i]->history);
            free(c->slots[i]);
        }
    }
    free(c->slots);
    free(c);
}

static size_t slot_of(const veil_contacts *c, const uint8_t digest[32])
{
    uint64_t h;
    memcpy(&h, digest, sizeof h);
    size_t i = (size_t)h & (c->cap - 1);
    while (c->slots[i] != NULL && memcmp(c->slots[i]->digest, digest, 32) != 0)
        i = (i + 1) & (c->cap - 1);
    return i;
}

static int grow(veil_contacts *c)
{
    size_t old_cap = c->cap;
    contact **old = c->slots;
    contact **n = calloc(old_cap * 2, sizeof *n);
    if (n == NULL)
        return veil_error_set(VEIL_ENOMEM, "contacts: out of memory growing to %zu", old_cap * 2);
    c->slots = n;
    c->cap = old_cap * 2;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i] != NULL)
            c->slots[slot_of(c, old[i]->digest)] = old[i];
    free(old);
    return 0;
}

/* The root key's digest read straight from the bytes, without verifying
 * anything (for the cache lookup only).  -1 when the bytes do not even
 * reach the root key; the full verification then reports why. */
static int peek_digest(veil_vault *v, const uint8_t *h, size_t len, uint8_t digest[32])
{
    size_t pos = 1;
    uint64_t count;
    if (len < 1 || veil_varint_decode(h, len, &pos, &count) < 0)
        return -1;
    pos += 1 + 1 + 32 + 1; /* kind, seq 0, prev, key_type */
    if (len < pos || len - pos < 32)
        return -1;
    veil_iovec iov = { h + pos, 32 };
    return veil_vault_hash(v, VEIL_HASH_SHA256, &iov, 1, digest) < 0 ? -1 : 0;
}

/* Whether the new history keeps every known event unchanged. */
static int check_extends(const contact *old, const uint8_t *h, size_t len,
                         const veil_history_view *view)
{
    size_t old_events = old->len - old->events_offset;
    if (view->info.events < old->info.events)
        return veil_error_set(VEIL_ESTATE, "contact %s: the history has %zu events but %zu "
                              "are known (an older history is refused)",
                              old->info.identifier, view->info.events, old->info.events);
    if (len - view->events_offset < old_events ||
        memcmp(h + view->events_offset, old->history + old->events_offset, old_events) != 0)
        return veil_error_set(VEIL_ESTATE, "contact %s: the history diverges from the known "
                              "one within its first %zu events (refused)",
                              old->info.identifier, old->info.events);
    return 0;
}

static int store(veil_contacts *c, size_t slot, const uint8_t *h, size_t len,
                 const veil_history_view *view)
{
    contact *ct = c->slots[slot];
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        return veil_error_set(VEIL_ENOMEM, "contacts: out of memory");
    memcpy(copy, h, len);
    if (ct == NULL) {
        ct = calloc(1, sizeof *ct);
        if (ct == NULL) {
            free(copy);
            return veil_error_set(VEIL_ENOMEM, "contacts: out of memory");
        }
        c->slots[slot] = ct;
        c->count++;
    }
    free(ct->history);
    memcpy(ct->digest, view->digest, 32);
    ct->info = view->info;
    ct->history = copy;
    ct->len = len;
    ct->events_offset = view->events_offset;
    return 0;
}

int veil_contacts_update(veil_contacts *c, veil_vault *v, const uint8_t *history, size_t len,
                         veil_history_info *out)
{
    if (c == NULL || v == NULL || (history == NULL && len > 0))
        return veil_error_set(VEIL_EINVAL, "veil_contacts_update: %s is NULL",
                              c == NULL ? "contacts" : v == NULL ? "vault" : "history");
    uint8_t digest[32];
    if (peek_digest(v, history, len, digest) == 0) {
        const contact *known = c->slots[slot_of(c, digest)];
        if (known != NULL && known->len == len && memcmp(known->history, history, len) == 0) {
            if (out != NULL)
                *out = known->info;
            return 0;
        }
    }
    veil_history_view view;
    int rc = veil__history_verify_view(v, history, len, &view);
    if (rc < 0)
        return rc;
    if ((c->count + 1) * 2 > c->cap && (rc = grow(c)) < 0)
        return rc;
    size_t slot = slot_of(c, view.digest);
    if (c->slots[slot] != NULL && (rc = check_extends(c->slots[slot], history, len, &view)) < 0)
        return rc;
    if ((rc = store(c, slot, history, len, &view)) < 0)
        return rc;
    if (out != NULL)
        *out = view.info;
    return 0;
}

int veil_contacts_get(const veil_contacts *c, const char *identifier, veil_history_info *out)
{
    uint8_t digest[32];
    if (c == NULL || identifier == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_contacts_get: %s is NULL",
                              c == NULL ? "contacts" : "identifier");
    int rc = veil_identifier_parse(identifier, digest);
    if (rc < 0)
        return rc;
    const contact *ct = c->slots[slot_of(c, digest)];
    if (ct == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no contact %s", identifier);
    if (out != NULL)
        *out = ct->info;
    return 0;
}

int veil__trust_info_from_contact(veil_contacts *c, veil_vault *v, const uint8_t *history,
                                  size_t len, const char *local_identifier,
                                  const veil_route *route, veil_history_info *hi,
                                  veil_trust_info *info)
{
    int rc = veil_contacts_update(c, v, history, len, hi);
    if (rc < 0)
        return rc;
    memset(info, 0, sizeof *info);
    info->size = sizeof *info;
    info->peer_identifier = hi->identifier;
    info->peer_history = history;
    info->peer_history_len = len;
    info->peer_public_key = hi->current_key;
    info->peer_public_key_len = VEIL_ED25519_PUBLIC_BYTES;
    info->local_identifier = local_identifier;
    info->route = route;
    return 0;
}
